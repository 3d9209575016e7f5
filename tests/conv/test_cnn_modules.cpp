// Convolutional layers and networks: config round trips, buffers, train/eval modes, shapes,
// and a residual block through the gradient checker.
#include <gtest/gtest.h>

#include "backprop/autograd/gradcheck.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"
#include "../test_util.hpp"

namespace {

using bp::Rng;
using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::testing::random_tensor;
namespace nn = bp::nn;

// Rebuilding a module from its config gives the same config, the same parameter and buffer
// names and shapes; with the weights copied over, the same outputs.
void expect_round_trip(nn::Module& m, const Tensor& x) {
  Rng rng(99);
  auto copy = nn::module_from_config(m.config(), rng);
  EXPECT_EQ(copy->config(), m.config());
  EXPECT_EQ(copy->parameter_names(), m.parameter_names());
  EXPECT_EQ(copy->buffer_names(), m.buffer_names());
  auto pa = m.parameters(), pb = copy->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].shape(), pb[i].shape());
    pb[i].value().copy_from(pa[i].value());
  }
  auto ba = m.buffers(), bb = copy->buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (size_t i = 0; i < ba.size(); ++i) bb[i]->copy_from(*ba[i]);
  m.set_training(false);
  copy->set_training(false);
  bp::autograd::NoGradGuard ng;
  EXPECT_EQ(m.forward(Var(x)).value().to_vector(), copy->forward(Var(x)).value().to_vector());
  m.set_training(true);
}

TEST(ConvModules, ConfigRoundTrip) {
  Rng rng(1);
  Tensor img = random_tensor({2, 4, 9, 9}, 1);
  nn::Conv2d conv(4, 6, {.kernel = 3, .stride = 2, .padding = 1, .dilation = 1, .groups = 2, .bias = true}, rng);
  expect_round_trip(conv, img);
  nn::Conv2d fused(4, 5, {.kernel = 3, .padding = 1, .act = nn::Act::ReLU}, rng);
  expect_round_trip(fused, img);
  nn::MaxPool2d mp(3, 2, 1);
  expect_round_trip(mp, img);
  nn::AvgPool2d ap(2);
  expect_round_trip(ap, img);
  nn::GlobalAvgPool2d gap;
  expect_round_trip(gap, img);
  nn::Dropout drop(0.3f, 7);
  expect_round_trip(drop, img);
  nn::BatchNorm bn(4);
  bn.running_mean.fill(0.5f);
  expect_round_trip(bn, img);
  nn::BatchNorm bn1(9, 1, 0.2f, 1e-3f, false);
  expect_round_trip(bn1, random_tensor({3, 9}, 2));
  nn::RandomShiftFlip aug(3, false, 11);
  expect_round_trip(aug, img);
  nn::Reshape rs({4, 81});
  expect_round_trip(rs, img);
  auto block = nn::make_basic_block(4, 8, 2, rng);
  expect_round_trip(*block, img);
  auto lenet = nn::make_lenet5({.input = {784}});
  expect_round_trip(*lenet, random_tensor({2, 784}, 3));
  auto res = nn::make_resnet({.input = {1, 28, 28}, .stem = 8, .stages = {8, 16}, .global_pool = true, .dropout = 0.1f});
  expect_round_trip(*res, random_tensor({2, 1, 28, 28}, 4));
  res = nn::make_resnet({.input = {1, 20, 20}, .stem = 4, .stages = {4, 6, 8}});  // flatten head: 8 × 3 × 3
  expect_round_trip(*res, random_tensor({2, 1, 20, 20}, 4));
}

TEST(ConvModules, BatchNormBuffersAndModes) {
  nn::BatchNorm bn(3);
  EXPECT_EQ(bn.buffer_names(), (std::vector<std::string>{"running_mean", "running_var"}));
  ASSERT_EQ(bn.buffers().size(), 2u);
  EXPECT_EQ(bn.buffers()[0], &bn.running_mean);
  Tensor x = random_tensor({4, 3, 2, 2}, 5, 1.f, 3.f);
  bn.forward(Var(x));  // training: running stats move towards the batch's
  EXPECT_GT(bn.running_mean[0], 0.05f);
  const auto rm = bn.running_mean.to_vector();
  bn.set_training(false);
  bn.forward(Var(x));  // eval: they stay
  EXPECT_EQ(bn.running_mean.to_vector(), rm);
  EXPECT_THROW(bn.forward(Var(Tensor({4, 3}))), bp::ShapeError);
  EXPECT_THROW(bn.forward(Var(Tensor({4, 2, 2, 2}))), bp::ShapeError);
}

TEST(ConvModules, ResidualBlockGradcheckAndShortcut) {
  Rng rng(3);
  // Identity shortcut: y = relu(block(x) + x).
  auto same = nn::make_basic_block(2, 2, 1, rng);
  EXPECT_EQ(same->projection(), nullptr);
  // Projection shortcut: 1×1 conv with stride 2.
  auto proj = nn::make_basic_block(2, 3, 2, rng);
  ASSERT_NE(proj->projection(), nullptr);
  EXPECT_EQ(proj->forward(Var(random_tensor({2, 2, 6, 6}, 1))).shape(), (Shape{2, 3, 3, 3}));
  // The whole unit (convs, batch norms, ReLUs, projection, addition) through the checker, for
  // the input's gradient, in training mode (batch statistics) and in eval mode. The blocks'
  // parameter gradients are checked one op at a time in test_conv_ops.cpp.
  nn::Residual& r = *proj;
  // Eval mode uses the running statistics gathered by the training-mode check. A ReLU input
  // within h of its kink fools the central difference (it averages the two slopes), so the
  // input is drawn until both ReLUs' inputs are all at least 0.02 from 0.
  for (bool training : {true, false}) {
    r.set_training(training);
    Tensor x;
    for (uint64_t seed = 2;; ++seed) {
      x = random_tensor({2, 2, 6, 6}, seed);
      bp::autograd::NoGradGuard ng;
      auto& block = static_cast<nn::Sequential&>(r.block());  // conv, BN with its ReLU, conv, BN
      auto& bn = static_cast<nn::BatchNorm&>(block[1]);
      Tensor rm = bn.running_mean.clone(), rv = bn.running_var.clone();  // the inner ReLU's input
      Tensor inner = bp::ops::batch_norm(block[0].forward(Var(x)), bn.weight, bn.bias, &rm, &rv, training).value();
      Tensor pre = bp::ops::add(block.forward(Var(x)), r.projection()->forward(Var(x))).value();
      float closest = 1e9f;
      for (const Tensor* t : {&inner, &pre})
        for (int64_t i = 0; i < t->numel(); ++i) closest = std::min(closest, std::fabs((*t)[i]));
      if (closest > 0.02f) break;
    }
    auto res = bp::autograd::gradcheck([&](const std::vector<Var>& v) { return r.forward(v[0]); }, {x});
    EXPECT_TRUE(res.ok) << (training ? "training: " : "eval: ") << res.report;
  }
}

TEST(ConvModules, ResidualRequiresMatchingShapes) {
  Rng rng(4);
  auto block = std::make_unique<nn::Sequential>();
  block->emplace<nn::Conv2d>(2, 3, nn::Conv2dOptions{.kernel = 1}, rng);
  nn::Residual r(std::move(block));
  EXPECT_THROW(r.forward(Var(Tensor({1, 2, 4, 4}))), bp::ShapeError);
}

TEST(CnnModels, ShapesFromZooAndCpp) {
  for (const Shape& in : {Shape{784}, Shape{1, 28, 28}}) {
    for (const char* name : {"lenet5", "resnet"}) {
      nn::ModelSpec spec;
      spec.name = name;
      spec.input_shape = in;
      spec.outputs = 10;
      auto m = nn::make_model(spec);
      Shape xs{3};
      xs.insert(xs.end(), in.begin(), in.end());
      EXPECT_EQ(m->forward(Var(Tensor(xs))).shape(), (Shape{3, 10})) << name << " " << bp::shape_str(in);
    }
  }
  auto lenet = nn::make_lenet5();
  // 6·(25+1) + 16·(150+1) + 400·120+120 + 120·84+84 + 84·10+10
  EXPECT_EQ(nn::parameter_count(*lenet), 156 + 2416 + 48120 + 10164 + 850);
  EXPECT_THROW(nn::make_lenet5({.input = {783}}), std::invalid_argument);
  nn::ModelSpec bad;
  bad.name = "lenet5";
  bad.input_shape = {784};
  bad.outputs = 1;
  bad.task = bp::Task::Binary;
  EXPECT_THROW(nn::make_model(bad), std::invalid_argument);
}

TEST(CnnModels, LeNetLearnsASmallProblem) {
  // Two classes of 12×12 images: a bright vertical bar vs a bright horizontal bar, with noise.
  const int64_t n = 64;
  Tensor x({n, 144});
  bp::train::Targets y;
  Rng rng(5);
  for (int64_t i = 0; i < n; ++i) {
    const int cls = static_cast<int>(i % 2);
    const int64_t pos = 3 + static_cast<int64_t>(rng.below(6));
    for (int64_t r = 0; r < 12; ++r)
      for (int64_t c = 0; c < 12; ++c)
        x[i * 144 + r * 12 + c] = static_cast<float>(0.2 * rng.uniform()) + ((cls ? r : c) == pos ? 1.f : 0.f);
    y.classes.push_back(cls);
  }
  auto net = nn::make_lenet5({.input = {144}, .classes = 2, .seed = 1});
  bp::optim::Adam opt(net->parameters(), {.lr = 3e-3f});
  bp::train::FitOptions o;
  o.epochs = 15;
  o.batch_size = 16;
  bp::train::fit(*net, bp::Task::Multiclass, x, y, opt, o);
  auto s = bp::train::score(*net, bp::Task::Multiclass, bp::train::Loss::Auto, x, y);
  EXPECT_GE(s.accuracy, 0.95);
}

}  // namespace
