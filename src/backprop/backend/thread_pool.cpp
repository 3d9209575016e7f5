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

// The pool hands out a job's tasks t = 0..nt−1 to whoever asks first: the calling thread and
// the workers claim them one at a time, so a worker that the machine has not scheduled yet
// (the other core busy with another process) delays nothing: the caller runs its tasks too.
// The caller waits only for tasks another thread has claimed. Which thread runs task t does
// not change what task t computes, so results stay the same.
//
// A claim is one compare-and-swap on (job number, next task): a worker still holding an old
// job's number cannot claim a task of the next job, and a job's body outlives every claim of it.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int nt, const std::function<void(int)>& body) {
    std::lock_guard<std::mutex> one_job(job_m_);  // one job at a time, whoever calls
    // The bodies may call gemm: the BLAS stays at one thread until the last task returns.
    const int blas_threads = num_threads();
    if (blas_threads > 1) openblas_set_num_threads(1);
    uint32_t job;
    {
      std::lock_guard<std::mutex> lk(m_);
      while (static_cast<int>(workers_.size()) < nt - 1) workers_.emplace_back([this] { loop(); });
      job = ++job_;
      body_ = &body;
      done_tasks_.store(0, std::memory_order_relaxed);
      next_.store(uint64_t{job} << 32 | uint64_t(nt) << 16, std::memory_order_release);
    }
    wake_.notify_all();
    t_inside = true;
    const int mine = work(job, &body);
    t_inside = false;
    if (mine < nt) {  // wait for the tasks the workers claimed
      std::unique_lock<std::mutex> lk(m_);
      done_.wait(lk, [&] { return done_tasks_.load(std::memory_order_acquire) == nt; });
    }
    if (blas_threads > 1) openblas_set_num_threads(blas_threads);
  }

  static thread_local bool t_inside;

 private:
  // Claims and runs tasks of job `job` until none is left; returns how many this thread ran.
  int work(uint32_t job, const std::function<void(int)>* body) {
    int ran = 0;
    for (;;) {
      uint64_t v = next_.load(std::memory_order_acquire);
      int t, nt;
      do {
        t = static_cast<int>(v & 0xffff);
        nt = static_cast<int>((v >> 16) & 0xffff);
        if ((v >> 32) != job || t >= nt) return ran;
      } while (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel));
      (*body)(t);  // the claim succeeded: job `job`, and so *body, is alive until it returns
      ++ran;
      if (done_tasks_.fetch_add(1, std::memory_order_acq_rel) + 1 == nt && t_worker) {
        std::lock_guard<std::mutex> lk(m_);  // the caller may be waiting
        done_.notify_one();
      }
    }
  }

  void loop() {
    t_inside = true;
    t_worker = true;
    uint32_t seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      wake_.wait(lk, [&] { return stop_ || job_ != seen; });
      if (stop_) return;
      seen = job_;
      const std::function<void(int)>* body = body_;
      lk.unlock();
      work(seen, body);
      lk.lock();
    }
  }

  std::mutex job_m_, m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* body_ = nullptr;
  uint32_t job_ = 0;
  std::atomic<uint64_t> next_{0};  // job << 32 | tasks << 16 | next unclaimed task
  std::atomic<int> done_tasks_{0};
  bool stop_ = false;
  static thread_local bool t_worker;
};
thread_local bool Pool::t_worker = false;
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
  nt = std::min(nt, 0xffff);
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
