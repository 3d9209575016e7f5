// The one seam to the hardware. Everything that must be fast and device-specific goes
// through these few functions; ops/ call them and never a BLAS or a device API directly.
// A GPU backend implements this same interface (dispatching on Tensor::device()).
#pragma once

#include <cstdint>

namespace bp::backend {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) is X or X^T.
// op(A) is (m, k), op(B) is (k, n), C is (m, n); lda/ldb/ldc are row strides as stored.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The obviously-correct triple loop (double accumulation) that the fast gemm is tested against.
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc);

// y[i] = √x[i] for n floats (y may equal x), with the vector square-root instruction: a loop
// that calls std::sqrt cannot be vectorised by the compiler, as std::sqrt must set errno.
void vsqrt(const float* x, float* y, int64_t n);

// Number of threads used by both the BLAS and the OpenMP loops. Setting it sets both, so
// the two pools never together run more threads than asked for (they never run at once:
// a GEMM call returns before the next loop starts). 0 = one per core.
void set_num_threads(int n);
int num_threads();

// Name of the BLAS in use, for reports ("OpenBLAS 0.3.21 ...").
const char* blas_info();

}  // namespace bp::backend
