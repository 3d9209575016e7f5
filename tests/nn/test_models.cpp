// The lecture's models learn what they should, and fail where they must.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/nn/models.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/train/neuron.hpp"
#include "backprop/util/rng.hpp"

namespace {

using bp::Rng;
using bp::Task;
using bp::Tensor;
using bp::Var;
namespace nn = bp::nn;
namespace train = bp::train;

const Tensor kXorX({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
const std::vector<int> kXorY{0, 1, 1, 0};

TEST(MLP, LearnsXor) {
  auto net = nn::make_mlp({.inputs = 2, .hidden = {4}, .activations = {nn::Act::Tanh}, .outputs = 1,
                           .task = Task::Binary, .seed = 3});
  bp::optim::Adam opt(net->parameters(), {.lr = 0.05f});
  train::Targets y{{0, 1, 1, 0}, {}};
  train::FitOptions o;
  o.epochs = 500;
  o.batch_size = 0;  // full batch
  auto r = train::fit(*net, Task::Binary, kXorX, y, opt, o);
  EXPECT_LT(r.history.back().train.loss, 0.05);
  Tensor p = train::predict(*net, Task::Binary, kXorX);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p[i] >= 0.5f, kXorY[i] == 1) << "row " << i << " p=" << p[i];
}

TEST(MLP, ShapesAndValidation) {
  auto net = nn::make_mlp({.inputs = 5, .hidden = {7, 3}, .activations = {nn::Act::ReLU, nn::Act::Sigmoid},
                           .outputs = 4, .task = Task::Multiclass});
  EXPECT_EQ(nn::parameter_count(*net), 5 * 7 + 7 + 7 * 3 + 3 + 3 * 4 + 4);
  Var out = net->forward(Var(Tensor({2, 5})));
  EXPECT_EQ(out.shape(), (bp::Shape{2, 4}));
  EXPECT_THROW(net->forward(Var(Tensor({2, 6}))), bp::ShapeError);
  EXPECT_THROW(nn::make_mlp({.inputs = 2, .hidden = {3}, .outputs = 2, .task = Task::Binary}), std::invalid_argument);
  EXPECT_THROW(nn::make_mlp({.inputs = 2, .hidden = {0}, .outputs = 2}), std::invalid_argument);
}

TEST(MLP, SameSeedSameNetwork) {
  auto a = nn::make_mlp({.inputs = 3, .hidden = {5}, .outputs = 2, .seed = 9});
  auto b = nn::make_mlp({.inputs = 3, .hidden = {5}, .outputs = 2, .seed = 9});
  auto c = nn::make_mlp({.inputs = 3, .hidden = {5}, .outputs = 2, .seed = 10});
  EXPECT_EQ(a->parameters()[0].value().to_vector(), b->parameters()[0].value().to_vector());
  EXPECT_NE(a->parameters()[0].value().to_vector(), c->parameters()[0].value().to_vector());
}

TEST(MLP, InitialisationCanBeChosen) {
  // 784 -> 256 tanh: by default Glorot (variance 2/(784+256)); with He, 2/784: 1.33x larger.
  auto var0 = [](nn::Sequential& net) {
    const Tensor& w = net.parameters()[0].value();
    double s2 = 0;
    for (int64_t i = 0; i < w.numel(); ++i) s2 += w[i] * w[i];
    return s2 / w.numel();
  };
  auto glorot = nn::make_mlp({.inputs = 784, .hidden = {256}, .activations = {nn::Act::Tanh}, .outputs = 10});
  auto he = nn::make_mlp({.inputs = 784, .hidden = {256}, .activations = {nn::Act::Tanh}, .outputs = 10, .init = nn::Init::He});
  EXPECT_NEAR(var0(*glorot), 2.0 / (784 + 256), 0.05 * 2.0 / (784 + 256));
  EXPECT_NEAR(var0(*he), 2.0 / 784, 0.05 * 2.0 / 784);
  EXPECT_THROW(nn::make_model({.name = "lenet5", .input_shape = {784}, .outputs = 10, .init = nn::Init::He}),
               std::invalid_argument);
}

TEST(Init, GlorotAndHeHaveTheirVariance) {
  Rng rng(5);
  Tensor w({400, 600});
  nn::init_weight(w, 600, 400, nn::Init::Glorot, rng);
  double s2 = 0;
  for (int64_t i = 0; i < w.numel(); ++i) s2 += w[i] * w[i];
  EXPECT_NEAR(s2 / w.numel(), 2.0 / (600 + 400), 0.02 * 2.0 / 1000);  // Var U(±a) = a²/3 = 2/(in+out)
  nn::init_weight(w, 600, 400, nn::Init::He, rng);
  s2 = 0;
  for (int64_t i = 0; i < w.numel(); ++i) s2 += w[i] * w[i];
  EXPECT_NEAR(s2 / w.numel(), 2.0 / 600, 0.02 * 2.0 / 600);
}

// Two Gaussian blobs around (2, 2) and (−2, −2): separable with a wide margin.
void blobs(Tensor& x, std::vector<int>& y, int n, uint64_t seed) {
  Rng rng(seed);
  x = Tensor({n, 2});
  y.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const int c = i % 2;
    const double mu = c ? 2.0 : -2.0;
    x[2 * i] = static_cast<float>(rng.normal(mu, 0.5));
    x[2 * i + 1] = static_cast<float>(rng.normal(mu, 0.5));
    y[i] = c ? 1 : -1;
  }
}

TEST(Perceptron, SeparatesLinearlySeparableData) {
  Tensor x;
  std::vector<int> y;
  blobs(x, y, 200, 1);
  nn::Perceptron p(2);
  auto r = train::fit_perceptron(p, x, y, {.max_epochs = 100});
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.mistakes_last_epoch, 0);
  EXPECT_EQ(p.predict(x), y);
}

TEST(Perceptron, ReportsFailureOnXor) {
  nn::Perceptron p(2);
  std::vector<int> y{-1, 1, 1, -1};
  auto r = train::fit_perceptron(p, kXorX, y, {.max_epochs = 50});
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.epochs, 50);
  EXPECT_GT(r.mistakes_last_epoch, 0);
  EXPECT_NE(p.predict(kXorX), y);
}

TEST(Perceptron, ShuffledOrderIsSeededAndStillConverges) {
  Tensor x;
  std::vector<int> y;
  blobs(x, y, 200, 1);
  auto run = [&](uint64_t seed) {
    nn::Perceptron p(2);
    auto r = train::fit_perceptron(p, x, y, {.max_epochs = 100, .shuffle_seed = seed});
    EXPECT_TRUE(r.converged) << "seed " << seed;
    EXPECT_EQ(p.predict(x), y) << "seed " << seed;
    std::vector<float> w = p.weights;
    w.push_back(p.bias);
    return w;
  };
  nn::Perceptron in_order(2);
  train::fit_perceptron(in_order, x, y);
  std::vector<float> w_in_order = in_order.weights;
  w_in_order.push_back(in_order.bias);
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), w_in_order);  // the mistakes, hence the updates, come in another order
  EXPECT_NE(run(7), run(8));
}

// y ~ Bernoulli(σ(1.5·x1 − 2·x2 + 0.5)), x ~ N(0, 1): with 20000 draws the MLE is within
// a few hundredths of the truth (its standard error is ≈ 0.03 here).
void logistic_data(Tensor& x, std::vector<int>& y) {
  const int n = 20000;
  Rng rng(11);
  x = Tensor({n, 2});
  y.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal();
    x[2 * i] = static_cast<float>(a);
    x[2 * i + 1] = static_cast<float>(b);
    const double p = 1.0 / (1.0 + std::exp(-(1.5 * a - 2.0 * b + 0.5)));
    y[i] = rng.uniform() < p ? 1 : 0;
  }
}

TEST(LogisticRegression, RecoversTheWeightsOfAKnownLogisticModel) {
  Tensor x;
  std::vector<int> y;
  logistic_data(x, y);
  const int n = 20000;
  nn::LogisticRegression lr(2);
  train::fit_logistic(lr, x, y, {.epochs = 300, .lr = 1.0f});
  const Tensor& w = lr.layer().weight.value();
  EXPECT_NEAR(w[0], 1.5, 0.1);
  EXPECT_NEAR(w[1], -2.0, 0.1);
  EXPECT_NEAR(lr.layer().bias.value()[0], 0.5, 0.1);
  auto p = lr.predict_proba(x);
  EXPECT_EQ(p.size(), static_cast<size_t>(n));
}

TEST(LogisticRegression, MiniBatchesReachTheSameModel) {
  // Mini-batch SGD (batch 500, 20 epochs of 40 shuffled steps) through train::fit: with
  // batches this large its wandering around the MLE stays inside the same tolerance.
  Tensor x;
  std::vector<int> y;
  logistic_data(x, y);
  nn::LogisticRegression lr(2);
  auto r = train::fit_logistic(lr, x, y, {.epochs = 20, .lr = 0.5f, .batch_size = 500, .seed = 3});
  ASSERT_EQ(r.history.size(), 20u);
  EXPECT_LT(r.history.back().train.loss, r.history.front().train.loss);
  const Tensor& w = lr.layer().weight.value();
  EXPECT_NEAR(w[0], 1.5, 0.1);
  EXPECT_NEAR(w[1], -2.0, 0.1);
  EXPECT_NEAR(lr.layer().bias.value()[0], 0.5, 0.1);
  EXPECT_THROW(train::fit_logistic(lr, Tensor({3, 3}), {0, 1, 0}), bp::ShapeError);
  EXPECT_THROW(train::fit_logistic(lr, Tensor({3, 2}), {0, 1}), bp::ShapeError);
}

TEST(Fit, EarlyStoppingRestoresTheBestEpoch) {
  // A tiny noisy regression with a big network overfits: validation loss must turn up.
  Rng rng(2);
  const int n = 40;
  Tensor x({n, 1}), t({n, 1}), vx({n, 1}), vt({n, 1});
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(rng.uniform(-1, 1));
    t[i] = x[i] + static_cast<float>(rng.normal(0, 0.5));
    vx[i] = static_cast<float>(rng.uniform(-1, 1));
    vt[i] = vx[i] + static_cast<float>(rng.normal(0, 0.5));
  }
  auto net = nn::make_mlp({.inputs = 1, .hidden = {64, 64}, .outputs = 1, .task = Task::Regression});
  bp::optim::Adam opt(net->parameters(), {.lr = 0.01f});
  train::FitOptions o;
  o.epochs = 400;
  o.batch_size = 8;
  o.patience = 10;
  train::Targets y{{}, t}, vy{{}, vt};
  auto r = train::fit(*net, Task::Regression, x, y, opt, o, &vx, &vy);
  ASSERT_TRUE(r.stopped_early);
  EXPECT_EQ(static_cast<int>(r.history.size()), r.best_epoch + o.patience);
  // The weights kept are the best epoch's: scoring again reproduces its validation loss.
  auto sc = train::score(*net, Task::Regression, train::Loss::Auto, vx, vy);
  EXPECT_NEAR(sc.loss, r.history[r.best_epoch - 1].validation.loss, 1e-6);
}

TEST(Fit, DivergenceIsReportedNotHidden) {
  auto net = nn::make_mlp({.inputs = 1, .hidden = {8}, .outputs = 1, .task = Task::Regression});
  bp::optim::SGD opt(net->parameters(), {.lr = 1e6f});
  Tensor x({4, 1}, {1, 2, 3, 4});
  train::Targets y{{}, Tensor({4, 1}, {1, 2, 3, 4})};
  train::FitOptions o;
  o.epochs = 50;
  o.batch_size = 0;
  EXPECT_THROW(train::fit(*net, Task::Regression, x, y, opt, o), train::DivergenceError);
}

TEST(Fit, SameSeedSameResult) {
  auto run = [] {
    auto net = nn::make_mlp({.inputs = 2, .hidden = {6}, .outputs = 1, .task = Task::Binary, .seed = 4});
    bp::optim::SGD opt(net->parameters(), {.lr = 0.5f, .momentum = 0.9f});
    train::FitOptions o;
    o.epochs = 20;
    o.batch_size = 1;  // stochastic: one example at a time
    train::fit(*net, Task::Binary, kXorX, train::Targets{{0, 1, 1, 0}, {}}, opt, o);
    return net->parameters()[0].value().to_vector();
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
