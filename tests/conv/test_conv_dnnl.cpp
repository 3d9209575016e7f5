// oneDNN's convolution behind the backend seam (backend/dnnl_conv.hpp), through ops::conv2d with
// the engine forced to oneDNN: against the direct-loop reference (forward and all gradients;
// strides, padding, dilation, groups, odd shapes, fused ReLU), finite differences, gradients that
// accumulate, and what the thread count changes. Skipped when oneDNN is not compiled in.
#include <gtest/gtest.h>

#include <cstring>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"
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
namespace backend = bp::backend;

// Forces an engine for a test's scope; restores the previous one.
class Engine {
 public:
  explicit Engine(backend::ConvEngine e) : saved_(backend::conv_engine()) { backend::set_conv_engine(e); }
  ~Engine() { backend::set_conv_engine(saved_); }

 private:
  backend::ConvEngine saved_;
};

class ConvDnnl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!backend::dnnl_available()) GTEST_SKIP() << "oneDNN is not compiled in (BACKPROP_WITH_DNNL)";
  }
};

struct Grads {
  Tensor y, dx, dw, db;
};

// y = conv(x, w, b) [ReLU] and the three gradients under upstream gradient dy, with the engine in force.
Grads run(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy, const ops::Conv2dParams& p, bool relu,
          bool reference = false) {
  Var vx(x.clone(), true), vw(w.clone(), true), vb(b.clone(), true);
  Var y = reference ? ops::conv2d_reference(vx, vw, vb, p)
                    : (relu ? ops::conv2d_relu(vx, vw, vb, p) : ops::conv2d(vx, vw, vb, p));
  if (reference && relu) y = ops::relu(y);
  y.backward(dy);
  return {y.value().clone(), vx.grad().clone(), vw.grad().clone(), vb.grad().clone()};
}

void compare_with_reference(const Shape& xs, const Shape& ws, const ops::Conv2dParams& p, uint64_t seed,
                            bool relu = false) {
  Tensor x = random_tensor(xs, seed), w = random_tensor(ws, seed + 1), b = random_tensor({ws[0]}, seed + 2);
  Tensor dy = random_tensor(ops::conv2d_reference(Var(x), Var(w), Var(b), p).shape(), seed + 3);
  const Grads ref = run(x, w, b, dy, p, relu, true);
  Engine dnnl(backend::ConvEngine::Dnnl);
  const int before = backend::num_threads();
  for (int threads : {1, 2}) {
    backend::set_num_threads(threads);
    const Grads got = run(x, w, b, dy, p, relu);
    const std::string tag = bp::shape_str(xs) + " * " + bp::shape_str(ws) + (relu ? " relu" : "") + " threads " +
                            std::to_string(threads);
    expect_close(got.y, ref.y, 1e-5, "y " + tag);
    expect_close(got.dx, ref.dx, 1e-5, "dx " + tag);
    expect_close(got.dw, ref.dw, 1e-5, "dw " + tag);
    expect_close(got.db, ref.db, 1e-5, "db " + tag);
  }
  backend::set_num_threads(before);
}

TEST_F(ConvDnnl, MatchesTheReferenceOnOddShapes) {
  compare_with_reference({3, 3, 13, 11}, {5, 3, 5, 3}, ops::conv_params(1, 2), 10);
  compare_with_reference({5, 1, 17, 9}, {6, 1, 5, 5}, ops::conv_params(1, 2), 20);      // LeNet's first layer
  compare_with_reference({3, 6, 11, 13}, {16, 6, 5, 5}, {}, 30);                       // LeNet's second
  compare_with_reference({2, 4, 9, 10}, {6, 2, 3, 3}, {3, 2, 1, 2, 1, 1, 2}, 40);      // groups, uneven strides
  compare_with_reference({3, 2, 11, 7}, {3, 2, 3, 3}, {2, 1, 3, 0, 2, 3, 1}, 50);      // dilation, uneven pads
  compare_with_reference({3, 5, 7, 7}, {7, 5, 1, 1}, ops::conv_params(2, 0), 60);      // projection shortcut
  compare_with_reference({3, 5, 8, 8}, {7, 5, 1, 1}, ops::conv_params(2, 0), 65);      // the last column unread
  compare_with_reference({1, 3, 1, 9}, {2, 3, 1, 3}, ops::conv_params(1, 1), 70);      // one row
  compare_with_reference({2, 17, 5, 19}, {20, 17, 3, 3}, ops::conv_params(1, 1), 80);  // channel blocks 16 + 4
  compare_with_reference({2, 9, 6, 33}, {9, 9, 2, 4}, {1, 1, 1, 3, 1, 1, 1}, 90);     // uneven pads
  compare_with_reference({2, 6, 7, 7}, {6, 1, 3, 3}, ops::conv_params(1, 1, 1, 6), 95);  // depthwise
}

TEST_F(ConvDnnl, FusedReluMatchesReluOfTheReference) {
  compare_with_reference({3, 6, 11, 13}, {16, 6, 5, 5}, {}, 100, true);
  compare_with_reference({2, 4, 9, 9}, {4, 4, 3, 3}, ops::conv_params(2, 1), 110, true);
}

// Batches large enough to be split over two threads (backend::parallel_worth), odd so that the
// slices differ in size: the weight gradient is then summed over slices.
TEST_F(ConvDnnl, MatchesTheReferenceWhenTheBatchIsSplit) {
  compare_with_reference({5, 8, 12, 12}, {16, 8, 3, 3}, ops::conv_params(1, 1), 120);
  compare_with_reference({7, 6, 14, 14}, {16, 6, 5, 5}, {}, 130, true);
  compare_with_reference({5, 8, 12, 12}, {16, 8, 3, 3}, ops::conv_params(2, 1), 140);
}

struct Case {
  Shape x, w;
  ops::Conv2dParams p;
};

TEST_F(ConvDnnl, PassesGradcheck) {
  Engine dnnl(backend::ConvEngine::Dnnl);
  const Case cases[] = {
      {{2, 2, 5, 4}, {3, 2, 3, 2}, {}},
      {{1, 2, 6, 7}, {2, 2, 3, 3}, ops::conv_params(2, 1)},
      {{1, 2, 7, 6}, {2, 2, 3, 3}, ops::conv_params(1, 2, 2)},
      {{2, 4, 5, 5}, {4, 2, 3, 3}, ops::conv_params(1, 1, 1, 2)},
      {{2, 3, 3, 4}, {4, 3, 1, 1}, {}},
      {{2, 2, 3, 9}, {3, 2, 3, 3}, ops::conv_params(1, 1)},
  };
  for (const auto& c : cases) {
    Tensor x = random_tensor(c.x, 1), w = random_tensor(c.w, 2), b = random_tensor({c.w[0]}, 3);
    expect_grad_ok([&](auto& v) { return ops::conv2d(v[0], v[1], v[2], c.p); }, {x, w, b});
    expect_grad_ok([&](auto& v) { return ops::conv2d(v[0], v[1], Var(), c.p); }, {x, w});
  }
  // The fused ReLU, with every output away from its kink (bias 0.05, as the fast block's test).
  Tensor x = random_tensor({1, 2, 3, 9}, 11), w = random_tensor({2, 2, 3, 3}, 12), b({2}, 0.05f);
  bp::autograd::GradcheckOptions o;
  o.h = 1e-3f;
  expect_grad_ok([](auto& v) { return ops::conv2d_relu(v[0], v[1], v[2], ops::conv_params(1, 1)); }, {x, w, b}, o);
}

// Gradients are added to what the buffers hold: x and w used twice, the second time through our
// own kernels, must get the sum of both uses.
TEST_F(ConvDnnl, GradientsAccumulate) {
  Tensor x = random_tensor({2, 3, 6, 9}, 7), w = random_tensor({4, 3, 3, 3}, 8), b = random_tensor({4}, 9);
  const auto p = ops::conv_params(1, 1);
  Var rx(x.clone(), true), rw(w.clone(), true), rb(b.clone(), true);
  Var ry = ops::add(ops::conv2d_reference(rx, rw, rb, p), ops::conv2d_reference(rx, rw, rb, p));
  Tensor dy = random_tensor(ry.shape(), 10);
  ry.backward(dy);
  Var fx(x.clone(), true), fw(w.clone(), true), fb(b.clone(), true);
  Var a, c;
  {
    Engine dnnl(backend::ConvEngine::Dnnl);
    a = ops::conv2d(fx, fw, fb, p);
  }
  {
    Engine ours(backend::ConvEngine::Ours);
    c = ops::conv2d(fx, fw, fb, p);
  }
  Var fy = ops::add(a, c);
  {
    Engine dnnl(backend::ConvEngine::Dnnl);  // the engine is asked again in backward: oneDNN for both
    fy.backward(dy);
  }
  expect_close(fy.value(), ry.value(), 1e-5, "y");
  expect_close(fx.grad(), rx.grad(), 1e-5, "dx");
  expect_close(fw.grad(), rw.grad(), 1e-5, "dw");
  expect_close(fb.grad(), rb.grad(), 1e-5, "db");
}

TEST_F(ConvDnnl, OnlyTheGradientsAskedFor) {
  Engine dnnl(backend::ConvEngine::Dnnl);
  Tensor x = random_tensor({2, 1, 6, 6}, 1), w = random_tensor({3, 1, 3, 3}, 2);
  Var xv(x, false), wv(w.clone(), true);
  Var y = ops::conv2d(xv, wv, Var(), ops::conv_params(1, 1));
  y.backward(Tensor(y.shape(), 1.f));
  EXPECT_FALSE(xv.grad().defined());
  ASSERT_TRUE(wv.grad().defined());
  // Every weight sees 36 − (the taps that fall on padding) ones times x: compare with the reference.
  Var rw(w.clone(), true);
  Var ry = ops::conv2d_reference(Var(x, false), rw, Var(), ops::conv_params(1, 1));
  ry.backward(Tensor(ry.shape(), 1.f));
  expect_close(wv.grad(), rw.grad(), 1e-5, "dw");
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

// What the thread count changes. The same call twice gives the same bits (the primitives are
// fixed per shape). Across 1 and 2 threads: the output and the input gradient are computed per
// sample by the same kind of kernel and come out bit-identical; the weight and bias gradients
// are sums over the batch, taken per slice and then in slice order (as ops/conv.cpp's), so
// they differ in rounding only.
TEST_F(ConvDnnl, RepeatableAndTheThreadCountChangesOnlyRounding) {
  Engine dnnl(backend::ConvEngine::Dnnl);
  Tensor x = random_tensor({6, 8, 12, 12}, 1), w = random_tensor({16, 8, 3, 3}, 2), b = random_tensor({16}, 3);
  const auto p = ops::conv_params(1, 1);
  Tensor dy = random_tensor({6, 16, 12, 12}, 4);
  const int before = backend::num_threads();
  backend::set_num_threads(1);
  const Grads one = run(x, w, b, dy, p, true), again = run(x, w, b, dy, p, true);
  backend::set_num_threads(2);
  const Grads two = run(x, w, b, dy, p, true), two_again = run(x, w, b, dy, p, true);
  backend::set_num_threads(before);
  for (const auto& [a, c] : {std::pair{&one, &again}, std::pair{&two, &two_again}}) {
    EXPECT_TRUE(same_bits(a->y, c->y));
    EXPECT_TRUE(same_bits(a->dx, c->dx));
    EXPECT_TRUE(same_bits(a->dw, c->dw));
    EXPECT_TRUE(same_bits(a->db, c->db));
  }
  EXPECT_TRUE(same_bits(one.y, two.y));
  EXPECT_TRUE(same_bits(one.dx, two.dx));
  expect_close(two.dw, one.dw, 1e-5, "dw, 2 threads against 1");
  expect_close(two.db, one.db, 1e-5, "db, 2 threads against 1");
}

// The rule (backend/conv_engine.cpp, from bench_conv's measurements): oneDNN for the residual
// net's 3×3 layers of 32 and 64 channels, ours for LeNet's layers, the stem, the 1×1 projection
// and anything smaller than 2^20 multiply-adds.
TEST(ConvEngineRule, OneDnnlWhereItWasMeasuredFaster) {
  using backend::ConvDesc;
  using backend::ConvPass;
  const ConvDesc b1{128, 32, 14, 14, 32, 3, 3, 14, 14, 1, 1, 1, 1, 1, 1, 1};
  const ConvDesc b2a{128, 32, 14, 14, 64, 3, 3, 7, 7, 1, 2, 2, 1, 1, 1, 1};
  const ConvDesc conv1{128, 1, 28, 28, 6, 5, 5, 28, 28, 1, 1, 1, 2, 2, 1, 1};
  const ConvDesc conv2{128, 6, 14, 14, 16, 5, 5, 10, 10, 1, 1, 1, 0, 0, 1, 1};
  const ConvDesc stem{128, 1, 28, 28, 32, 3, 3, 28, 28, 1, 1, 1, 1, 1, 1, 1};
  const ConvDesc proj{128, 32, 14, 14, 64, 1, 1, 7, 7, 1, 2, 2, 0, 0, 1, 1};
  ConvDesc small = b1;
  small.N = 1;
  ConvDesc grouped = b1;
  grouped.G = 2;
  for (ConvPass pass : {ConvPass::Forward, ConvPass::Backward}) {
    EXPECT_TRUE(backend::dnnl_conv_wins(b1, pass));
    EXPECT_TRUE(backend::dnnl_conv_wins(b2a, pass));
    for (const ConvDesc& d : {conv1, conv2, stem, proj, grouped}) EXPECT_FALSE(backend::dnnl_conv_wins(d, pass));
  }
  EXPECT_TRUE(backend::dnnl_conv_wins(small, ConvPass::Forward));  // 1.8 M multiply-adds
  small.O = 8;                                                        // 0.45 M
  EXPECT_FALSE(backend::dnnl_conv_wins(small, ConvPass::Forward));
}

TEST(ConvEngineRule, OursWhenOneDnnlIsAbsentOrRefused) {
  backend::ConvDesc d{128, 32, 14, 14, 32, 3, 3, 14, 14, 1, 1, 1, 1, 1, 1, 1};
  {
    Engine ours(backend::ConvEngine::Ours);
    EXPECT_FALSE(backend::use_dnnl_conv(d, backend::ConvPass::Forward));
    EXPECT_FALSE(backend::use_dnnl_conv(d, backend::ConvPass::Backward));
  }
  Engine dnnl(backend::ConvEngine::Dnnl);
  EXPECT_EQ(backend::use_dnnl_conv(d, backend::ConvPass::Forward), backend::dnnl_available());
}

}  // namespace
