// The residual net's fused blocks: batch norm with its ReLU (ops::batch_norm_relu,
// BatchNorm(act = ReLU)), the residual sum with its ReLU (ops::add_relu), the same-shape add,
// and dropout's branch-free draws. Each against the unfused ops it replaces (same values and
// gradients), through the finite-difference checker, and at 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backprop/autograd/gradcheck.hpp"
#include "backprop/backend/backend.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/ops/ops.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::testing::expect_close;
using bp::testing::expect_grad_ok;
using bp::testing::random_tensor;
namespace ops = bp::ops;
namespace nn = bp::nn;

float min_abs(const Tensor& t) {
  float m = INFINITY;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::min(m, std::fabs(t[i]));
  return m;
}

struct BnResult {
  Tensor y, dx, dg, db, rm, rv;
};

// y = [relu](batch_norm(x)) fused or as two ops, and the gradients of Σ R ⊙ y.
BnResult run_bn(const Tensor& x, const Tensor& g, const Tensor& b, bool training, bool fused, const Tensor& seed) {
  Var xv(x.clone(), true), gv(g.clone(), true), bv(b.clone(), true);
  BnResult r{.rm = Tensor({x.dim(1)}, {0.3f, -0.2f, 0.1f}), .rv = Tensor({x.dim(1)}, {0.8f, 1.7f, 1.1f})};
  Var y = fused ? ops::batch_norm_relu(xv, gv, bv, &r.rm, &r.rv, training)
                : ops::relu(ops::batch_norm(xv, gv, bv, &r.rm, &r.rv, training));
  y.backward(seed);
  r.y = y.value().clone();
  r.dx = xv.grad().clone();
  r.dg = gv.grad().clone();
  r.db = bv.grad().clone();
  return r;
}

TEST(BatchNormRelu, SameAsBatchNormThenReluAtEveryThreadCount) {
  const Tensor x = random_tensor({6, 3, 5, 7}, 11, -2.f, 2.f), g = random_tensor({3}, 12, 0.5f, 1.5f),
               b = random_tensor({3}, 13, -0.5f, 0.5f), seed = random_tensor({6, 3, 5, 7}, 14);
  for (bool training : {true, false}) {
    const BnResult ref = run_bn(x, g, b, training, false, seed);
    int zeros = 0;
    for (int64_t i = 0; i < ref.y.numel(); ++i) zeros += ref.y[i] == 0.f;
    ASSERT_GT(zeros, 20) << "the ReLU must cut somewhere for the test to mean anything";
    ASSERT_LT(zeros, ref.y.numel() - 20);
    BnResult one;
    for (int threads : {1, 2}) {
      bp::backend::ThreadCount t(threads);
      const BnResult f = run_bn(x, g, b, training, true, seed);
      const std::string what = std::string(training ? "training" : "eval") + ", threads " + std::to_string(threads);
      EXPECT_EQ(f.y.to_vector(), ref.y.to_vector()) << what;  // the forward is the same arithmetic
      expect_close(f.dx, ref.dx, 1e-6, "dx " + what);
      expect_close(f.dg, ref.dg, 1e-6, "dgamma " + what);
      expect_close(f.db, ref.db, 1e-6, "dbeta " + what);
      EXPECT_EQ(f.rm.to_vector(), ref.rm.to_vector()) << what;
      EXPECT_EQ(f.rv.to_vector(), ref.rv.to_vector()) << what;
      if (threads == 1) {
        one = f;
      } else {  // each channel's numbers do not depend on how channels are split over threads
        EXPECT_EQ(f.dx.to_vector(), one.dx.to_vector()) << what;
        EXPECT_EQ(f.dg.to_vector(), one.dg.to_vector()) << what;
        EXPECT_EQ(f.db.to_vector(), one.db.to_vector()) << what;
      }
    }
  }
}

// x's gradient added into one it already has (x used twice) rather than written fresh.
TEST(BatchNormRelu, AddsIntoAnExistingGradient) {
  const Tensor x = random_tensor({4, 3, 3, 3}, 21, -2.f, 2.f);
  Var a(x.clone(), true), b(x.clone(), true);
  ops::add(ops::batch_norm_relu(a, Var(), Var(), nullptr, nullptr, true), ops::mul_scalar(a, 2.f)).backward(
      Tensor({4, 3, 3, 3}, 1.f));
  ops::add(ops::relu(ops::batch_norm(b, Var(), Var(), nullptr, nullptr, true)), ops::mul_scalar(b, 2.f)).backward(
      Tensor({4, 3, 3, 3}, 1.f));
  expect_close(a.grad(), b.grad(), 1e-6, "dx");
}

// The finite-difference check needs the pre-activation at least h·γ·r away from 0 everywhere;
// these inputs (seeds chosen for it) keep it ≥ 0.05, which the test asserts.
TEST(BatchNormRelu, GradientsMatchFiniteDifferences) {
  const Tensor x = random_tensor({3, 2, 3, 3}, 62, -2.f, 2.f), g = random_tensor({2}, 32, 0.5f, 1.5f),
               b = random_tensor({2}, 33, -0.5f, 0.5f);
  const float margin = min_abs(ops::batch_norm(Var(x), Var(g), Var(b), nullptr, nullptr, true).value());
  ASSERT_GE(margin, 0.05f);
  expect_grad_ok([&](auto& v) { return ops::batch_norm_relu(v[0], v[1], v[2], nullptr, nullptr, true); }, {x, g, b});
  Tensor erm({2}, {0.3f, -0.2f}), erv({2}, {0.8f, 1.7f});
  ASSERT_GE(min_abs(ops::batch_norm(Var(x), Var(g), Var(b), &erm, &erv, false).value()), 0.05f);
  expect_grad_ok([&](auto& v) { return ops::batch_norm_relu(v[0], v[1], v[2], &erm, &erv, false); }, {x, g, b});
}

TEST(BatchNormModule, ActReluIsFusedAndSurvivesItsConfig) {
  nn::BatchNorm plain(3);
  EXPECT_FALSE(plain.config().contains("act"));  // configs of plain batch norms are as they were
  nn::BatchNorm bn(3, 2, 0.1f, 1e-5f, true, nn::Act::ReLU);
  EXPECT_EQ(bn.config().at("act"), "relu");
  bp::Rng rng(1);
  auto back = nn::module_from_config(bn.config(), rng);
  EXPECT_EQ(back->config(), bn.config());
  const Tensor x = random_tensor({4, 3, 2, 2}, 41, -2.f, 2.f);
  Tensor rm({3}, 0.f), rv({3}, 1.f);
  EXPECT_EQ(bn.forward(Var(x)).value().to_vector(),
            ops::relu(ops::batch_norm(Var(x), bn.weight, bn.bias, &rm, &rv, true)).value().to_vector());
  EXPECT_EQ(back->forward(Var(x)).value().to_vector(), bn.forward(Var(x)).value().to_vector());
  EXPECT_THROW(nn::BatchNorm(3, 2, 0.1f, 1e-5f, true, nn::Act::Tanh), std::invalid_argument);
}

// ---- the residual sum
TEST(AddRelu, SameAsAddThenRelu) {
  const Tensor a = random_tensor({5, 4, 3, 3}, 51), b = random_tensor({5, 4, 3, 3}, 52),
               seed = random_tensor({5, 4, 3, 3}, 53);
  Var a1(a.clone(), true), b1(b.clone(), true), a2(a.clone(), true), b2(b.clone(), true);
  Var f = ops::add_relu(a1, b1);
  f.backward(seed);  // (backward releases the thread's tape: one graph at a time)
  Var u = ops::relu(ops::add(a2, b2));
  u.backward(seed);
  EXPECT_EQ(f.value().to_vector(), u.value().to_vector());
  EXPECT_EQ(a1.grad().to_vector(), a2.grad().to_vector());
  EXPECT_EQ(b1.grad().to_vector(), b2.grad().to_vector());
  // One operand twice: both contributions reach it.
  Var c(a.clone(), true);
  ops::add_relu(c, c).backward(seed);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(c.grad()[i], a[i] > 0.f ? 2.f * seed[i] : 0.f);
  EXPECT_THROW(ops::add_relu(Var(Tensor({2, 3})), Var(Tensor({3}))), bp::ShapeError);
}

TEST(AddRelu, GradientsMatchFiniteDifferences) {
  const Tensor a = random_tensor({3, 4, 5}, 61, -1.f, 1.f, 0.05f);
  Tensor b = random_tensor({3, 4, 5}, 62, -0.02f, 0.02f);  // |a + b| ≥ 0.03: away from the kink
  expect_grad_ok([](auto& v) { return ops::add_relu(v[0], v[1]); }, {a, b});
}

TEST(AddSameShape, GradientsAndRepeatedOperand) {
  const Tensor a = random_tensor({3, 4, 5}, 71), b = random_tensor({3, 4, 5}, 72);
  expect_grad_ok([](auto& v) { return ops::add(v[0], v[1]); }, {a, b});
  Var c(a.clone(), true);
  ops::add(c, c).backward(Tensor({3, 4, 5}, 1.f));
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(c.grad()[i], 2.f);
  // A gradient already there is added to, not replaced.
  Var d(a.clone(), true);
  ops::add(ops::add(d, Var(b)), ops::mul_scalar(d, 3.f)).backward(Tensor({3, 4, 5}, 1.f));
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(d.grad()[i], 4.f);
}

// The basic block (now BN–ReLU fused, sum and ReLU fused) computes what the unfused layers
// compute with the same weights: values and every parameter's gradient.
TEST(BasicBlock, SameAsTheUnfusedLayers) {
  bp::Rng rng(5);
  auto fused = nn::make_basic_block(3, 4, 2, rng);
  nn::Sequential plain;
  plain.emplace<nn::Conv2d>(3, 4, nn::Conv2dOptions{.kernel = 3, .stride = 2, .padding = 1, .bias = false}, rng);
  plain.emplace<nn::BatchNorm>(4);
  plain.emplace<nn::Activation>(nn::Act::ReLU);
  plain.emplace<nn::Conv2d>(4, 4, nn::Conv2dOptions{.kernel = 3, .stride = 1, .padding = 1, .bias = false}, rng);
  plain.emplace<nn::BatchNorm>(4);
  nn::Conv2d proj(3, 4, nn::Conv2dOptions{.kernel = 1, .stride = 2, .padding = 0, .bias = true}, rng);
  std::vector<Var> pp = plain.parameters();
  for (auto& q : proj.parameters()) pp.push_back(q);
  std::vector<Var> fp = fused->parameters();
  ASSERT_EQ(fp.size(), pp.size());
  for (size_t i = 0; i < fp.size(); ++i) {
    ASSERT_EQ(fp[i].shape(), pp[i].shape());
    pp[i].value() = fp[i].value().clone();
  }
  const Tensor x = random_tensor({4, 3, 6, 6}, 81), seed = random_tensor({4, 4, 3, 3}, 82);
  for (bool training : {true, false}) {
    fused->set_training(training);
    plain.set_training(training);
    for (Var& v : fp) v.zero_grad();
    for (Var& v : pp) v.zero_grad();
    Var yf = fused->forward(Var(x));
    yf.backward(seed);  // (backward releases the thread's tape: one graph at a time)
    Var yp = ops::relu(ops::add(plain.forward(Var(x)), proj.forward(Var(x))));
    yp.backward(seed);
    expect_close(yf.value(), yp.value(), 1e-6, training ? "training output" : "eval output");
    for (size_t i = 0; i < fp.size(); ++i) expect_close(fp[i].grad(), pp[i].grad(), 1e-5, "gradient " + std::to_string(i));
  }
}

// ---- dropout: the branch-free draw drops exactly where uniform() < p did.
TEST(DropoutDraws, SameAsComparingUniformWithP) {
  const Tensor x = random_tensor({37, 29}, 91, 0.5f, 1.5f);
  for (float p : {0.3f, 0.25f, 0.5f, 0.9f, 1e-6f, 1.f}) {
    bp::Rng r(7), ref(7);
    const Tensor y = ops::dropout(Var(x), p, true, r).value();
    const float keep = p < 1.f ? 1.f / (1.f - p) : 0.f;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float m = ref.uniform() < p ? 0.f : keep;
      ASSERT_EQ(y[i], x[i] * m) << "p " << p << ", element " << i;
    }
    EXPECT_EQ(r.next_u64(), ref.next_u64()) << "one draw per element";
  }
}

}  // namespace
