// CPU backend: the few elementwise kernels the compiler cannot vectorise by itself.
//
// std::sqrt must set errno for a negative argument (the library is built without
// -fno-math-errno, which changes the meaning of every maths call), so GCC keeps a scalar
// sqrt plus a branch in every loop that uses it: Adam's update ran at one element per
// ~10 cycles. The square root alone, done here with the vector instruction, lets the rest
// of such a loop vectorise normally. (256-bit vectors: AMD's Zen 4 splits a 512-bit square
// root in two anyway, and they are not the bottleneck once vectorised: memory is.)
//
// exp, the logistic function and tanh are the same story (libm's calls are scalar and the
// stable sigmoid has a branch), and the recurrent layers' gate kernels are all of them.
// Here they are written branch-free from float arithmetic, integer bit operations and
// selects only, so that the loops below vectorise at whatever width the target has:
//   exp(x):  x = n·ln2 + r with n = round(x/ln2), |r| ≤ ln2/2 (Cody–Waite: ln2 split in a
//            float head and tail, both subtracted with an FMA); e^r by its Taylor polynomial
//            of degree 7 (truncation < 5e-9 relative on that interval); times 2^n built in
//            the exponent bits, as 2^⌊n/2⌋·2^(n−⌊n/2⌋) so that results that are subnormal
//            (x < −87.3) or infinite (x > 88.72) come out of ordinary rounding. x is first
//            clamped to [−104, 89], past which the result is 0 or ∞ anyway; NaN passes both
//            comparisons untouched and stays NaN through the arithmetic.
//   σ(x):    e = exp(−|x|) ∈ (0, 1], σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0: neither
//            form overflows, and the second keeps full relative accuracy where σ is tiny.
//   tanh(x): for |x| < 0.55 the odd Taylor series to x¹⁷ (truncation < 1e-8 relative), since
//            1 − 2/(e^{2|x|} + 1) cancels badly near 0; beyond, that formula (tanh ≥ 0.5
//            there, so the cancellation costs at most an ulp), which gives exactly 1 once
//            e^{2|x|} overflows; the sign copied back from x (tanh(−0) = −0).
// Accuracy (tests/backend/test_vec.cpp sweeps every float in a dense grid against the double
// libm result): a few ulp at most, over the whole range.
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "backprop/backend/backend.hpp"

namespace bp::backend {

namespace {

inline float exp_one(float x) {
  const float magic = 12582912.f;  // 1.5·2²³: adding it rounds to an integer held in the low bits
  x = x < -104.f ? -104.f : x;
  x = x > 89.f ? 89.f : x;
  const float k = std::fma(x, 1.44269504088896341f, magic);
  const float n = k - magic;
  const int32_t ni = std::bit_cast<int32_t>(k) - std::bit_cast<int32_t>(magic);
  float r = std::fma(n, -0.693145751953125f, x);  // ln2 = 0.693145751953125 + 1.42860682e-6
  r = std::fma(n, -1.42860682030941723e-6f, r);
  float p = 1.f / 5040;
  p = std::fma(p, r, 1.f / 720);
  p = std::fma(p, r, 1.f / 120);
  p = std::fma(p, r, 1.f / 24);
  p = std::fma(p, r, 1.f / 6);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.f);
  p = std::fma(p, r, 1.f);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const float s1 = std::bit_cast<float>((n1 + 127) << 23), s2 = std::bit_cast<float>((n2 + 127) << 23);
  return p * s1 * s2;
}

inline float abs_bits(float x) { return std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu); }

inline float sigmoid_one(float x) {
  const float e = exp_one(-abs_bits(x));
  const float s = 1.f / (1.f + e);
  return x >= 0.f ? s : e * s;
}

inline float tanh_one(float x) {
  const float a = abs_bits(x);
  const float a2 = a * a;
  // tanh a = a + a³·P(a²), the Taylor coefficients 2^{2k}(2^{2k}−1)B_{2k}/(2k)!
  float p = 5.90027440945586e-4f;
  p = std::fma(p, a2, -1.45583438705131827e-3f);
  p = std::fma(p, a2, 3.59212803657248102e-3f);
  p = std::fma(p, a2, -8.86323552990219656e-3f);
  p = std::fma(p, a2, 2.18694885361552028e-2f);
  p = std::fma(p, a2, -5.39682539682539683e-2f);
  p = std::fma(p, a2, 1.33333333333333333e-1f);
  p = std::fma(p, a2, -3.33333333333333333e-1f);
  const float small = std::fma(p * a2, a, a);
  const float big = 1.f - 2.f / (exp_one(2.f * a) + 1.f);
  const float t = a < 0.55f ? small : big;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(t) | (std::bit_cast<uint32_t>(x) & 0x80000000u));
}

}  // namespace

void vsqrt(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = std::sqrt(x[i]);
}

void vexp(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = exp_one(x[i]);
}

void vsigmoid(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_one(x[i]);
}

void vtanh(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_one(x[i]);
}

namespace {
#if defined(__AVX2__) && defined(__FMA__)
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#endif
}  // namespace

void gemv_rows(int64_t n, int64_t k, float alpha, const float* a, const float* b, int64_t ldb, float beta, float* c) {
  // Four rows of b at a time share each load of a, and their four accumulators are
  // independent chains of FMAs; the loop streams b once, which is what bounds it.
  auto finish = [&](int64_t j, float s) { c[j] = alpha * s + (beta == 0.f ? 0.f : beta * c[j]); };
  int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
  for (; j + 4 <= n; j += 4) {
    const float* w = b + j * ldb;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256 av = _mm256_loadu_ps(a + p);
      s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + p), s0);
      s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + ldb + p), s1);
      s2 = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + 2 * ldb + p), s2);
      s3 = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + 3 * ldb + p), s3);
    }
    float r[4] = {hsum(s0), hsum(s1), hsum(s2), hsum(s3)};
    for (int q = 0; q < 4; ++q) {
      for (int64_t pp = p; pp < k; ++pp) r[q] += a[pp] * w[q * ldb + pp];
      finish(j + q, r[q]);
    }
  }
#endif
  for (; j < n; ++j) {
    const float* w = b + j * ldb;
    float s = 0.f;
    for (int64_t p = 0; p < k; ++p) s += a[p] * w[p];
    finish(j, s);
  }
}

}  // namespace bp::backend
