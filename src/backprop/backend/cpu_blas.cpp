// CPU backend: matrix products through OpenBLAS's CBLAS interface, and the thread settings.
//
// Threads. OpenBLAS comes in two builds (Debian: libopenblas0-pthread, libopenblas0-openmp).
// The pthread build keeps a thread pool of its own; the OpenMP build runs its threads in
// OpenMP's pool, the one our own `#pragma omp parallel` loops use. Two pools on two cores
// oversubscribe them: after a parallel region GOMP's threads spin-wait for the next one
// (GOMP_SPINCOUNT, milliseconds), taking the cores that OpenBLAS's threads need for the next
// GEMM, and the reverse. So our loops go parallel only where the BLAS shares OpenMP's pool
// (openblas_get_parallel() == 2), and stay serial with the pthread build, whose pool is then
// the only one. See docs/performance.md for the measurements behind the choice of build.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <thread>

#include "backprop/backend/backend.hpp"

namespace bp::backend {

namespace {

int g_threads = 0;  // 0: not set, OpenMP's default (one per core, or OMP_NUM_THREADS)

// Below this many multiply-adds a split GEMV is not worth waking a second thread (~1-2 µs).
constexpr int64_t kMinSplitGemv = 1 << 16;

// More than one thread set, the BLAS in OpenMP's pool, and not inside a parallel region.
bool threads_available() { return blas_shares_openmp_pool() && num_threads() > 1 && !omp_in_parallel(); }

// C (m, n) = alpha op(A) op(B) + beta C for m <= a few rows (batch-1 inference): OpenBLAS runs
// such products on one thread, reading every weight from one core's cache. Split the columns
// of C (the rows of Wᵀ: contiguous weight rows) between the threads, so each core streams
// its half of the weights from its own L2. Returns false if not worth it.
bool split_gemv(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m > 4 || n < 64 || m * n * k < kMinSplitGemv || !threads_available()) return false;
  const int threads = std::min<int64_t>(num_threads(), n / 32);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    // Column ranges in multiples of 16 floats (one cache line of C, whole vectors in the kernel).
    const int64_t chunk = ((n + nt - 1) / nt + 15) & ~int64_t{15};
    const int64_t j0 = std::min<int64_t>(n, t * chunk), j1 = std::min<int64_t>(n, j0 + chunk);
    if (j1 > j0)
      cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                  static_cast<blasint>(m), static_cast<blasint>(j1 - j0), static_cast<blasint>(k), alpha, a,
                  static_cast<blasint>(lda), trans_b ? b + j0 * ldb : b + j0, static_cast<blasint>(ldb), beta, c + j0,
                  static_cast<blasint>(ldc));
  }
  return true;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C untouched when k == 0 only if beta == 1; be explicit.
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
    return;
  }
  if (split_gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = trans_a ? a[p * lda + i] : a[i * lda + p];
        double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      float prev = beta == 0.f ? 0.f : beta * c[i * ldc + j];
      c[i * ldc + j] = static_cast<float>(alpha * acc) + prev;
    }
  }
}

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  g_threads = n;
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int num_threads() {
  if (g_threads == 0) return omp_get_max_threads();
  return g_threads;
}

bool blas_shares_openmp_pool() {
  static const bool shared = openblas_get_parallel() == 2;
  return shared;
}

bool parallel_worth(int64_t work) { return work >= kMinParallelWork && threads_available(); }

const char* blas_info() { return openblas_get_config(); }

}  // namespace bp::backend
