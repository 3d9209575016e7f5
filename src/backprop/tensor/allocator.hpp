// The caching allocator behind every tensor's storage (alloc_floats in tensor.hpp).
//
// Why: a training step frees its activations and allocates the same sizes again in the next
// step. Through malloc, the large ones went back to the system (glibc trims the top of its heap
// and unmaps big blocks), and the next step faulted every page in again: 45,000 page faults in
// 300 LeNet steps (docs/performance.md, "Memory: the tensor allocator"). Here a freed block
// goes to a free list of its size class and the next request of that class takes it back.
//
// Size classes: a request is rounded up to 64 bytes (the alignment every block has), then to
// one of four classes per power of two (2^k·{5,6,7,8}/4), so shapes that differ a little (the
// last, smaller batch of an epoch) may share a class, and no block is more than 25 % larger
// than asked.
//
// Bounds: the cache never makes the footprint (bytes live + bytes cached) grow past the highest
// number of bytes ever live at once: a miss that would first evicts cached blocks (the largest
// first). And cached bytes never exceed the cache limit (set_cache_limit; 1 GiB by default).
//
// Thread-safe (one mutex; tensors are allocated and freed on the pool's threads too).
//
// BACKPROP_NO_CACHING_ALLOCATOR=1 in the environment (read once, at the first allocation)
// turns the caching off: every block goes straight back to malloc/free (for valgrind or a
// sanitizer's view of each block; statistics are still kept). Under AddressSanitizer the cache
// stays on but poisons the blocks it holds, so a use after free is still reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace bp::memory {

struct Stats {
  int64_t live_bytes = 0;       // bytes of blocks tensors hold now (class sizes)
  int64_t peak_live_bytes = 0;  // the most live_bytes since start or the last reset_peak()
  int64_t cached_bytes = 0;     // bytes of freed blocks held for reuse
  int64_t cache_limit_bytes = 0;
  int64_t hits = 0;             // allocations served from the cache
  int64_t misses = 0;           // allocations that went to the system
  int64_t evictions = 0;        // cached blocks given back to the system to respect a bound
  bool caching = true;          // false under BACKPROP_NO_CACHING_ALLOCATOR=1
};

// A consistent snapshot of the counters.
Stats stats();
// Starts a new peak: peak_live_bytes = live_bytes now. Counters hits/misses/evictions go to 0.
void reset_peak();
// Gives every cached block back to the system (live blocks are untouched).
void release_cache();
// Caps cached bytes (evicting at once if the cache holds more). Negative: an error.
void set_cache_limit(int64_t bytes);

// The size class of a request: the bytes a block for it has (a multiple of 64, >= bytes).
size_t class_bytes(size_t bytes);

// A 64-byte-aligned block of at least `bytes` bytes (class_bytes(bytes) usable); throws
// std::bad_alloc when the system has none, after giving the cache back and trying once more.
void* allocate(size_t bytes);
// Returns a block from allocate(bytes) (the same `bytes`).
void deallocate(void* p, size_t bytes) noexcept;

// Uninitialised storage for n values of T from the same cache, for the buffers an op keeps
// beside its tensors between forward and backward (max pooling's argmax indices): they come
// and go with the activations, every step.
template <class T>
std::shared_ptr<T[]> alloc_array(size_t n) {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= 64);
  const size_t bytes = (n > 0 ? n : 1) * sizeof(T);
  T* p = static_cast<T*>(allocate(bytes));
  return std::shared_ptr<T[]>(p, [bytes](T* q) { deallocate(q, bytes); });  // on failure, deletes p
}

}  // namespace bp::memory
