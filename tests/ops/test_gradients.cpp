// Every block and every loss through the one shared finite-difference checker.
#include <gtest/gtest.h>

#include "backprop/autograd/gradcheck.hpp"
#include "backprop/ops/ops.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::autograd::gradcheck;
using bp::autograd::GradcheckOptions;
using bp::testing::expect_grad_ok;
using bp::testing::random_tensor;
namespace ops = bp::ops;

using Fn = std::function<Var(const std::vector<Var>&)>;


// ---- the checker itself must be able to fail
TEST(Gradcheck, CatchesAWrongDerivative) {
  // A block whose backward is off by a factor of 2: y = x², "dy/dx" = 4x.
  Fn wrong = [](const std::vector<Var>& v) {
    Tensor out = v[0].value().clone();
    for (int64_t i = 0; i < out.numel(); ++i) out[i] *= out[i];
    return bp::autograd::make_result(std::move(out), {v[0]}, [](bp::Node& n) {
      bp::Node& in = *n.inputs[0];
      Tensor g = Tensor::empty(in.value.shape());
      for (int64_t i = 0; i < g.numel(); ++i) g[i] = n.grad[i] * 4.f * in.value[i];
      bp::autograd::accumulate(in, std::move(g));
    }, "wrong_square");
  };
  auto r = gradcheck(wrong, {random_tensor({3, 4}, 1, -1, 1, 0.2f)});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.report.empty());
}

TEST(Gradcheck, CatchesASignError) {
  Fn wrong = [](const std::vector<Var>& v) {
    // sub with its operands' gradients swapped is exactly a sign error on both.
    return ops::sub(v[1], v[0]);
  };
  Fn right_claim = [&](const std::vector<Var>& v) { return ops::sub(v[0], v[1]); };
  // Check f = a − b, but evaluate gradients of b − a: should fail.
  std::vector<Tensor> in{random_tensor({5}, 2), random_tensor({5}, 3)};
  auto r = gradcheck([&](const std::vector<Var>& v) {
    return bp::autograd::grad_enabled() ? wrong(v) : right_claim(v);
  }, in);
  EXPECT_FALSE(r.ok);
}

// ---- elementwise with broadcasting
struct BinCase {
  Shape a, b;
};
class BinaryGrad : public ::testing::TestWithParam<BinCase> {};

TEST_P(BinaryGrad, AddSubMulDiv) {
  auto c = GetParam();
  Tensor a = random_tensor(c.a, 11), b = random_tensor(c.b, 12, 0.5f, 2.f);  // b away from 0 for div
  expect_grad_ok([](auto& v) { return ops::add(v[0], v[1]); }, {a, b});
  expect_grad_ok([](auto& v) { return ops::sub(v[0], v[1]); }, {a, b});
  expect_grad_ok([](auto& v) { return ops::mul(v[0], v[1]); }, {a, b});
  expect_grad_ok([](auto& v) { return ops::div(v[0], v[1]); }, {a, b});
}

INSTANTIATE_TEST_SUITE_P(Shapes, BinaryGrad,
                         ::testing::Values(BinCase{{3, 4}, {3, 4}}, BinCase{{3, 4}, {4}}, BinCase{{3, 4}, {3, 1}},
                                           BinCase{{3, 4}, {1}}, BinCase{{1}, {2, 3}}, BinCase{{2, 1, 3}, {4, 1}},
                                           BinCase{{4}, {3, 4}}),
                         // Names from the shapes ("3x4_by_3x1"), not gtest's byte dump of the
                         // struct, which prints heap addresses and so changes from run to run.
                         [](const ::testing::TestParamInfo<BinCase>& info) {
                           auto dims = [](const Shape& s) {
                             std::string r;
                             for (size_t i = 0; i < s.size(); ++i) {
                               if (i) r += 'x';
                               r += std::to_string(s[i]);
                             }
                             return r;
                           };
                           return dims(info.param.a) + "_by_" + dims(info.param.b);
                         });

TEST(Broadcast, ShapesAndErrors) {
  EXPECT_EQ(ops::broadcast_shape({3, 1}, {1, 4}), (Shape{3, 4}));
  EXPECT_EQ(ops::broadcast_shape({2, 1, 3}, {4, 1}), (Shape{2, 4, 3}));
  EXPECT_THROW(ops::broadcast_shape({3, 4}, {3}), bp::ShapeError);
  // Values: (2,1) + (3) -> (2,3)
  Var a(Tensor({2, 1}, {1, 2})), b(Tensor({3}, {10, 20, 30}));
  EXPECT_EQ(ops::add(a, b).value().to_vector(), (std::vector<float>{11, 21, 31, 12, 22, 32}));
}

TEST(UnaryGrad, ScalarExpLogNeg) {
  Tensor x = random_tensor({2, 5}, 21, 0.2f, 2.f);
  expect_grad_ok([](auto& v) { return ops::add_scalar(v[0], 3.f); }, {x});
  expect_grad_ok([](auto& v) { return ops::mul_scalar(v[0], -2.5f); }, {x});
  expect_grad_ok([](auto& v) { return ops::neg(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::exp(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::log(v[0]); }, {x});
}

// ---- activations
TEST(ActivationGrad, Smooth) {
  Tensor x = random_tensor({3, 7}, 31, -3.f, 3.f);
  expect_grad_ok([](auto& v) { return ops::sigmoid(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::tanh(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::softplus(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::softmax(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::log_softmax(v[0]); }, {x});
}

TEST(ActivationGrad, KinkedAwayFromTheKink) {
  // |x| >= 0.05 > h = 0.01, so no central difference straddles the kink at 0.
  Tensor x = random_tensor({4, 6}, 41, -2.f, 2.f, 0.05f);
  expect_grad_ok([](auto& v) { return ops::relu(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::leaky_relu(v[0], 0.1f); }, {x});
  // The step's derivative is 0 away from 0, and the finite difference agrees.
  expect_grad_ok([](auto& v) { return ops::step(v[0]); }, {x});
}

TEST(ActivationValues, MatchDefinitions) {
  Var z(Tensor({5}, {-1000.f, -2.f, 0.f, 2.f, 1000.f}));
  auto s = ops::sigmoid(z).value();
  EXPECT_EQ(s[0], 0.f);  // no overflow, no NaN
  EXPECT_NEAR(s[1], 1.0 / (1.0 + std::exp(2.0)), 1e-7);
  EXPECT_EQ(s[2], 0.5f);
  EXPECT_EQ(s[4], 1.f);
  auto st = ops::step(z).value();
  EXPECT_EQ(st.to_vector(), (std::vector<float>{0, 0, 1, 1, 1}));
  auto sp = ops::softplus(z).value();
  EXPECT_EQ(sp[0], 0.f);
  EXPECT_EQ(sp[4], 1000.f);
  EXPECT_NEAR(sp[2], std::log(2.0), 1e-7);
  auto r = ops::relu(z).value();
  EXPECT_EQ(r.to_vector(), (std::vector<float>{0, 0, 0, 2, 1000}));
  auto lr = ops::leaky_relu(z, 0.1f).value();
  EXPECT_FLOAT_EQ(lr[1], -0.2f);
  Var rows(Tensor({2, 3}, {1, 2, 3, 1000, 1000, 1000}));
  auto sm = ops::softmax(rows).value();
  double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0);
  EXPECT_NEAR(sm[2], e3 / (e1 + e2 + e3), 1e-6);
  EXPECT_NEAR(sm[3], 1.0 / 3, 1e-6);  // large logits: no overflow
  auto ls = ops::log_softmax(rows).value();
  EXPECT_NEAR(ls[0], 1.0 - std::log(e1 + e2 + e3), 1e-5);
}

// ---- matrix products
TEST(LinearGrad, MatmulAndFusedLinear) {
  Tensor a = random_tensor({3, 4}, 51), b = random_tensor({4, 2}, 52);
  expect_grad_ok([](auto& v) { return ops::matmul(v[0], v[1]); }, {a, b});
  Tensor x = random_tensor({5, 4}, 53), w = random_tensor({3, 4}, 54), bias = random_tensor({3}, 55);
  expect_grad_ok([](auto& v) { return ops::linear(v[0], v[1], v[2]); }, {x, w, bias});
  expect_grad_ok([](auto& v) { return ops::linear(v[0], v[1], Var()); }, {x, w});
}

TEST(LinearValues, MatchesHandComputation) {
  // x = [1 2], W = [[1 0],[0 1],[1 1]], b = [0.5 0 -1]  ->  [1.5 2 2]
  Var x(Tensor({1, 2}, {1, 2})), w(Tensor({3, 2}, {1, 0, 0, 1, 1, 1})), b(Tensor({3}, {0.5f, 0, -1}));
  EXPECT_EQ(ops::linear(x, w, b).value().to_vector(), (std::vector<float>{1.5f, 2, 2}));
  EXPECT_THROW(ops::linear(Var(Tensor({1, 3})), w, b), bp::ShapeError);
  EXPECT_THROW(ops::matmul(Var(Tensor({2, 3})), Var(Tensor({2, 3}))), bp::ShapeError);
}

// ---- reductions and reshape
TEST(ReduceGrad, SumMeanReshape) {
  Tensor x = random_tensor({2, 3, 4}, 61);
  expect_grad_ok([](auto& v) { return ops::sum(v[0]); }, {x});
  expect_grad_ok([](auto& v) { return ops::mean(v[0]); }, {x});
  for (int d : {0, 1, 2, -1}) {
    expect_grad_ok([d](auto& v) { return ops::sum(v[0], d); }, {x});
    expect_grad_ok([d](auto& v) { return ops::mean(v[0], d, true); }, {x});
  }
  expect_grad_ok([](auto& v) { return ops::mul(ops::reshape(v[0], {4, 6}), ops::reshape(v[0], {4, 6})); }, {x});
}

TEST(ReduceValues, Axis) {
  Var x(Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ops::sum(x, 0).value().to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(ops::mean(x, 1).value().to_vector(), (std::vector<float>{2, 5}));
  EXPECT_EQ(ops::sum(x, 1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(ops::sum(x).item(), 21.f);
  EXPECT_EQ(ops::mean(x).item(), 3.5f);
}

// ---- losses
TEST(LossGrad, RegressionLosses) {
  Tensor p = random_tensor({6, 1}, 71), t = random_tensor({6, 1}, 72);
  expect_grad_ok([](auto& v) { return ops::sse_loss(v[0], v[1]); }, {p, t});
  expect_grad_ok([](auto& v) { return ops::mse_loss(v[0], v[1]); }, {p, t});
}

TEST(LossGrad, BinaryCrossEntropyOnLogits) {
  Tensor z = random_tensor({8, 1}, 81, -4.f, 4.f), t = random_tensor({8, 1}, 82, 0.f, 1.f);
  expect_grad_ok([](auto& v) { return ops::bce_with_logits(v[0], v[1]); }, {z, t});
}

TEST(LossGrad, SoftmaxCrossEntropy) {
  Tensor z = random_tensor({4, 5}, 91, -3.f, 3.f);
  std::vector<int32_t> y{0, 4, 2, 2};
  expect_grad_ok([y](auto& v) { return ops::softmax_cross_entropy(v[0], y); }, {z});
  Tensor t = random_tensor({4, 5}, 92, 0.f, 1.f);
  expect_grad_ok([](auto& v) { return ops::softmax_cross_entropy(v[0], v[1]); }, {z, t});
}

TEST(LossValues, StableAndConsistent) {
  // BCE on logits stays finite and exact for huge |z|: loss(z=-100, t=1) = 100 (+ log1p(e^-100)).
  Var z(Tensor({2, 1}, {-100.f, 100.f})), t(Tensor({2, 1}, {1.f, 1.f}));
  EXPECT_NEAR(ops::bce_with_logits(z, t).item(), 50.f, 1e-4);
  // Index and one-hot forms agree.
  Var logits(Tensor({2, 3}, {1, 2, 3, 0.5f, -1, 2}));
  Var onehot(Tensor({2, 3}, {0, 0, 1, 1, 0, 0}));
  EXPECT_NEAR(ops::softmax_cross_entropy(logits, {2, 0}).item(), ops::softmax_cross_entropy(logits, onehot).item(), 1e-6);
  EXPECT_THROW(ops::softmax_cross_entropy(logits, {2, 3}), bp::ShapeError);
  EXPECT_THROW(ops::mse_loss(Var(Tensor({3, 1})), Var(Tensor({3}))), bp::ShapeError);
  // SSE = Σ (y − ŷ)²
  EXPECT_EQ(ops::sse_loss(Var(Tensor({2}, {1, 2})), Var(Tensor({2}, {3, 5}))).item(), 13.f);
}

TEST(SoftmaxCrossEntropy, GradientIsPredictionMinusTarget) {
  // The lecture's result: ∂E/∂z = ŷ − y (for one example, mean over a batch of 1).
  Var z(Tensor({1, 3}, {0.2f, -1.f, 2.f}), true);
  ops::softmax_cross_entropy(z, {1}).backward();
  auto yhat = ops::softmax(Var(z.value())).value();
  EXPECT_NEAR(z.grad()[0], yhat[0], 1e-6);
  EXPECT_NEAR(z.grad()[1], yhat[1] - 1.f, 1e-6);
  EXPECT_NEAR(z.grad()[2], yhat[2], 1e-6);
}

}  // namespace
