#include "backprop/train/batches.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "backprop/util/rng.hpp"

namespace bp::train {

namespace {
// splitmix64: spreads (seed, epoch) over the whole seed space, so neighbouring seeds and
// epochs give unrelated generators.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

Batches::Batches(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle)
    : n_(n), batch_size_(batch_size), seed_(seed), shuffle_(shuffle) {
  if (n < 0) throw std::invalid_argument("batches: negative number of rows " + std::to_string(n));
  if (batch_size < 0) throw std::invalid_argument("batch size must be >= 0 (0 = full batch)");
  if (batch_size_ == 0 || batch_size_ > n_) batch_size_ = std::max<int64_t>(n_, 1);
  order_.resize(static_cast<size_t>(n_));
  start_epoch(0);
}

void Batches::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  pos_ = 0;
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (shuffled()) Rng(mix(seed_ ^ mix(static_cast<uint64_t>(epoch)))).shuffle(order_);
}

std::span<const int64_t> Batches::next() {
  const size_t len = std::min(order_.size() - pos_, static_cast<size_t>(batch_size_));
  std::span<const int64_t> batch(order_.data() + pos_, len);
  pos_ += len;
  return batch;
}

}  // namespace bp::train
