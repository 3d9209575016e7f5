// The convolution's direct kernels (forward, input gradient, weight gradient) and the 2×2 max
// pool, on shapes that reach every block size and remainder they have, against the direct-loop
// reference, with the AVX-512 pieces on and off (backend/conv_kernels.hpp) and 1 and 2 threads.
#include <gtest/gtest.h>

#include <limits>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/conv_kernels.hpp"
#include "backprop/backend/isa.hpp"
#include "backprop/backend/dnnl_conv.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/ops/ops.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::testing::expect_close;
using bp::testing::random_tensor;
namespace ops = bp::ops;
namespace backend = bp::backend;

// Our kernels, whatever the engine rule would pick (oneDNN takes the larger layers of 16 or
// more input channels when compiled in, backend/dnnl_conv.hpp); restores the engine, the
// AVX-512 switch and the thread count however a test ends.
struct KernelSettings {
  backend::ConvEngine engine = backend::conv_engine();
  bool portable = backend::portable_kernels();
  int threads = backend::num_threads();
  KernelSettings() { backend::set_conv_engine(backend::ConvEngine::Ours); }
  ~KernelSettings() {
    backend::set_conv_engine(engine);
    backend::set_portable_kernels(portable);
    backend::set_num_threads(threads);
  }
};

// Which gradients a case asks for.
enum class Want { All, WeightsOnly, InputOnly };

// y, dx, dW, db of conv2d (or conv2d_relu) against the reference (relu(reference)) under a
// random upstream gradient, for each ISA setting and thread count.
void check_direct(const Shape& xs, const Shape& ws, const ops::Conv2dParams& p, bool relu, Want want, uint64_t seed,
                  double tol = 1e-5) {
  KernelSettings restore;
  Tensor x = random_tensor(xs, seed), w = random_tensor(ws, seed + 1), b = random_tensor({ws[0]}, seed + 2);
  const bool gx = want != Want::WeightsOnly, gw = want != Want::InputOnly;
  Var rx(x.clone(), gx), rw(w.clone(), gw), rb(b.clone(), gw);
  Var ry = ops::conv2d_reference(rx, rw, rb, p);
  if (relu) ry = ops::relu(ry);
  Tensor dy = random_tensor(ry.shape(), seed + 3);
  ry.backward(dy);
  for (bool avx512 : {true, false}) {
    backend::set_portable_kernels(!avx512);
    for (int threads : {1, 2}) {
      backend::set_num_threads(threads);
      Var fx(x.clone(), gx), fw(w.clone(), gw), fb(b.clone(), gw);
      Var fy = relu ? ops::conv2d_relu(fx, fw, fb, p) : ops::conv2d(fx, fw, fb, p);
      fy.backward(dy);
      const std::string tag = bp::shape_str(xs) + " * " + bp::shape_str(ws) + (relu ? " relu" : "") + " avx512 " +
                              std::to_string(backend::conv_avx512()) + " threads " + std::to_string(threads);
      expect_close(fy.value(), ry.value(), tol, "y " + tag);
      if (gx) expect_close(fx.grad(), rx.grad(), tol, "dx " + tag);
      else EXPECT_FALSE(fx.grad().defined()) << tag;
      if (gw) {
        expect_close(fw.grad(), rw.grad(), tol, "dw " + tag);
        expect_close(fb.grad(), rb.grad(), tol, "db " + tag);
      } else {
        EXPECT_FALSE(fw.grad().defined()) << tag;
      }
    }
  }
}

TEST(ConvDirectKernels, LeNetLayers) {
  // 5 samples: a group of 4 and a group of 1 in the weight gradient; 2 threads split 2 + 3.
  check_direct({5, 1, 28, 28}, {6, 1, 5, 5}, ops::conv_params(1, 2), true, Want::WeightsOnly, 100);
  check_direct({5, 6, 14, 14}, {16, 6, 5, 5}, {}, true, Want::All, 110);
}

TEST(ConvDirectKernels, BlockRemainders) {
  // 7×7: column blocks 5 + 2; 13 channels: blocks 4 + 4 + 4 + 1; 9 rows out: row pairs + one.
  check_direct({3, 2, 11, 9}, {13, 2, 7, 7}, ops::conv_params(1, 3), false, Want::All, 120);
  // 3×3 with 9 channels: blocks of 8 + 1 (forward, dW), 3 input channels in the input gradient.
  check_direct({2, 3, 9, 12}, {9, 3, 3, 3}, ops::conv_params(1, 1), true, Want::All, 130);
  // 6 columns (5 + 1), 2 rows; uneven padding; rows of 40 outputs: three vector chunks.
  check_direct({2, 2, 5, 40}, {5, 2, 2, 6}, {1, 1, 1, 2, 1, 1, 1}, false, Want::All, 140);
  // 1×1 at stride 1 takes the direct kernels too.
  check_direct({3, 4, 6, 10}, {5, 4, 1, 1}, {}, true, Want::All, 150);
  // The residual net's 3×3 layers: 32 channels (two blocks of 16 forward, 8s in dW), 14×14.
  check_direct({3, 32, 14, 14}, {32, 32, 3, 3}, ops::conv_params(1, 1), false, Want::All, 160);
}

TEST(ConvDirectKernels, SmallMapsWalkTheWidePlane) {
  // 7×7 with 3×3 taps: 4 chunks of the 63-float run instead of 7 rows (forward, dx and dW);
  // 20 channels: blocks of 16 + 4, chunk pairs + one.
  check_direct({3, 16, 7, 7}, {20, 16, 3, 3}, ops::conv_params(1, 1), false, Want::All, 300);
  check_direct({2, 3, 8, 8}, {9, 3, 3, 3}, ops::conv_params(1, 1), true, Want::All, 310);    // 5 chunks
  check_direct({2, 4, 6, 6}, {6, 4, 5, 5}, ops::conv_params(1, 2), false, Want::All, 320);   // 5×5 taps
  check_direct({2, 2, 4, 5}, {3, 2, 2, 3}, {1, 1, 1, 0, 1, 1, 1}, true, Want::All, 330);     // 5 × 3 out
  check_direct({4, 64, 7, 7}, {64, 64, 3, 3}, ops::conv_params(1, 1), false, Want::All, 340);  // the residual net's (dW: GEMM)
  check_direct({4, 32, 7, 7}, {32, 32, 3, 3}, ops::conv_params(1, 1), true, Want::All, 350);   // dW direct, wide
}

TEST(ConvDirectKernels, OneGradientAtATime) {
  check_direct({3, 3, 8, 11}, {4, 3, 3, 3}, ops::conv_params(1, 1), true, Want::InputOnly, 170);
  check_direct({3, 3, 8, 11}, {4, 3, 3, 3}, ops::conv_params(1, 1), false, Want::WeightsOnly, 180);
}

TEST(ConvDirectKernels, LargeLayersFallBackToTheGemm) {
  // 180·180·9 weights × 16 lanes of partial sums would pass the 1 MB the direct weight
  // gradient may take: that layer's dW goes through im2col + GEMM instead.
  // Each output sums 1,620 products in float (LeNet's 150): rounding grows with the length.
  check_direct({1, 180, 3, 8}, {180, 180, 3, 3}, ops::conv_params(1, 1), false, Want::All, 190, 5e-5);
  // Just past the limit (16,605 weights), with the fused ReLU and 3 samples.
  check_direct({3, 45, 5, 8}, {41, 45, 3, 3}, ops::conv_params(1, 1), true, Want::All, 195);
}

TEST(ConvDirectKernels, SwitchOffIsHonoured) {
  KernelSettings restore;
  backend::set_portable_kernels(true);
  EXPECT_FALSE(backend::conv_avx512());
  EXPECT_TRUE(backend::set_portable_kernels(false));
#if defined(__AVX512F__)
  EXPECT_EQ(backend::conv_avx512(), static_cast<bool>(__builtin_cpu_supports("avx512f")));
#else
  EXPECT_FALSE(backend::conv_avx512());
#endif
}

// The 2×2, stride-2 max pool against the obvious loops: values, and the gradient routed to the
// first maximum in scan order (values drawn from {0, 0.5, 1} so that ties are common).
TEST(MaxPoolKernels, TwoByTwoAgainstLoops) {
  KernelSettings restore;
  const Shape shapes[] = {{2, 3, 28, 28}, {3, 2, 10, 10}, {1, 2, 7, 29}, {1, 1, 4, 70}, {2, 1, 3, 3}};
  uint64_t seed = 200;
  for (const Shape& s : shapes) {
    Tensor x = random_tensor(s, ++seed, 0.f, 3.f);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = std::floor(x[i]) * 0.5f;
    const int64_t H = s[2], W = s[3], OH = (H - 2) / 2 + 1, OW = (W - 2) / 2 + 1, planes = s[0] * s[1];
    Tensor want_y({s[0], s[1], OH, OW}), want_dx(s, 0.f);
    Tensor dy = random_tensor(want_y.shape(), ++seed);
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          float m = -std::numeric_limits<float>::infinity();
          int64_t at = 0;
          for (int64_t iy = 2 * oy; iy < 2 * oy + 2; ++iy)
            for (int64_t ix = 2 * ox; ix < 2 * ox + 2; ++ix)
              if (x[(pl * H + iy) * W + ix] > m) m = x[(pl * H + iy) * W + ix], at = (pl * H + iy) * W + ix;
          want_y[(pl * OH + oy) * OW + ox] = m;
          want_dx[at] += dy[(pl * OH + oy) * OW + ox];
        }
    for (bool avx512 : {true, false}) {
      backend::set_portable_kernels(!avx512);
      Var xv(x.clone(), true);
      Var y = ops::max_pool2d(xv, 2, 2);
      y.backward(dy);
      const std::string tag = bp::shape_str(s) + " avx512 " + std::to_string(backend::conv_avx512());
      expect_close(y.value(), want_y, 0, "y " + tag);
      expect_close(xv.grad(), want_dx, 0, "dx " + tag);
    }
  }
}

}  // namespace
