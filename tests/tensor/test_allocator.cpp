// The caching allocator behind tensor storage (tensor/allocator.hpp). Its state is the
// process's: each test starts from an empty cache (release_cache) and checks differences of
// the counters, so tensors that other tests left alive do not matter.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/tensor/allocator.hpp"
#include "backprop/tensor/tensor.hpp"

namespace memory = bp::memory;

namespace {

bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

// Skips the test when BACKPROP_NO_CACHING_ALLOCATOR is set for the whole run.
#define REQUIRE_CACHING()                                                    \
  if (!memory::stats().caching) GTEST_SKIP() << "caching is off (BACKPROP_NO_CACHING_ALLOCATOR)"

// Restores the cache limit a test changed.
struct LimitGuard {
  int64_t saved = memory::stats().cache_limit_bytes;
  ~LimitGuard() { memory::set_cache_limit(saved); }
};

}  // namespace

TEST(Allocator, SizeClassesAreFourPerPowerOfTwo) {
  EXPECT_EQ(memory::class_bytes(0), 64u);
  EXPECT_EQ(memory::class_bytes(1), 64u);
  EXPECT_EQ(memory::class_bytes(64), 64u);
  EXPECT_EQ(memory::class_bytes(65), 128u);
  EXPECT_EQ(memory::class_bytes(256), 256u);
  EXPECT_EQ(memory::class_bytes(257), 320u);
  EXPECT_EQ(memory::class_bytes(513), 640u);
  EXPECT_EQ(memory::class_bytes(1000), 1024u);
  EXPECT_EQ(memory::class_bytes(1025), 1280u);
  EXPECT_EQ(memory::class_bytes(size_t{1} << 20), size_t{1} << 20);
  EXPECT_EQ(memory::class_bytes((size_t{1} << 20) + 1), 5 * (size_t{1} << 18));
  // Never more than 25 % above the request (past the 64-byte rounding), always a multiple of 64.
  for (size_t b = 1; b < (size_t{1} << 24); b = b * 9 / 8 + 1) {
    const size_t c = memory::class_bytes(b);
    EXPECT_GE(c, b);
    EXPECT_EQ(c % 64, 0u);
    if (b > 256) EXPECT_LE(c, b + b / 4) << b;
  }
}

TEST(Allocator, BlocksAre64ByteAligned) {
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t b : {size_t{1}, size_t{3}, size_t{100}, size_t{4096}, size_t{70000}, size_t{3} << 20}) {
    void* p = memory::allocate(b);
    EXPECT_TRUE(aligned64(p)) << b;
    blocks.emplace_back(p, b);
  }
  for (auto [p, b] : blocks) memory::deallocate(p, b);
  for (int64_t n : {1, 7, 1000, 123457}) EXPECT_TRUE(aligned64(bp::Tensor({n}).data())) << n;
}

// A freed block of a class comes back for the next request of that class, even of another size.
TEST(Allocator, FreedBlockIsReused) {
  REQUIRE_CACHING();
  memory::release_cache();
  void* p = memory::allocate(1000);
  memory::deallocate(p, 1000);
  void* q = memory::allocate(900);  // 900 and 1000 both round to the 1024-byte class
  EXPECT_EQ(q, p);
  memory::deallocate(q, 900);
  void* r = memory::allocate(1100);  // the 1280-byte class: a new block
  EXPECT_NE(r, p);
  memory::deallocate(r, 1100);

  float* data = nullptr;
  {
    bp::Tensor t({128, 6, 28, 28});
    data = t.data();
  }
  bp::Tensor again = bp::Tensor::empty({128, 6, 28, 28});
  EXPECT_EQ(again.data(), data);
}

TEST(Allocator, StatisticsOfAKnownSequence) {
  REQUIRE_CACHING();
  memory::release_cache();
  memory::reset_peak();
  const memory::Stats s0 = memory::stats();
  EXPECT_EQ(s0.cached_bytes, 0);
  EXPECT_EQ(s0.hits, 0);
  EXPECT_EQ(s0.misses, 0);
  EXPECT_EQ(s0.peak_live_bytes, s0.live_bytes);

  void* a = memory::allocate(1000);  // 1024 bytes: miss
  void* b = memory::allocate(3000);  // 3072 bytes: miss
  memory::Stats s = memory::stats();
  EXPECT_EQ(s.live_bytes - s0.live_bytes, 1024 + 3072);
  EXPECT_EQ(s.peak_live_bytes - s0.live_bytes, 1024 + 3072);
  EXPECT_EQ(s.misses, 2);
  EXPECT_EQ(s.hits, 0);

  memory::deallocate(b, 3000);
  memory::deallocate(a, 1000);
  s = memory::stats();
  EXPECT_EQ(s.live_bytes, s0.live_bytes);
  EXPECT_EQ(s.cached_bytes, 1024 + 3072);
  EXPECT_EQ(s.peak_live_bytes - s0.live_bytes, 1024 + 3072);

  void* c = memory::allocate(2900);  // the 3072 class again: a hit
  s = memory::stats();
  EXPECT_EQ(c, b);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 2);
  EXPECT_EQ(s.cached_bytes, 1024);
  EXPECT_EQ(s.live_bytes - s0.live_bytes, 3072);

  memory::reset_peak();  // the peak restarts from what is live now
  s = memory::stats();
  EXPECT_EQ(s.peak_live_bytes - s0.live_bytes, 3072);
  EXPECT_EQ(s.hits + s.misses, 0);
  memory::deallocate(c, 2900);
  s = memory::stats();
  EXPECT_EQ(s.peak_live_bytes - s0.live_bytes, 3072);
  EXPECT_EQ(s.cached_bytes, 1024 + 3072);
  EXPECT_EQ(s.evictions, 0);
}

TEST(Allocator, CachedBytesStayWithinTheLimit) {
  REQUIRE_CACHING();
  LimitGuard guard;
  memory::release_cache();
  memory::set_cache_limit(4096);
  void* p[3];
  for (auto& q : p) q = memory::allocate(2048);
  const memory::Stats s0 = memory::stats();
  for (auto* q : p) memory::deallocate(q, 2048);
  memory::Stats s = memory::stats();
  EXPECT_EQ(s.cached_bytes, 4096);  // two blocks kept, the third given back
  EXPECT_EQ(s.evictions - s0.evictions, 1);
  memory::set_cache_limit(2048);  // lowering the limit evicts at once
  s = memory::stats();
  EXPECT_EQ(s.cached_bytes, 2048);
  EXPECT_EQ(s.evictions - s0.evictions, 2);
  EXPECT_THROW(memory::set_cache_limit(-1), std::invalid_argument);
}

// A miss never makes live + cached bytes exceed the most bytes ever live at once: cached blocks
// make room, the smallest one that is enough.
TEST(Allocator, FootprintStaysWithinThePeakOfLiveBytes) {
  REQUIRE_CACHING();
  memory::release_cache();
  const memory::Stats s0 = memory::stats();
  constexpr size_t kMiB = size_t{1} << 20;
  void* a = memory::allocate(kMiB);
  void* b = memory::allocate(kMiB / 2);
  memory::deallocate(a, kMiB);
  memory::deallocate(b, kMiB / 2);
  EXPECT_EQ(memory::stats().cached_bytes, 3 * kMiB / 2);
  void* c = memory::allocate(kMiB / 4);  // another class: 1/4 MiB must go, the 1/2 MiB block goes
  memory::Stats s = memory::stats();
  EXPECT_EQ(s.cached_bytes, kMiB);
  EXPECT_EQ(s.evictions - s0.evictions, 1);
  EXPECT_EQ(s.live_bytes - s0.live_bytes, kMiB / 4);
  void* d = memory::allocate(3 * kMiB / 2);  // beyond the peak: the cache is emptied first
  s = memory::stats();
  EXPECT_EQ(s.cached_bytes, 0);
  EXPECT_EQ(s.evictions - s0.evictions, 2);
  memory::deallocate(c, kMiB / 4);
  memory::deallocate(d, 3 * kMiB / 2);
}

TEST(Allocator, ReleaseCacheReturnsEverything) {
  REQUIRE_CACHING();
  memory::release_cache();
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t b = 64; b < (size_t{1} << 22); b *= 3) blocks.emplace_back(memory::allocate(b), b);
  for (auto [p, b] : blocks) memory::deallocate(p, b);
  memory::Stats s = memory::stats();
  EXPECT_GT(s.cached_bytes, 4 << 20);
  const int64_t live = s.live_bytes;
  memory::release_cache();
  s = memory::stats();
  EXPECT_EQ(s.cached_bytes, 0);
  EXPECT_EQ(s.live_bytes, live);
  const int64_t misses = s.misses;
  memory::deallocate(memory::allocate(64), 64);
  EXPECT_EQ(memory::stats().misses, misses + 1);  // nothing was left to hit
}

// Flat parameter buffers hand out views of one allocation: the block returns to the cache only
// when the last view goes.
TEST(Allocator, ViewsKeepTheirBlockAlive) {
  REQUIRE_CACHING();
  memory::release_cache();
  bp::Tensor view;
  {
    std::shared_ptr<float[]> owner = bp::alloc_floats(1000);
    view = bp::Tensor::view(owner, owner.get() + 10, {5});
  }
  EXPECT_EQ(memory::stats().cached_bytes, 0);
  view.fill(2.f);
  view = bp::Tensor();
  EXPECT_EQ(memory::stats().cached_bytes, 4096);  // 4000 bytes: the 4096-byte class
}

// Tensors are allocated and freed on the pool's threads (and on threads of the program's own):
// concurrent use keeps every block private to its holder and the counters exact.
TEST(Allocator, ConcurrentAllocationIsSafe) {
  const memory::Stats s0 = memory::stats();
  constexpr int kTasks = 4, kRounds = 2000;
  std::atomic<int> corrupt{0};
  auto body = [&](int t) {
    std::vector<bp::Tensor> held;
    uint32_t x = 12345u + static_cast<uint32_t>(t);
    for (int i = 0; i < kRounds; ++i) {
      x = x * 1664525u + 1013904223u;
      const int64_t n = 1 + static_cast<int64_t>(x >> 20) % 5000;
      bp::Tensor a = bp::Tensor::empty({n});
      a.fill(static_cast<float>(t));
      held.push_back(std::move(a));
      if (held.size() > 8) {
        const bp::Tensor& old = held.front();
        for (int64_t j = 0; j < old.numel(); j += 97)
          if (old[j] != static_cast<float>(t)) corrupt.fetch_add(1);
        held.erase(held.begin());
      }
    }
  };
  {
    bp::backend::ThreadCount threads(kTasks);
    bp::backend::run_threads(kTasks, body);
  }
  std::vector<std::thread> own;
  for (int t = 0; t < kTasks; ++t) own.emplace_back(body, kTasks + t);
  for (auto& th : own) th.join();
  EXPECT_EQ(corrupt.load(), 0);
  const memory::Stats s = memory::stats();
  EXPECT_EQ(s.live_bytes, s0.live_bytes);
  EXPECT_EQ((s.hits - s0.hits) + (s.misses - s0.misses), int64_t{2} * kTasks * kRounds);
}

// BACKPROP_NO_CACHING_ALLOCATOR=1, read at the first allocation, turns the cache off: checked in
// a fresh process (the death test re-runs this binary with the variable set).
TEST(Allocator, EnvironmentTurnsCachingOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ASSERT_EQ(setenv("BACKPROP_NO_CACHING_ALLOCATOR", "1", 1), 0);
  EXPECT_EXIT(
      {
        void* p = memory::allocate(1000);
        memory::deallocate(p, 1000);
        const memory::Stats s = memory::stats();
        std::exit(!s.caching && s.cached_bytes == 0 && s.hits == 0 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
  unsetenv("BACKPROP_NO_CACHING_ALLOCATOR");
}

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer the blocks the cache holds are poisoned: a use after free is reported.
TEST(Allocator, CachedBlocksArePoisonedUnderAsan) {
  REQUIRE_CACHING();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile float*>(memory::allocate(4096));
        memory::deallocate(const_cast<float*>(p), 4096);
        p[3] = 1.f;
      },
      "use-after-poison");
}
#endif

// An op's side buffers (max pooling's argmax) come from the same cache as the tensors.
TEST(Allocator, ArraysShareTheCache) {
  REQUIRE_CACHING();
  memory::release_cache();
  int32_t* first = nullptr;
  {
    std::shared_ptr<int32_t[]> a = memory::alloc_array<int32_t>(150528);  // (128, 6, 14, 14)
    EXPECT_TRUE(aligned64(a.get()));
    a[150527] = 7;
    first = a.get();
  }
  EXPECT_EQ(memory::stats().cached_bytes, static_cast<int64_t>(memory::class_bytes(150528 * 4)));
  bp::Tensor t = bp::Tensor::empty({128, 6, 14, 14});  // the same bytes: the same block
  EXPECT_EQ(static_cast<void*>(t.data()), static_cast<void*>(first));
}

// A fork while another thread allocates leaves the child an allocator it can use (the lock is
// held across the fork); without that, a child could block forever (alarm turns it into a failure).
TEST(Allocator, AForkedChildCanAllocate) {
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) memory::deallocate(memory::allocate(4096), 4096);
  });
  int failures = 0;
  for (int i = 0; i < 20; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(5);
      memory::deallocate(memory::allocate(8192), 8192);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
  stop = true;
  busy.join();
  EXPECT_EQ(failures, 0);
}
