// The library's threads: the count (shared with the BLAS), the guard that changes it for a
// scope, the sleeping worker pool, and the one rule for when a loop is worth splitting.
// backend.hpp says why the pool sleeps rather than spins (OpenMP) and why jobs hold the
// BLAS at one thread.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "backprop/backend/backend.hpp"

namespace bp::backend {

namespace {

// 0 until the program sets a count: then OpenBLAS's own choice stands (its environment
// variables, or one thread per core).
std::atomic<int> g_threads{0};

void set_count(int n) {
  g_threads.store(n, std::memory_order_relaxed);
  openblas_set_num_threads(n);
}

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      ++gen_;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int nt, const std::function<void(int)>& body) {
    std::lock_guard<std::mutex> one_job(job_m_);  // one job at a time, whoever calls
    std::unique_lock<std::mutex> lk(m_);
    while (static_cast<int>(workers_.size()) < nt - 1) {
      const int id = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, id] { loop(id); });
    }
    // The bodies may call gemm: the BLAS stays at one thread until the last one returns.
    const int blas_threads = num_threads();
    if (blas_threads > 1) openblas_set_num_threads(1);
    body_ = &body;
    active_ = nt;
    pending_ = nt - 1;
    ++gen_;
    lk.unlock();
    wake_.notify_all();
    t_inside = true;
    body(0);
    t_inside = false;
    lk.lock();
    done_.wait(lk, [&] { return pending_ == 0; });
    body_ = nullptr;
    if (blas_threads > 1) openblas_set_num_threads(blas_threads);
  }

  static thread_local bool t_inside;

 private:
  void loop(int id) {
    t_inside = true;
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      wake_.wait(lk, [&] { return stop_ || gen_ != seen; });
      if (stop_) return;
      seen = gen_;
      if (id >= active_) continue;
      const std::function<void(int)>* body = body_;
      lk.unlock();
      (*body)(id);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex job_m_, m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* body_ = nullptr;
  int active_ = 0, pending_ = 0;
  uint64_t gen_ = 0;
  bool stop_ = false;
};
thread_local bool Pool::t_inside = false;

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  set_count(std::max(n, 1));
}

int num_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : std::max(openblas_get_num_threads(), 1);
}

// Saves the count in force (OpenBLAS's own choice if the program set none) and restores
// exactly that number.
ThreadCount::ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
ThreadCount::~ThreadCount() { set_count(saved_); }

bool in_pool_job() { return Pool::t_inside; }

bool parallel_worth(int64_t work) { return work >= kParallelWork && num_threads() > 1 && !Pool::t_inside; }

void run_threads(int nt, const std::function<void(int)>& body) {
  if (nt <= 1 || Pool::t_inside) {
    for (int t = 0; t < nt; ++t) body(t);
    return;
  }
  pool().run(nt, body);
}

void parallel_for(int64_t n, int64_t work, const std::function<void(int64_t, int64_t)>& f) {
  const int nt = parallel_worth(work) ? static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(n, 1))) : 1;
  if (nt <= 1) {
    f(0, n);
    return;
  }
  run_threads(nt, [&](int t) { f(n * t / nt, n * (t + 1) / nt); });
}

}  // namespace bp::backend
