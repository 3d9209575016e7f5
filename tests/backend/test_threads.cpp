// The library's threads (backend.hpp): one pool, one "is this worth a thread" rule, one count
// changed only through a scoped guard, and the BLAS at one thread inside a pool job.
#include <gtest/gtest.h>

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"

namespace {

namespace backend = bp::backend;

// Threads of this process (Linux); -1 elsewhere.
int os_threads() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++n;
  return ec || n == 0 ? -1 : n;
}

// The ranges parallel_for handed out, and the threads that ran them.
struct Ranges {
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::set<std::thread::id> threads;
  void add(int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lk(m);
    ranges.emplace_back(b, e);
    threads.insert(std::this_thread::get_id());
  }
};

TEST(ThreadCount, SetsForItsScopeAndRestores) {
  const int before = backend::num_threads();
  {
    backend::ThreadCount two(2);
    EXPECT_EQ(backend::num_threads(), 2);
    EXPECT_EQ(openblas_get_num_threads(), 2);  // the BLAS follows the backend's count
  }
  EXPECT_EQ(backend::num_threads(), before);
  EXPECT_EQ(openblas_get_num_threads(), before);
}

TEST(ThreadCount, Nests) {
  const int before = backend::num_threads();
  {
    backend::ThreadCount outer(2);
    {
      backend::ThreadCount inner(1);
      EXPECT_EQ(backend::num_threads(), 1);
      {
        backend::ThreadCount innermost(3);
        EXPECT_EQ(backend::num_threads(), 3);
      }
      EXPECT_EQ(backend::num_threads(), 1);
    }
    EXPECT_EQ(backend::num_threads(), 2);
  }
  EXPECT_EQ(backend::num_threads(), before);
}

TEST(ThreadCount, ZeroMeansOnePerCore) {
  backend::ThreadCount all(0);
  EXPECT_EQ(backend::num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ParallelRule, OneThreadNeverSplits) {
  backend::ThreadCount one(1);
  EXPECT_FALSE(backend::parallel_worth(int64_t{1} << 40));
  Ranges r;
  backend::parallel_for(1000, int64_t{1} << 40, [&](int64_t b, int64_t e) { r.add(b, e); });
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0], (std::pair<int64_t, int64_t>{0, 1000}));
}

TEST(ParallelRule, SerialBelowTheThreshold) {
  backend::ThreadCount two(2);
  EXPECT_FALSE(backend::parallel_worth(backend::kParallelWork - 1));
  Ranges r;
  backend::parallel_for(1000, backend::kParallelWork - 1, [&](int64_t b, int64_t e) { r.add(b, e); });
  ASSERT_EQ(r.ranges.size(), 1u);
  EXPECT_EQ(r.ranges[0], (std::pair<int64_t, int64_t>{0, 1000}));
  EXPECT_EQ(*r.threads.begin(), std::this_thread::get_id());
}

// Above the threshold the two ranges run at the same time on two threads: the range that
// starts at 0 waits until the other has started, which only another thread can do (a thread
// busy with range 0 cannot claim range 1). The pool lets the caller run every range itself
// when no worker comes in time, so without the wait both could run on the caller.
TEST(ParallelRule, ParallelAtTheThresholdOnTwoThreads) {
  backend::ThreadCount two(2);
  EXPECT_TRUE(backend::parallel_worth(backend::kParallelWork));
  Ranges r;
  std::atomic<bool> second_started{false}, timed_out{false};
  backend::parallel_for(1001, backend::kParallelWork, [&](int64_t b, int64_t e) {
    r.add(b, e);
    if (b != 0) {
      second_started = true;
      return;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!second_started) {
      if (std::chrono::steady_clock::now() > give_up) {
        timed_out = true;
        return;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timed_out) << "the second range never ran beside the first";
  ASSERT_EQ(r.ranges.size(), 2u);
  std::sort(r.ranges.begin(), r.ranges.end());
  EXPECT_EQ(r.ranges[0], (std::pair<int64_t, int64_t>{0, 500}));
  EXPECT_EQ(r.ranges[1], (std::pair<int64_t, int64_t>{500, 1001}));
  EXPECT_EQ(r.threads.size(), 2u);
}

// A worker that has not been scheduled yet delays nothing: whatever thread runs a task, every
// task runs exactly once, and run_threads returns only when all have.
TEST(ParallelRule, EveryTaskRunsOnce) {
  backend::ThreadCount three(3);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::atomic<int>> runs(3);
    backend::run_threads(3, [&](int t) { ++runs[t]; });
    for (int t = 0; t < 3; ++t) ASSERT_EQ(runs[t], 1) << "round " << round << " task " << t;
  }
}

TEST(ParallelRule, NoMoreRangesThanItems) {
  backend::ThreadCount four(4);
  Ranges r;
  backend::parallel_for(3, int64_t{1} << 30, [&](int64_t b, int64_t e) { r.add(b, e); });
  EXPECT_EQ(r.ranges.size(), 3u);
}

TEST(ParallelRule, SerialInsideAPoolJob) {
  backend::ThreadCount two(2);
  EXPECT_FALSE(backend::in_pool_job());
  std::atomic<int> nested_parallel{0}, not_inside{0}, nested_ranges{0};
  backend::run_threads(2, [&](int) {
    if (!backend::in_pool_job()) ++not_inside;
    if (backend::parallel_worth(int64_t{1} << 40)) ++nested_parallel;
    const auto self = std::this_thread::get_id();
    backend::parallel_for(100, int64_t{1} << 40, [&](int64_t b, int64_t e) {
      ++nested_ranges;
      EXPECT_EQ(std::this_thread::get_id(), self);  // ran on the job's own thread
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 100);
    });
  });
  EXPECT_EQ(not_inside, 0);
  EXPECT_EQ(nested_parallel, 0);
  EXPECT_EQ(nested_ranges, 2);  // one whole range per body, not split again
  EXPECT_FALSE(backend::in_pool_job());
}

// GEMMs inside a job run on the job's thread: the backend holds the BLAS at one thread for
// the job, restores it afterwards, and the process-wide count is never touched.
TEST(ParallelRule, BlasAtOneThreadInsideAJobOnly) {
  backend::ThreadCount two(2);
  std::atomic<int> blas_threads_seen{0}, count_seen{0};
  backend::run_threads(2, [&](int) {
    blas_threads_seen = std::max(blas_threads_seen.load(), openblas_get_num_threads());
    count_seen = backend::num_threads();
  });
  EXPECT_EQ(blas_threads_seen, 1);
  EXPECT_EQ(count_seen, 2);
  EXPECT_EQ(openblas_get_num_threads(), 2);
}

// One pool, never two: once the backend's pool and the BLAS's exist, nothing the library
// runs on two threads (optimizer steps, batch-1 products, convolution, pooling, batch norm)
// starts another thread (as OpenMP regions did, with libgomp's spinning pool).
TEST(Threads, OneSetOfThreadsForEverything) {
  if (os_threads() < 0) GTEST_SKIP() << "needs /proc/self/task";
  backend::ThreadCount two(2);
  // A GEMM big enough for OpenBLAS to use its threads, and a job for the pool: both exist now.
  const int n = 512;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  backend::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  backend::parallel_for(2, int64_t{1} << 30, [](int64_t, int64_t) {});
  const int with_pools = os_threads();

  bp::Var w(bp::Tensor({1000, 600}, 0.1f), true);
  bp::optim::Adam opt({w}, {1e-3f});
  w.grad().fill(0.01f);
  for (int i = 0; i < 3; ++i) opt.step();
  std::vector<float> y(600);
  for (int i = 0; i < 3; ++i)
    backend::gemm(false, true, 1, 600, 1000, 1.f, a.data(), 1000, w.value().data(), 1000, 0.f, y.data(), 600);
  bp::Var x(bp::Tensor({8, 3, 16, 16}, 0.5f), true), k(bp::Tensor({6, 3, 5, 5}, 0.1f), true), kb(bp::Tensor({6}, 0.f), true);
  bp::Var h = bp::ops::conv2d_relu(x, k, kb, bp::ops::conv_params(1, 2));
  h = bp::ops::max_pool2d(h, 2, 2);
  h = bp::ops::batch_norm(h, bp::Var(), bp::Var(), nullptr, nullptr, true);
  bp::ops::sum(h).backward();
  backend::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  EXPECT_EQ(os_threads(), with_pools);
}

}  // namespace
