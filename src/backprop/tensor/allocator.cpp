#include "backprop/tensor/allocator.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__)
#define BP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BP_ASAN 1
#endif
#endif
#ifdef BP_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace bp::memory {

namespace {

constexpr size_t kAlign = 64;
// Requests above this are refused (std::bad_alloc) before any rounding can overflow.
constexpr size_t kMaxBytes = size_t{1} << 60;
// Index of a class: 0..3 for 64..256 bytes, then four per power of two (see class_of).
constexpr int kClasses = 4 + 4 * 60;

struct Class {
  int index;
  size_t bytes;
};

// 64..256 bytes: multiples of 64. Above, for 2^k < b <= 2^(k+1): multiples of 2^(k-2), i.e.
// 2^k·{5,6,7,8}/4.
Class class_of(size_t bytes) {
  size_t b = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  if (b <= 4 * kAlign) return {static_cast<int>(b / kAlign) - 1, b};
  const int k = std::bit_width(b - 1) - 1;  // 2^k < b <= 2^(k+1), k >= 8
  const size_t step = size_t{1} << (k - 2);
  const size_t m = (b + step - 1) / step;  // 5..8
  return {4 + 4 * (k - 8) + static_cast<int>(m - 5), m * step};
}

void poison(void* p, size_t n) {
#ifdef BP_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}
void unpoison(void* p, size_t n) {
#ifdef BP_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

struct State;
State& state();

struct State {
  std::mutex mu;
  bool caching = true;
  std::array<std::vector<void*>, kClasses> free_lists;
  int64_t live = 0, peak = 0, high_water = 0, cached = 0;
  int64_t limit = int64_t{1} << 30;
  int64_t hits = 0, misses = 0, evictions = 0;

  State() {
    const char* off = std::getenv("BACKPROP_NO_CACHING_ALLOCATOR");
    caching = !(off && *off && std::strcmp(off, "0") != 0);
    // A fork while another thread holds the lock would leave the child's copy locked forever
    // (Python's multiprocessing forks the bindings' process): hold it across the fork.
    pthread_atfork([] { state().mu.lock(); }, [] { state().mu.unlock(); }, [] { state().mu.unlock(); });
  }

  // Evicts cached blocks until cached <= target: the smallest block that is enough on its own,
  // else the largest, and again. Under mu.
  void evict_to(int64_t target) {
    while (cached > target) {
      const int64_t excess = cached - target;
      int pick = -1;
      for (int i = 0; i < kClasses && pick < 0; ++i)
        if (!free_lists[i].empty() && static_cast<int64_t>(class_bytes_of_index(i)) >= excess) pick = i;
      for (int i = kClasses - 1; i >= 0 && pick < 0; --i)
        if (!free_lists[i].empty()) pick = i;
      const size_t bytes = class_bytes_of_index(pick);
      void* p = free_lists[pick].back();
      free_lists[pick].pop_back();
      unpoison(p, bytes);
      std::free(p);
      cached -= static_cast<int64_t>(bytes);
      ++evictions;
    }
  }

  static size_t class_bytes_of_index(int i) {
    if (i < 4) return static_cast<size_t>(i + 1) * kAlign;
    const int k = 8 + (i - 4) / 4;
    const size_t m = static_cast<size_t>(5 + (i - 4) % 4);
    return m * (size_t{1} << (k - 2));
  }

  void note_live(int64_t bytes) {
    live += bytes;
    peak = std::max(peak, live);
    high_water = std::max(high_water, live);
  }
};

// Never destroyed: tensors with static storage duration may free their blocks after main.
State& state() {
  static State* s = new State();
  return *s;
}

void* system_alloc(size_t bytes) { return std::aligned_alloc(kAlign, bytes); }

}  // namespace

size_t class_bytes(size_t bytes) { return class_of(bytes).bytes; }

void* allocate(size_t bytes) {
  if (bytes > kMaxBytes) throw std::bad_alloc();
  State& s = state();
  if (!s.caching) {
    const size_t b = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    void* p = system_alloc(b);
    if (!p) throw std::bad_alloc();
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.misses;
    s.note_live(static_cast<int64_t>(b));
    return p;
  }
  const Class c = class_of(bytes);
  const auto cb = static_cast<int64_t>(c.bytes);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto& list = s.free_lists[c.index];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      s.cached -= cb;
      ++s.hits;
      s.note_live(cb);
      unpoison(p, c.bytes);
      return p;
    }
    // A miss: keep live + cached within the highest live count, counting this block.
    const int64_t after = s.live + cb;
    s.evict_to(std::max(s.high_water, after) - after);
    ++s.misses;
    s.note_live(cb);
  }
  void* p = system_alloc(c.bytes);
  if (!p) {
    release_cache();
    p = system_alloc(c.bytes);
  }
  if (!p) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.live -= cb;
    throw std::bad_alloc();
  }
  return p;
}

void deallocate(void* p, size_t bytes) noexcept {
  if (!p) return;
  State& s = state();
  if (!s.caching) {
    const size_t b = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    std::free(p);
    std::lock_guard<std::mutex> lock(s.mu);
    s.live -= static_cast<int64_t>(b);
    return;
  }
  const Class c = class_of(bytes);
  const auto cb = static_cast<int64_t>(c.bytes);
  std::unique_lock<std::mutex> lock(s.mu);
  s.live -= cb;
  if (s.cached + cb > s.limit) {
    ++s.evictions;
    lock.unlock();
    std::free(p);
    return;
  }
  // push_back may allocate (a list's first growth); if that fails, the block goes to the system.
  try {
    s.free_lists[c.index].push_back(p);
  } catch (...) {
    lock.unlock();
    std::free(p);
    return;
  }
  s.cached += cb;
  poison(p, c.bytes);
}

Stats stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  Stats out;
  out.live_bytes = s.live;
  out.peak_live_bytes = s.peak;
  out.cached_bytes = s.cached;
  out.cache_limit_bytes = s.limit;
  out.hits = s.hits;
  out.misses = s.misses;
  out.evictions = s.evictions;
  out.caching = s.caching;
  return out;
}

void reset_peak() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.peak = s.live;
  s.hits = s.misses = s.evictions = 0;
}

void release_cache() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  const int64_t evicted = s.evictions;
  s.evict_to(0);
  s.evictions = evicted;  // a release asked for is not an eviction forced by a bound
  s.high_water = s.live;
}

void set_cache_limit(int64_t bytes) {
  if (bytes < 0) throw std::invalid_argument("memory::set_cache_limit: negative limit");
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.limit = bytes;
  s.evict_to(bytes);
}

}  // namespace bp::memory
