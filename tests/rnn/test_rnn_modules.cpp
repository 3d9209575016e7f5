// The sequence layers (nn/rnn.hpp): stacked and bidirectional layers through the finite-difference
// checker, dropout between layers, configs and model files, gradient-norm clipping, and a small
// memory task that an LSTM must learn.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <unistd.h>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/clip.hpp"
#include "backprop/optim/optim.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::ops::Cell;
using bp::testing::expect_grad_ok;
using bp::testing::random_tensor;
namespace nn = bp::nn;
namespace ops = bp::ops;
namespace fs = std::filesystem;

// Stacked (2 layers), bidirectional, unequal lengths: the gradient with respect to the input and
// the initial states flows through both directions, the concatenation and the layer boundary.
TEST(RnnModules, StackedBidirectionalGradcheck) {
  for (Cell cell : {Cell::RNNTanh, Cell::LSTM, Cell::GRU})
    for (bool batch_first : {false, true}) {
      SCOPED_TRACE(ops::to_string(cell) + (batch_first ? " batch-first" : ""));
      bp::Rng rng(4);
      nn::Recurrent m(cell, 2, 3, {.num_layers = 2, .bidirectional = true, .batch_first = batch_first}, rng);
      const std::vector<int64_t> lengths{4, 2, 3};
      const Shape xs = batch_first ? Shape{3, 4, 2} : Shape{4, 3, 2};
      bp::autograd::GradcheckOptions o;
      if (cell != Cell::LSTM) o.check = {true, true, false};
      expect_grad_ok(
          [&](const std::vector<Var>& v) {
            nn::RecurrentState init{v[1], cell == Cell::LSTM ? v[2] : Var()};
            auto r = m.forward_seq(v[0], init, lengths);
            std::vector<Var> parts{ops::reshape(r.output, {-1}), ops::reshape(r.state.h, {-1})};
            if (r.state.c.defined()) parts.push_back(ops::reshape(r.state.c, {-1}));
            return ops::concat(parts, 0);
          },
          {random_tensor(xs, 1), random_tensor({4, 3, 3}, 2), random_tensor({4, 3, 3}, 3)}, o);
    }
}

// The parameters' gradients through the module: each weight of a 2-layer GRU checked as an input.
TEST(RnnModules, ParameterGradcheckThroughLayers) {
  bp::Rng rng(5);
  nn::GRU m(2, 3, {.num_layers = 2}, rng);
  auto params = m.parameters();
  std::vector<Tensor> in{random_tensor({3, 2, 2}, 9)};
  for (Var& p : params) in.push_back(p.value().clone());
  expect_grad_ok(
      [&](const std::vector<Var>& v) {
        // route the checker's copies of the parameters into the layer
        for (int64_t l = 0; l < 2; ++l) {
          auto& w = m.weights(l, 0);
          w.w_ih = v[1 + 4 * l], w.w_hh = v[2 + 4 * l], w.b_ih = v[3 + 4 * l], w.b_hh = v[4 + 4 * l];
        }
        return m.forward_seq(v[0], {}, {3, 2}).output;
      },
      in);
}

TEST(RnnModules, DropoutBetweenLayersInTrainingOnly) {
  bp::Rng rng(6);
  nn::LSTM m(3, 8, {.num_layers = 2, .dropout = 0.5f, .seed = 11}, rng);
  const Var x(random_tensor({5, 2, 3}, 3));
  m.set_training(false);
  const Tensor e1 = m(x).value(), e2 = m(x).value();
  EXPECT_EQ(e1.to_vector(), e2.to_vector());
  m.set_training(true);
  const Tensor t1 = m(x).value(), t2 = m(x).value();
  EXPECT_NE(t1.to_vector(), e1.to_vector());
  EXPECT_NE(t1.to_vector(), t2.to_vector());  // a new mask each call
  // One layer: nothing to drop between.
  bp::Rng rng2(6);
  nn::LSTM one(3, 8, {.dropout = 0.5f}, rng2);
  one.set_training(true);
  const Tensor a = one(x).value();
  one.set_training(false);
  EXPECT_EQ(a.to_vector(), one(x).value().to_vector());
}

TEST(RnnModules, LayerArgumentErrors) {
  bp::Rng rng(1);
  EXPECT_THROW(nn::LSTM(0, 3, {}, rng), std::invalid_argument);
  EXPECT_THROW(nn::LSTM(2, 3, {.num_layers = 0}, rng), std::invalid_argument);
  EXPECT_THROW(nn::LSTM(2, 3, {.dropout = 1.f}, rng), std::invalid_argument);
  nn::GRU g(2, 3, {.num_layers = 2}, rng);
  EXPECT_THROW(g.forward_seq(Var(Tensor({4, 2}))), bp::ShapeError);
  EXPECT_THROW(g.forward_seq(Var(Tensor({4, 1, 2})), {Var(Tensor({1, 1, 3})), Var()}), bp::ShapeError);
  EXPECT_THROW(g.forward_seq(Var(Tensor({4, 1, 2})), {Var(), Var(Tensor({2, 1, 3}))}), bp::ShapeError);
  nn::Embedding e(4, 2, rng);
  EXPECT_THROW(e(Var(Tensor({2}, std::vector<float>{1.f, 4.f}))), std::invalid_argument);
  EXPECT_THROW(e(Var(Tensor({1}, std::vector<float>{0.5f}))), std::invalid_argument);
}

TEST(RnnModules, EmbeddingLayerAndTouchedRows) {
  bp::Rng rng(2);
  nn::Embedding e(6, 3, rng);
  Var y = e(Var(Tensor({2, 2}, std::vector<float>{5, 1, 1, 3})));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(e.touched_rows(), (std::vector<int64_t>{1, 3, 5}));
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y.value()[j], e.weight.value()[15 + j]);
}

// Configs rebuild every layer; a model file round trip gives the same outputs.
TEST(RnnModules, ConfigAndModelFileRoundTrip) {
  bp::Rng rng(3);
  nn::Sequential net;
  net.emplace<nn::Embedding>(7, 4, rng);
  net.emplace<nn::LSTM>(4, 5, nn::RecurrentOptions{.num_layers = 2, .bidirectional = true, .dropout = 0.25f}, rng);
  net.emplace<nn::GRU>(10, 3, nn::RecurrentOptions{.batch_first = false, .bias = false}, rng);
  net.emplace<nn::RNN>(3, 2, nn::RecurrentOptions{}, rng);
  net.set_training(false);
  const Var idx(Tensor({3, 2}, std::vector<float>{0, 6, 2, 3, 4, 1}));
  const Tensor want = net(idx).value();
  EXPECT_EQ(want.shape(), (Shape{3, 2, 2}));

  bp::Rng other(99);
  auto rebuilt = nn::module_from_config(net.config(), other);
  EXPECT_EQ(rebuilt->config(), net.config());
  EXPECT_EQ(rebuilt->parameter_names(), net.parameter_names());

  const fs::path dir = fs::temp_directory_path() / ("bp_rnn_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "seq.safetensors";
  bp::io::ModelInfo info;
  info.task = bp::Task::Regression;
  bp::io::save_model(file, net, info);
  const auto loaded = bp::io::load_model(file);
  fs::remove_all(dir);
  EXPECT_EQ(loaded.module->config(), net.config());
  EXPECT_EQ(loaded.module->parameter_names()[0], "0.weight");
  EXPECT_EQ(loaded.module->parameter_names()[1], "1.weight_ih_l0");
  EXPECT_EQ(loaded.module->forward(idx).value().to_vector(), want.to_vector());
}

// PyTorch's definition: the 2-norm of all gradients together; scaled by max/(norm + 1e-6) when above.
TEST(RnnModules, ClipGradNorm) {
  Var a(Tensor({2}, std::vector<float>{0, 0}), true), b(Tensor({1}, std::vector<float>{0}), true);
  a.grad() = Tensor({2}, std::vector<float>{3, 4});
  b.grad() = Tensor({1}, std::vector<float>{12});
  EXPECT_FLOAT_EQ(bp::optim::clip_grad_norm({a, b}, 20.f), 13.f);  // below: untouched
  EXPECT_EQ(a.grad()[0], 3.f);
  EXPECT_FLOAT_EQ(bp::optim::clip_grad_norm({a, b}, 6.5f), 13.f);
  const float f = static_cast<float>(6.5 / (13 + 1e-6));
  EXPECT_FLOAT_EQ(a.grad()[0], 3 * f);
  EXPECT_FLOAT_EQ(a.grad()[1], 4 * f);
  EXPECT_FLOAT_EQ(b.grad()[0], 12 * f);
  EXPECT_NEAR(bp::optim::clip_grad_norm({a, b}, 100.f), 6.5, 1e-5);
  EXPECT_THROW(bp::optim::clip_grad_norm({a, b}, 0.f), std::invalid_argument);

  // Through an optimizer's flat buffer: the same norm and factor.
  Var p(Tensor({3}, std::vector<float>{1, 1, 1}), true), q(Tensor({1}, std::vector<float>{1}), true);
  bp::optim::SGD sgd({p, q}, {.lr = 1.f});
  p.grad().copy_from(Tensor({3}, std::vector<float>{2, 0, 0}));
  q.grad().copy_from(Tensor({1}, std::vector<float>{0}));
  EXPECT_FLOAT_EQ(bp::optim::clip_grad_norm(sgd, 1.f), 2.f);
  sgd.step();
  EXPECT_NEAR(p.value()[0], 1 - 2 / (2 + 1e-6), 1e-6);
  EXPECT_EQ(p.value()[1], 1.f);
}

// Learning that can fail: the class of a sequence is the sign of its FIRST input (|x| in [0.3, 1]),
// followed by seven distracting steps in [-1, 1]; only a layer that carries the first step through its state learns it.
// Trained with Adam and gradient clipping, the LSTM reaches >= 95 % on fresh sequences.
TEST(RnnModules, LstmLearnsToRememberTheFirstStep) {
  bp::Rng rng(8);
  nn::LSTM lstm(1, 8, {}, rng);
  nn::Linear head(8, 2, true, nn::Init::Glorot, rng);
  std::vector<Var> params = lstm.parameters();
  for (Var& p : head.parameters()) params.push_back(p);
  bp::optim::Adam adam(params, {.lr = 0.01f});
  const int64_t T = 8, B = 32;
  bp::Rng data(21);
  auto batch = [&](std::vector<int32_t>& labels) {
    Tensor x({T, B, 1});
    labels.assign(B, 0);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 1; t < T; ++t) x[t * B + b] = static_cast<float>(data.uniform(-1, 1));
      labels[b] = static_cast<int32_t>(data.below(2));
      x[b] = static_cast<float>((labels[b] ? 1 : -1) * data.uniform(0.3, 1));  // the step to remember
    }
    return Var(x);
  };
  std::vector<int32_t> y;
  for (int it = 0; it < 400; ++it) {
    const Var x = batch(y);
    auto r = lstm.forward_seq(x);
    Var loss = ops::softmax_cross_entropy(head(ops::reshape(r.state.h, {B, 8})), y);
    adam.zero_grad();
    loss.backward();
    bp::optim::clip_grad_norm(adam, 1.f);
    adam.step();
  }
  int correct = 0, total = 0;
  for (int k = 0; k < 8; ++k) {
    const Var x = batch(y);
    const Tensor z = head(ops::reshape(lstm.forward_seq(x).state.h, {B, 8})).value();
    for (int64_t b = 0; b < B; ++b, ++total) correct += (z[b * 2 + 1] > z[b * 2]) == (y[b] == 1);
  }
  std::printf("[ lstm memory ] %d of %d fresh sequences right\n", correct, total);
  EXPECT_GE(correct, total * 95 / 100) << correct << " of " << total;
}

}  // namespace
