// A pool of worker threads that sleep (block) between jobs, for the loops that split work
// across threads (convolution, pooling and normalisation over the batch). Why not OpenMP:
// libgomp's idle threads busy-wait, and on a shared two-core machine they starve the BLAS's
// own threads and everyone else's (LeNet training at 2 threads fell below its 1-thread speed).
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "backprop/backend/backend.hpp"

namespace bp::backend {

namespace {
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

// Below this many values touched, a fork/join costs more than it saves.
constexpr int64_t kParallelWork = 1 << 15;
}  // namespace

void run_threads(int nt, const std::function<void(int)>& body) {
  if (nt <= 1 || Pool::t_inside) {
    for (int t = 0; t < nt; ++t) body(t);
    return;
  }
  pool().run(nt, body);
}

void parallel_for(int64_t n, int64_t work, const std::function<void(int64_t, int64_t)>& f) {
  const int nt = static_cast<int>(std::clamp<int64_t>(backend::num_threads(), 1, std::max<int64_t>(n, 1)));
  if (nt <= 1 || work < kParallelWork) {
    f(0, n);
    return;
  }
  run_threads(nt, [&](int t) { f(n * t / nt, n * (t + 1) / nt); });
}

}  // namespace bp::backend
