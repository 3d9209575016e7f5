// The lecture's worked backpropagation examples, with numbers worked out by hand.
//
// Network: inputs x1, x2; hidden z1 = x1·w1 + x2·w3 + b1, z2 = x1·w2 + x2·w4 + b2, h = σ(z);
// output ŷ = h1·w5 + h2·w6 + b3; E = (y − ŷ)².
// Chosen numbers: x = (1, 2), w1..w4 = 0.1, 0.2, 0.3, 0.4, b1 = b2 = 0, w5 = 0.5, w6 = 0.6,
// b3 = 0.1, y = 1.
//   z1 = 0.1 + 0.6 = 0.7            h1 = σ(0.7) = 0.668187772
//   z2 = 0.2 + 0.8 = 1.0            h2 = σ(1.0) = 0.731058579
//   ŷ = 0.5·0.668187772 + 0.6·0.731058579 + 0.1 = 0.872729033
//   E = (1 − 0.872729033)² = 0.016197899
//   ∂E/∂w5 = −2(y − ŷ)·h1 = −2·0.127270967·0.668187772 = −0.170081807
//   ∂E/∂w1 = −2(y − ŷ)·w5·h1(1 − h1)·x1 = −0.254541934·0.5·0.221712873·1 = −0.028217612
//   ∂E/∂w4 = −2(y − ŷ)·w6·h2(1 − h2)·x2 = −0.254541934·0.6·0.196611933·2 = −0.060055178
#include <gtest/gtest.h>

#include "backprop/ops/ops.hpp"

namespace {

using bp::Tensor;
using bp::Var;
namespace ops = bp::ops;

struct Net {
  // W1 (out=2, in=2) row-major: row 0 feeds z1 (w1 from x1, w3 from x2), row 1 feeds z2.
  Var w_hidden{Tensor({2, 2}, {0.1f, 0.3f, 0.2f, 0.4f}), true};
  Var b_hidden{Tensor({2}, {0.f, 0.f}), true};
  Var w_out{Tensor({1, 2}, {0.5f, 0.6f}), true};  // w5, w6
  Var b_out{Tensor({1}, {0.1f}), true};           // b3
  Var x{Tensor({1, 2}, {1.f, 2.f})};
  Var hidden() { return ops::sigmoid(ops::linear(x, w_hidden, b_hidden)); }
};

TEST(LectureExample, RegressionGradientsMatchHandComputation) {
  Net net;
  Var h = net.hidden();
  Var yhat = ops::linear(h, net.w_out, net.b_out);
  Var e = ops::sse_loss(yhat, Var(Tensor({1, 1}, {1.f})));
  EXPECT_NEAR(h.value()[0], 0.668187772, 1e-6);
  EXPECT_NEAR(h.value()[1], 0.731058579, 1e-6);
  EXPECT_NEAR(yhat.item(), 0.872729033, 1e-6);
  EXPECT_NEAR(e.item(), 0.016197899, 1e-7);
  e.backward();
  EXPECT_NEAR(net.w_out.grad()[0], -0.170081807, 1e-6);     // ∂E/∂w5
  EXPECT_NEAR(net.w_hidden.grad()[0], -0.028217612, 1e-6);  // ∂E/∂w1
  EXPECT_NEAR(net.w_hidden.grad()[3], -0.060055178, 1e-6);  // ∂E/∂w4
  EXPECT_NEAR(net.b_out.grad()[0], -2 * (1 - 0.872729033), 1e-6);  // ∂E/∂b3 = −2(y − ŷ)
}

// Binary output: ŷ = σ(h1·w5 + h2·w6 + b3), E = −[y log ŷ + (1 − y) log(1 − ŷ)], here y = 0.
//   ŷ = σ(0.872729033) = 0.705313236, E = −log(1 − ŷ) = 1.221842302
//   ∂E/∂(output weight from h1) = (ŷ − y)·h1 = 0.705313236·0.668187772 = 0.471281680
//   ∂E/∂w1 = (ŷ − y)·w5·h1(1 − h1)·x1 = 0.078188512
TEST(LectureExample, BinaryCrossEntropyGradientIsPredictionMinusTargetTimesInput) {
  Net net;
  Var z = ops::linear(net.hidden(), net.w_out, net.b_out);
  Var e = ops::bce_with_logits(z, Var(Tensor({1, 1}, {0.f})));
  EXPECT_NEAR(ops::sigmoid(z).item(), 0.705313236, 1e-6);
  EXPECT_NEAR(e.item(), 1.221842302, 1e-6);
  e.backward();
  EXPECT_NEAR(net.w_out.grad()[0], 0.471281680, 1e-6);
  EXPECT_NEAR(net.w_hidden.grad()[0], 0.078188512, 1e-6);
}

}  // namespace
