// CPU backend: the few elementwise kernels the compiler cannot vectorise by itself.
//
// std::sqrt must set errno for a negative argument (the library is built without
// -fno-math-errno, which changes the meaning of every maths call), so GCC keeps a scalar
// sqrt plus a branch in every loop that uses it: Adam's update ran at one element per
// ~10 cycles. The square root alone, done here with the vector instruction, lets the rest
// of such a loop vectorise normally. (256-bit vectors: AMD's Zen 4 splits a 512-bit square
// root in two anyway, and they are not the bottleneck once vectorised: memory is.)
#include <cmath>

#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "backprop/backend/backend.hpp"

namespace bp::backend {

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

}  // namespace bp::backend
