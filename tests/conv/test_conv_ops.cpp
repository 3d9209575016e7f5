// The convolutional blocks: every one through the shared finite-difference checker, and the
// fast convolution against the direct-loop reference on odd sizes.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/autograd/gradcheck.hpp"
#include "backprop/backend/backend.hpp"
#include "backprop/ops/conv_ops.hpp"
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


using bp::testing::expect_close;

// ---- convolution geometry: (N, C, H, W, O, KH, KW, params)
struct ConvCase {
  const char* name;
  Shape x, w;
  ops::Conv2dParams p;
};

const ConvCase kConvCases[] = {
    {"plain", {2, 2, 5, 4}, {3, 2, 3, 2}, {}},
    {"stride2_pad1", {1, 2, 6, 7}, {2, 2, 3, 3}, ops::conv_params(2, 1)},
    {"asymmetric", {1, 3, 7, 5}, {2, 3, 2, 3}, {2, 1, 1, 0, 1, 1, 1}},
    {"dilation2", {1, 2, 7, 6}, {2, 2, 3, 3}, ops::conv_params(1, 2, 2)},
    {"groups2", {2, 4, 5, 5}, {4, 2, 3, 3}, ops::conv_params(1, 1, 1, 2)},
    {"pointwise", {2, 3, 3, 4}, {4, 3, 1, 1}, {}},
    {"direct_path", {2, 2, 3, 9}, {3, 2, 3, 3}, ops::conv_params(1, 1)},  // rows >= 8 wide: the direct kernels
    {"pointwise_stride2", {1, 3, 5, 5}, {2, 3, 1, 1}, ops::conv_params(2, 0)},
};

class ConvGrad : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGrad, FastBlockPassesGradcheck) {
  const auto& c = GetParam();
  Tensor x = random_tensor(c.x, 1), w = random_tensor(c.w, 2), b = random_tensor({c.w[0]}, 3);
  expect_grad_ok([&](auto& v) { return ops::conv2d(v[0], v[1], v[2], c.p); }, {x, w, b});
  expect_grad_ok([&](auto& v) { return ops::conv2d(v[0], v[1], Var(), c.p); }, {x, w});
}

TEST_P(ConvGrad, ReferencePassesGradcheck) {
  const auto& c = GetParam();
  Tensor x = random_tensor(c.x, 4), w = random_tensor(c.w, 5), b = random_tensor({c.w[0]}, 6);
  expect_grad_ok([&](auto& v) { return ops::conv2d_reference(v[0], v[1], v[2], c.p); }, {x, w, b});
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvGrad, ::testing::ValuesIn(kConvCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Fast against reference on odd sizes (rows of 8 or more outputs at stride 1 take the direct
// kernels, the others im2col + GEMM), with 1 and 2 threads (the batch split must not matter),
// for the output and all three gradients under a random upstream gradient.
void compare_with_reference(const Shape& xs, const Shape& ws, const ops::Conv2dParams& p, uint64_t seed) {
  Tensor x = random_tensor(xs, seed), w = random_tensor(ws, seed + 1), b = random_tensor({ws[0]}, seed + 2);
  Var rx(x.clone(), true), rw(w.clone(), true), rb(b.clone(), true);
  Var ry = ops::conv2d_reference(rx, rw, rb, p);
  Tensor dy = random_tensor(ry.shape(), seed + 3);
  ry.backward(dy);
  const int before = bp::backend::num_threads();
  for (int threads : {1, 2}) {
    bp::backend::set_num_threads(threads);
    Var fx(x.clone(), true), fw(w.clone(), true), fb(b.clone(), true);
    Var fy = ops::conv2d(fx, fw, fb, p);
    fy.backward(dy);
    const std::string tag = bp::shape_str(xs) + " * " + bp::shape_str(ws) + " threads " + std::to_string(threads);
    expect_close(fy.value(), ry.value(), 1e-5, "y " + tag);
    expect_close(fx.grad(), rx.grad(), 1e-5, "dx " + tag);
    expect_close(fw.grad(), rw.grad(), 1e-5, "dw " + tag);
    expect_close(fb.grad(), rb.grad(), 1e-5, "db " + tag);
  }
  bp::backend::set_num_threads(before);
}

TEST(ConvFastVsReference, OddSizes) {
  compare_with_reference({3, 3, 13, 11}, {5, 3, 5, 3}, ops::conv_params(1, 2), 10);
  compare_with_reference({5, 1, 17, 9}, {6, 1, 5, 5}, ops::conv_params(1, 2), 20);      // LeNet's first layer
  compare_with_reference({3, 6, 11, 13}, {16, 6, 5, 5}, {}, 30);                       // LeNet's second
  compare_with_reference({2, 4, 9, 10}, {6, 2, 3, 3}, {3, 2, 1, 2, 1, 1, 2}, 40);      // groups, uneven strides
  compare_with_reference({3, 2, 11, 7}, {3, 2, 3, 3}, {2, 1, 3, 0, 2, 3, 1}, 50);      // dilation, uneven pads
  compare_with_reference({3, 5, 7, 7}, {7, 5, 1, 1}, ops::conv_params(2, 0), 60);      // projection shortcut
  compare_with_reference({1, 3, 1, 9}, {2, 3, 1, 3}, ops::conv_params(1, 1), 70);      // one row
  compare_with_reference({2, 17, 5, 19}, {20, 17, 3, 3}, ops::conv_params(1, 1), 80);  // channel blocks 16 + 4
  compare_with_reference({2, 9, 6, 33}, {9, 9, 2, 4}, {1, 1, 1, 3, 1, 1, 1}, 90);     // three chunks, uneven pads
}

TEST(ConvFastVsReference, FusedReluIsReluOfTheConvolution) {
  // Both paths (direct: 9 columns; im2col: stride 2), values and gradients against the unfused
  // ops. Inputs drawn so that no output sits within reach of the kink for the checker.
  for (const auto& p : {ops::conv_params(1, 1), ops::conv_params(2, 1)}) {
    Tensor x = random_tensor({2, 3, 5, 9}, 5), w = random_tensor({4, 3, 3, 3}, 6), b = random_tensor({4}, 7);
    Var fx(x.clone(), true), fw(w.clone(), true), fb(b.clone(), true);
    Var ux(x.clone(), true), uw(w.clone(), true), ub(b.clone(), true);
    Var fy = ops::conv2d_relu(fx, fw, fb, p);
    Tensor dy = random_tensor(fy.shape(), 8);
    fy.backward(dy);  // (backward releases the whole tape: one graph at a time)
    Var uy = ops::relu(ops::conv2d(ux, uw, ub, p));
    uy.backward(dy);
    expect_close(fy.value(), uy.value(), 1e-6, "y");
    expect_close(fx.grad(), ux.grad(), 1e-5, "dx");
    expect_close(fw.grad(), uw.grad(), 1e-5, "dw");
    expect_close(fb.grad(), ub.grad(), 1e-5, "db");
  }
  Tensor x = random_tensor({1, 2, 3, 9}, 11), w = random_tensor({2, 2, 3, 3}, 12), b({2}, 0.05f);
  bp::autograd::GradcheckOptions o;
  o.h = 1e-3f;
  expect_grad_ok([](auto& v) { return ops::conv2d_relu(v[0], v[1], v[2], ops::conv_params(1, 1)); }, {x, w, b}, o);
}

TEST(ConvFastVsReference, OnlyTheGradientsAskedFor) {
  // Input as a constant (the first layer): no dx is computed, dw still is.
  Tensor x = random_tensor({2, 1, 6, 6}, 1), w = random_tensor({3, 1, 3, 3}, 2);
  Var xv(x, false), wv(w.clone(), true);
  Var y = ops::conv2d(xv, wv, Var(), ops::conv_params(1, 1));
  y.backward(Tensor(y.shape(), 1.f));
  EXPECT_FALSE(xv.grad().defined());
  EXPECT_TRUE(wv.grad().defined());
}

TEST(ConvShapes, OutputSizesAndErrors) {
  EXPECT_EQ(ops::conv_out_size(28, 5, 1, 2), 28);
  EXPECT_EQ(ops::conv_out_size(14, 5, 1, 0), 10);
  EXPECT_EQ(ops::conv_out_size(7, 3, 2, 1), 4);
  EXPECT_EQ(ops::conv_out_size(9, 3, 1, 0, 3), 3);
  Var x(Tensor({1, 3, 8, 8})), w(Tensor({4, 3, 3, 3}));
  EXPECT_EQ(ops::conv2d(x, w, Var(), ops::conv_params(2, 1)).shape(), (Shape{1, 4, 4, 4}));
  EXPECT_THROW(ops::conv2d(Var(Tensor({3, 8, 8})), w, Var()), bp::ShapeError);            // no batch dimension
  EXPECT_THROW(ops::conv2d(Var(Tensor({1, 2, 8, 8})), w, Var()), bp::ShapeError);         // channel mismatch
  EXPECT_THROW(ops::conv2d(Var(Tensor({1, 3, 2, 2})), w, Var()), bp::ShapeError);         // window too big
  EXPECT_THROW(ops::conv2d(x, w, Var(Tensor({5}))), bp::ShapeError);                     // bias size
  EXPECT_THROW(ops::conv2d(x, w, Var(), ops::conv_params(1, 0, 1, 2)), bp::ShapeError);  // groups
  EXPECT_THROW(ops::conv2d(x, w, Var(), ops::conv_params(0, 0)), bp::ShapeError);        // stride 0
}

// ---- pooling
TEST(PoolGrad, MaxAndAverage) {
  // Distinct values (no ties within a window) so the max is differentiable at the input.
  Tensor x({2, 2, 6, 7});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>((i * 37) % 83) * 0.05f - 2.f;
  expect_grad_ok([](auto& v) { return ops::max_pool2d(v[0], 2, 2); }, {x});
  expect_grad_ok([](auto& v) { return ops::max_pool2d(v[0], 3, 2, 1); }, {x});
  expect_grad_ok([](auto& v) { return ops::max_pool2d(v[0], 3, 1); }, {x});
  expect_grad_ok([](auto& v) { return ops::avg_pool2d(v[0], 2, 2); }, {x});
  expect_grad_ok([](auto& v) { return ops::avg_pool2d(v[0], 3, 2, 1); }, {x});
  expect_grad_ok([](auto& v) { return ops::global_avg_pool2d(v[0]); }, {x});
}

TEST(PoolValues, HandComputed) {
  Var x(Tensor({1, 1, 2, 4}, {1, 5, 2, 0, 3, 4, -1, 7}));
  EXPECT_EQ(ops::max_pool2d(x, 2, 2).value().to_vector(), (std::vector<float>{5, 7}));
  EXPECT_EQ(ops::avg_pool2d(x, 2, 2).value().to_vector(), (std::vector<float>{3.25f, 2}));
  EXPECT_EQ(ops::global_avg_pool2d(x).value().to_vector(), (std::vector<float>{21.f / 8}));
  EXPECT_EQ(ops::global_avg_pool2d(x).shape(), (Shape{1, 1}));
  EXPECT_THROW(ops::max_pool2d(x, 2, 2, 2), bp::ShapeError);  // padding above kernel/2
  EXPECT_THROW(ops::max_pool2d(Var(Tensor({2, 4})), 2, 2), bp::ShapeError);
}

// ---- batch norm
TEST(BatchNormGrad, TrainingAndEval2d) {
  Tensor x = random_tensor({3, 2, 3, 2}, 81, -2.f, 2.f), g = random_tensor({2}, 82, 0.5f, 1.5f),
         b = random_tensor({2}, 83);
  Tensor rm({2}, 0.f), rv({2}, 1.f);
  // Training: the batch statistics depend on x, and the gradient must include that path.
  expect_grad_ok([&](auto& v) { return ops::batch_norm(v[0], v[1], v[2], nullptr, nullptr, true); }, {x, g, b});
  Tensor erm({2}, {0.3f, -0.2f}), erv({2}, {0.8f, 1.7f});
  expect_grad_ok([&](auto& v) { return ops::batch_norm(v[0], v[1], v[2], &erm, &erv, false); }, {x, g, b});
  // Without affine parameters.
  expect_grad_ok([&](auto& v) { return ops::batch_norm(v[0], Var(), Var(), nullptr, nullptr, true); }, {x});
}

TEST(BatchNormGrad, OneD) {
  Tensor x = random_tensor({5, 3}, 91, -2.f, 2.f), g = random_tensor({3}, 92, 0.5f, 1.5f), b = random_tensor({3}, 93);
  expect_grad_ok([&](auto& v) { return ops::batch_norm(v[0], v[1], v[2], nullptr, nullptr, true); }, {x, g, b});
}

TEST(BatchNormValues, NormalisesAndTracksRunningStats) {
  Var x(Tensor({4, 1}, {1, 2, 3, 6}));
  Tensor rm({1}, 0.f), rv({1}, 1.f);
  Tensor y = ops::batch_norm(x, Var(), Var(), &rm, &rv, true, 0.1f, 0.f).value();
  // mean 3, biased variance 3.5, unbiased 14/3
  EXPECT_NEAR(y[0], (1 - 3) / std::sqrt(3.5), 1e-6);
  EXPECT_NEAR(y[3], (6 - 3) / std::sqrt(3.5), 1e-6);
  EXPECT_NEAR(rm[0], 0.3, 1e-6);
  EXPECT_NEAR(rv[0], 0.9 + 0.1 * 14.0 / 3, 1e-6);
  Tensor ye = ops::batch_norm(x, Var(), Var(), &rm, &rv, false, 0.1f, 0.f).value();
  EXPECT_NEAR(ye[0], (1 - 0.3) / std::sqrt(rv[0]), 1e-6);
  EXPECT_THROW(ops::batch_norm(x, Var(), Var(), nullptr, nullptr, false), std::invalid_argument);
  EXPECT_THROW(ops::batch_norm(Var(Tensor({1, 3})), Var(), Var(), nullptr, nullptr, true), bp::ShapeError);
}

// ---- dropout
TEST(DropoutBlock, MasksScalesAndIsSeeded) {
  Tensor x = random_tensor({50, 40}, 7, 0.5f, 1.5f);
  bp::Rng r1(3), r2(3);
  Tensor a = ops::dropout(Var(x), 0.25f, true, r1).value();
  Tensor b = ops::dropout(Var(x), 0.25f, true, r2).value();
  EXPECT_EQ(a.to_vector(), b.to_vector());
  int64_t zeros = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (a[i] == 0.f) ++zeros;
    else EXPECT_FLOAT_EQ(a[i], x[i] / 0.75f);
  }
  EXPECT_NEAR(static_cast<double>(zeros) / a.numel(), 0.25, 0.03);
  bp::Rng r3(3);
  EXPECT_EQ(ops::dropout(Var(x), 0.25f, false, r3).value().to_vector(), x.to_vector());  // eval: identity
  // The gradient uses the same mask as the forward: check it with a fixed generator per call.
  expect_grad_ok([](auto& v) {
    bp::Rng r(11);
    return ops::dropout(v[0], 0.5f, true, r);
  }, {random_tensor({4, 5}, 8)});
}

// ---- augmentation
TEST(AugmentBlock, ShiftsMirrorsAndRoutesGradients) {
  Var x(Tensor({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6}));
  bp::Rng r(1);
  EXPECT_EQ(ops::random_shift_flip(x, 1, true, false, r).value().to_vector(), x.value().to_vector());  // eval
  // Every training draw is a mirrored and/or shifted copy: each output is 0 or some input.
  for (int k = 0; k < 20; ++k) {
    Tensor y = ops::random_shift_flip(x, 1, true, true, r).value();
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_TRUE(y[i] >= 0.f && y[i] <= 6.f && y[i] == std::floor(y[i]));
  }
  // Flip only, no shift: the mirror image or the image itself.
  Tensor f = ops::random_shift_flip(x, 0, true, true, r).value();
  EXPECT_TRUE(f.to_vector() == x.value().to_vector() || f.to_vector() == (std::vector<float>{3, 2, 1, 6, 5, 4}));
  expect_grad_ok([](auto& v) {
    bp::Rng rr(5);
    return ops::random_shift_flip(v[0], 2, true, true, rr);
  }, {random_tensor({3, 2, 4, 5}, 9)});
}

}  // namespace
