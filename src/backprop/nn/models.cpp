#include "backprop/nn/models.hpp"

#include <stdexcept>

#include "backprop/ops/ops.hpp"

namespace bp {

namespace nn {

// ---- Perceptron
Perceptron::Perceptron(int64_t features) : weights(static_cast<size_t>(features), 0.f) {}

std::vector<float> Perceptron::margin(const Tensor& x) const {
  const int64_t d = static_cast<int64_t>(weights.size());
  if (x.ndim() != 2 || x.dim(1) != d)
    throw ShapeError("perceptron: expected inputs (n, " + std::to_string(d) + "), got " + shape_str(x.shape()));
  std::vector<float> m(static_cast<size_t>(x.dim(0)));
  for (int64_t i = 0; i < x.dim(0); ++i) {
    float z = bias;
    for (int64_t j = 0; j < d; ++j) z += weights[j] * x[i * d + j];
    m[i] = z;
  }
  return m;
}

std::vector<int> Perceptron::predict(const Tensor& x) const {
  std::vector<int> out;
  for (float z : margin(x)) out.push_back(z >= 0.f ? 1 : -1);
  return out;
}

// ---- Logistic regression
LogisticRegression::LogisticRegression(int64_t features) : rng_(1), linear_(features, 1, true, Init::Glorot, rng_) {
  linear_.weight.value().zero();  // the convex problem needs no symmetry breaking
}

std::vector<float> LogisticRegression::predict_proba(const Tensor& x) const {
  autograd::NoGradGuard ng;
  auto& self = const_cast<Linear&>(linear_);
  Tensor p = ops::sigmoid(self.forward(Var(x))).value();
  return p.to_vector();
}

// ---- MLP
std::unique_ptr<Sequential> make_mlp(const MLPConfig& c) {
  if (c.inputs <= 0) throw std::invalid_argument("MLP needs at least one input feature");
  if (c.outputs <= 0) throw std::invalid_argument("MLP needs at least one output");
  if (!c.activations.empty() && c.activations.size() != 1 && c.activations.size() != c.hidden.size())
    throw std::invalid_argument("MLP: give one activation, or one per hidden layer (" + std::to_string(c.hidden.size()) + ")");
  if (c.task == Task::Binary && c.outputs != 1) throw std::invalid_argument("a binary MLP has exactly one output");
  Rng rng(c.seed);
  auto net = std::make_unique<Sequential>();
  int64_t prev = c.inputs;
  for (size_t i = 0; i < c.hidden.size(); ++i) {
    const Act a = c.activations.empty() ? Act::ReLU : c.activations[c.activations.size() == 1 ? 0 : i];
    net->emplace<Linear>(prev, c.hidden[i], true, c.init.value_or(default_init(a)), rng);
    net->emplace<Activation>(a);
    prev = c.hidden[i];
  }
  net->emplace<Linear>(prev, c.outputs, true, Init::Glorot, rng);
  return net;
}

}  // namespace nn
}  // namespace bp
