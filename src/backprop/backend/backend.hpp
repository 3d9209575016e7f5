// The one seam to the hardware. Everything that must be fast and device-specific goes
// through these few functions; ops/ call them and never a BLAS or a device API directly.
// A GPU backend implements this same interface (dispatching on Tensor::device()).
#pragma once

#include <cstdint>
#include <functional>

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

// Number of threads for the BLAS and for our OpenMP loops; setting it sets both
// (openblas_set_num_threads and omp_set_num_threads). 0 = one per core.
void set_num_threads(int n);
int num_threads();

// True if the BLAS runs its threads in OpenMP's pool (OpenBLAS's OpenMP build), so that our
// own OpenMP loops can use the same threads. With a BLAS that keeps a pool of its own, our
// loops stay serial: two pools spin-waiting for work on the same cores slow each other down.
bool blas_shares_openmp_pool();

// Elementwise work (in floats touched) below which a loop stays on one thread: a fork/join
// costs a few µs, a streaming loop over 64K floats 10-20 µs, so smaller loops gain little.
constexpr int64_t kMinParallelWork = 1 << 16;
// Should a loop over `work` floats be split across threads? Only if more than one thread is
// set, the BLAS shares OpenMP's pool, we are not inside a parallel region already, and the
// work is at least kMinParallelWork. Use as `#pragma omp parallel for if(parallel_worth(n))`.
bool parallel_worth(int64_t work);

// Name of the BLAS in use, for reports ("OpenBLAS 0.3.21 ...").
const char* blas_info();

// A worker pool whose threads sleep between jobs (thread_pool.cpp). run_threads runs body(t)
// for t = 0..nt−1, t = 0 on the calling thread; body must not throw; a call from inside a
// body runs serially. parallel_for splits [0, n) into one contiguous range per backend
// thread and runs f(begin, end) on each, serially when `work` (values touched) is below a
// fork/join's worth. Callers that run GEMMs inside must set the BLAS to one thread meanwhile.
void run_threads(int nt, const std::function<void(int)>& body);
void parallel_for(int64_t n, int64_t work, const std::function<void(int64_t, int64_t)>& f);

}  // namespace bp::backend
