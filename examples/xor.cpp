// XOR, the function a single neuron cannot learn, learned by a two-layer network.
// Read this first: it uses the library the way the lecture builds it — blocks (ops) that
// record themselves on a tape, backward() through them, and an optimizer step.
#include <cstdio>

#include "backprop/nn/models.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/neuron.hpp"

int main() {
  using namespace bp;
  // Four examples, two inputs each, and their labels.
  Tensor x({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  Var target(Tensor({4, 1}, {0, 1, 1, 0}));

  // The single neuron fails: it can only draw one straight line.
  nn::Perceptron perceptron(2);
  auto r = train::fit_perceptron(perceptron, x, {-1, 1, 1, -1}, {.max_epochs = 100});
  std::printf("perceptron on XOR: %s after %d epochs\n", r.converged ? "converged" : "did not converge", r.epochs);

  // 2 inputs -> 4 tanh units -> 1 logit, trained on cross-entropy by Adam.
  auto net = nn::make_mlp({.inputs = 2, .hidden = {4}, .activations = {nn::Act::Tanh}, .outputs = 1,
                           .task = Task::Binary, .seed = 3});
  optim::Adam opt(net->parameters(), {.lr = 0.05f});
  for (int step = 0; step <= 500; ++step) {
    opt.zero_grad();
    Var loss = ops::bce_with_logits(net->forward(Var(x)), target);  // forward: records the tape
    loss.backward();                                                 // backward: gradients of every weight
    opt.step();
    if (step % 100 == 0) std::printf("step %3d  loss %.4f\n", step, loss.item());
  }
  autograd::NoGradGuard inference;  // nothing recorded from here on
  Tensor p = ops::sigmoid(net->forward(Var(x))).value();
  for (int i = 0; i < 4; ++i) std::printf("%g xor %g -> %.3f\n", x[2 * i], x[2 * i + 1], p[i]);
  return 0;
}
