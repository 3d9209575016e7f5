// One thread pool, never two: whichever OpenBLAS build is linked, the library's own parallel
// loops must not start a second pool beside the BLAS's (two pools spin-wait against each other
// on the same cores; see backend/cpu_blas.cpp and docs/performance.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/optim/optim.hpp"

namespace {

// Threads of this process (Linux); -1 elsewhere.
int os_threads() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return ec || n == 0 ? -1 : n;
}

TEST(Threads, OptimizerAndBatchOneAddNoPoolBesideTheBlas) {
  if (os_threads() < 0) GTEST_SKIP() << "needs /proc/self/task";
  const int before = bp::backend::num_threads();
  bp::backend::set_num_threads(2);
  // A GEMM big enough for OpenBLAS to use its threads: its pool now exists.
  const int n = 512;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  bp::backend::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  const int with_blas_pool = os_threads();
  // Large optimizer steps and batch-1 products: the loops that may go parallel.
  bp::Var w(bp::Tensor({1000, 600}, 0.1f), true);
  bp::optim::Adam opt({w}, {1e-3f});
  w.grad().fill(0.01f);
  for (int i = 0; i < 3; ++i) opt.step();
  std::vector<float> y(600);
  for (int i = 0; i < 3; ++i)
    bp::backend::gemm(false, true, 1, 600, 1000, 1.f, a.data(), 1000, w.value().data(), 1000, 0.f, y.data(), 600);
  bp::backend::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  EXPECT_EQ(os_threads(), with_blas_pool) << "blas shares OpenMP's pool: " << bp::backend::blas_shares_openmp_pool();
  bp::backend::set_num_threads(before);
}

}  // namespace
