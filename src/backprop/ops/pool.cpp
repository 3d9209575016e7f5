// Pooling over the planes of x (N, C, H, W), forward beside backward. Planes are independent,
// so large tensors split them across the backend's threads.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "backprop/backend/backend.hpp"
#include "backprop/backend/conv_kernels.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/tensor/allocator.hpp"

namespace bp::ops {

using autograd::grad_buffer;
using autograd::make_result;

namespace {

struct PoolGeo {
  int64_t planes, H, W, OH, OW, k, s, p;
};

PoolGeo pool_geometry(const Var& x, int64_t k, int64_t s, int64_t p, const char* op) {
  if (x.value().ndim() != 4) throw ShapeError(std::string(op) + ": input must be (N, C, H, W), got " + shape_str(x.shape()));
  if (k <= 0 || s <= 0 || p < 0 || p > k / 2)
    throw ShapeError(std::string(op) + ": need kernel > 0, stride > 0 and 0 <= padding <= kernel/2 (kernel " +
                     std::to_string(k) + ", stride " + std::to_string(s) + ", padding " + std::to_string(p) + ")");
  PoolGeo g;
  g.planes = x.shape()[0] * x.shape()[1];
  g.H = x.shape()[2], g.W = x.shape()[3];
  g.k = k, g.s = s, g.p = p;
  g.OH = conv_out_size(g.H, k, s, p);
  g.OW = conv_out_size(g.W, k, s, p);
  return g;
}

#ifdef __AVX512F__
// The 2×2, stride-2 max pool of one plane (H, W) -> (OH, OW), with AVX-512: 16 outputs of a row
// at a time, their four inputs split into even and odd columns by one permute per input row
// (masked loads at the row's end). Same choices as the scalar loop below: within a row the
// right input wins only if greater, the lower row only if its maximum is greater, so ties keep
// the first maximum in scan order, and the index is the winner's within the plane.
void max_pool_2x2_avx512(const float* x, int64_t W, int64_t OH, int64_t OW, float* y, int32_t* arg) {
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lane2 = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i one = _mm512_set1_epi32(1);
  for (int64_t oy = 0; oy < OH; ++oy) {
    const float* r0 = x + 2 * oy * W;
    const float* r1 = r0 + W;
    for (int64_t ox = 0; ox < OW; ox += 16) {
      const int64_t n = std::min<int64_t>(16, OW - ox);  // outputs here; 2n inputs per row
      const __mmask16 km = static_cast<__mmask16>((1u << n) - 1);
      const __mmask16 klo = static_cast<__mmask16>(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1);
      const __mmask16 khi = static_cast<__mmask16>(n <= 8 ? 0 : (1u << (2 * n - 16)) - 1);
      const float* p0 = r0 + 2 * ox;
      const float* p1 = r1 + 2 * ox;
      const __m512 a0 = _mm512_maskz_loadu_ps(klo, p0), a1 = _mm512_maskz_loadu_ps(khi, p0 + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(klo, p1), b1 = _mm512_maskz_loadu_ps(khi, p1 + 16);
      const __m512 a = _mm512_permutex2var_ps(a0, even, a1), b = _mm512_permutex2var_ps(a0, odd, a1);
      const __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
      const __mmask16 right0 = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), right1 = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
      const __m512 m0 = _mm512_mask_blend_ps(right0, a, b), m1 = _mm512_mask_blend_ps(right1, c, d);
      const __mmask16 down = _mm512_cmp_ps_mask(m1, m0, _CMP_GT_OQ);
      const __m512i base = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(2 * oy * W + 2 * ox)), lane2);
      const __m512i i0 = _mm512_mask_add_epi32(base, right0, base, one);
      const __m512i base1 = _mm512_add_epi32(base, _mm512_set1_epi32(static_cast<int32_t>(W)));
      const __m512i i1 = _mm512_mask_add_epi32(base1, right1, base1, one);
      _mm512_mask_storeu_ps(y + oy * OW + ox, km, _mm512_mask_blend_ps(down, m0, m1));
      _mm512_mask_storeu_epi32(arg + oy * OW + ox, km, _mm512_mask_blend_epi32(down, i0, i1));
    }
  }
}
#endif

}  // namespace

// Forward keeps, for every output, the index (within its plane) of the input that won; the
// gradient flows back to that input only. Ties go to the first maximum in scan order.
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t pad) {
  const PoolGeo g = pool_geometry(x, kernel, stride, pad, "max_pool2d");
  const int64_t HW = g.H * g.W, OP = g.OH * g.OW;
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], g.OH, g.OW});
  auto arg = memory::alloc_array<int32_t>(static_cast<size_t>(g.planes * OP));  // (N, C, OH, OW)
  const float* xv = x.value().data();
  float* yv = out.data();
  int32_t* av = arg.get();
  const bool fast = g.k == 2 && g.s == 2 && g.p == 0;
  [[maybe_unused]] const bool avx512 = backend::conv_avx512();
  backend::parallel_for(g.planes, g.planes * (HW + 2 * OP), [&](int64_t pl0, int64_t pl1) {
  for (int64_t pl = pl0; pl < pl1; ++pl) {
    const float* xp = xv + pl * HW;
    float* yp = yv + pl * OP;
    int32_t* ap = av + pl * OP;
    if (fast) {  // 2×2 windows, stride 2: the common case, branch-free (selects, not jumps)
#ifdef __AVX512F__
      if (avx512) {
        max_pool_2x2_avx512(xp, g.W, g.OH, g.OW, yp, ap);
        continue;
      }
#endif
      for (int64_t oy = 0; oy < g.OH; ++oy) {
        const float* r0 = xp + 2 * oy * g.W;
        const float* r1 = r0 + g.W;
        const auto i0 = static_cast<int32_t>(2 * oy * g.W), i1 = static_cast<int32_t>((2 * oy + 1) * g.W);
        float* yr = yp + oy * g.OW;
        int32_t* ar = ap + oy * g.OW;
        for (int64_t ox = 0; ox < g.OW; ++ox) {
          const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
          // Ties keep the first in scan order. Index arithmetic instead of selects: random
          // data makes every comparison a coin flip, which a branch would mispredict.
          const int32_t right0 = b > a, right1 = d > c;
          const float m0 = std::max(a, b), m1 = std::max(c, d);
          const int32_t down = m1 > m0;
          yr[ox] = std::max(m0, m1);
          ar[ox] = i0 + right0 + down * (i1 - i0 + right1 - right0) + static_cast<int32_t>(2 * ox);
        }
      }
      continue;
    }
    for (int64_t oy = 0; oy < g.OH; ++oy) {
      const int64_t y0 = std::max<int64_t>(oy * g.s - g.p, 0), y1 = std::min(oy * g.s - g.p + g.k, g.H);
      for (int64_t ox = 0; ox < g.OW; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * g.s - g.p, 0), x1 = std::min(ox * g.s - g.p + g.k, g.W);
        float m = -std::numeric_limits<float>::infinity();
        int64_t best = y0 * g.W + x0;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix)
            if (xp[iy * g.W + ix] > m) m = xp[iy * g.W + ix], best = iy * g.W + ix;
        yp[oy * g.OW + ox] = m;
        ap[oy * g.OW + ox] = static_cast<int32_t>(best);
      }
    }
  }
  });
  return make_result(std::move(out), {x}, [g, arg, HW, OP](Node& nd) {
    Node& in = *nd.inputs[0];
    float* dx = grad_buffer(in).data();  // (N, C, H, W), += the routed gradients
    const float* dy = nd.grad.data();    // (N, C, OH, OW)
    const int32_t* av = arg.get();
    backend::parallel_for(g.planes, g.planes * 3 * OP, [&](int64_t pl0, int64_t pl1) {
      for (int64_t pl = pl0; pl < pl1; ++pl)
        for (int64_t q = 0; q < OP; ++q) dx[pl * HW + av[pl * OP + q]] += dy[pl * OP + q];
    });
  }, "max_pool2d");
}

// y = (1/k²) Σ_window x (padding counts as zeros); backward spreads dy/k² over the window.
Var avg_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t pad) {
  const PoolGeo g = pool_geometry(x, kernel, stride, pad, "avg_pool2d");
  const int64_t HW = g.H * g.W, OP = g.OH * g.OW;
  const float inv = 1.f / static_cast<float>(g.k * g.k);
  Tensor out = Tensor::empty({x.shape()[0], x.shape()[1], g.OH, g.OW});
  const float* xv = x.value().data();
  float* yv = out.data();
  backend::parallel_for(g.planes, g.planes * (HW + OP), [&](int64_t pl0, int64_t pl1) {
  for (int64_t pl = pl0; pl < pl1; ++pl) {
    const float* xp = xv + pl * HW;
    float* yp = yv + pl * OP;
    for (int64_t oy = 0; oy < g.OH; ++oy) {
      const int64_t y0 = std::max<int64_t>(oy * g.s - g.p, 0), y1 = std::min(oy * g.s - g.p + g.k, g.H);
      for (int64_t ox = 0; ox < g.OW; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * g.s - g.p, 0), x1 = std::min(ox * g.s - g.p + g.k, g.W);
        float s = 0.f;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) s += xp[iy * g.W + ix];
        yp[oy * g.OW + ox] = s * inv;
      }
    }
  }
  });
  return make_result(std::move(out), {x}, [g, HW, OP, inv](Node& nd) {
    Node& in = *nd.inputs[0];
    float* dx = grad_buffer(in).data();
    const float* dy = nd.grad.data();
    backend::parallel_for(g.planes, g.planes * (HW + OP), [&](int64_t pl0, int64_t pl1) {
    for (int64_t pl = pl0; pl < pl1; ++pl) {
      float* dxp = dx + pl * HW;
      const float* dyp = dy + pl * OP;
      for (int64_t oy = 0; oy < g.OH; ++oy) {
        const int64_t y0 = std::max<int64_t>(oy * g.s - g.p, 0), y1 = std::min(oy * g.s - g.p + g.k, g.H);
        for (int64_t ox = 0; ox < g.OW; ++ox) {
          const int64_t x0 = std::max<int64_t>(ox * g.s - g.p, 0), x1 = std::min(ox * g.s - g.p + g.k, g.W);
          const float v = dyp[oy * g.OW + ox] * inv;
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) dxp[iy * g.W + ix] += v;
        }
      }
    }
    });
  }, "avg_pool2d");
}

// y[n, c] = (1/HW) Σ x[n, c, :, :]; dx[n, c, :, :] = dy[n, c]/HW.
Var global_avg_pool2d(const Var& x) {
  if (x.value().ndim() != 4)
    throw ShapeError("global_avg_pool2d: input must be (N, C, H, W), got " + shape_str(x.shape()));
  const int64_t N = x.shape()[0], C = x.shape()[1], HW = x.shape()[2] * x.shape()[3];
  if (HW == 0) throw ShapeError("global_avg_pool2d: empty planes in " + shape_str(x.shape()));
  const float inv = 1.f / static_cast<float>(HW);
  Tensor out = Tensor::empty({N, C});
  const float* xv = x.value().data();
  for (int64_t pl = 0; pl < N * C; ++pl) {
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < HW; ++i) s += xv[pl * HW + i];
    out[pl] = s * inv;
  }
  return make_result(std::move(out), {x}, [N, C, HW, inv](Node& nd) {
    Node& in = *nd.inputs[0];
    float* dx = grad_buffer(in).data();
    const float* dy = nd.grad.data();
    for (int64_t pl = 0; pl < N * C; ++pl) {
      const float v = dy[pl] * inv;
      for (int64_t i = 0; i < HW; ++i) dx[pl * HW + i] += v;
    }
  }, "global_avg_pool2d");
}

}  // namespace bp::ops
