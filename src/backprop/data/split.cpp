#include "backprop/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

namespace bp::data {

uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  // Accept r only at or above 2^64 mod bound: the accepted range is a whole number of
  // copies of [0, bound), so r % bound is exactly uniform.
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

void shuffle(std::span<int64_t> v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<size_t>(uniform_below(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  if (n < 0) throw DataError("permutation: negative size " + std::to_string(n));
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  shuffle(p, rng);
  return p;
}

namespace {

void check_fractions(double validation_fraction, double test_fraction) {
  auto ok = [](double f) { return std::isfinite(f) && f >= 0 && f < 1; };
  if (!ok(validation_fraction) || !ok(test_fraction) || validation_fraction + test_fraction >= 1)
    throw DataError("split: validation fraction " + std::to_string(validation_fraction) + " and test fraction " +
                    std::to_string(test_fraction) + " must each be in [0, 1) with a sum below 1");
}

int64_t share(int64_t n, double fraction) { return static_cast<int64_t>(std::llround(static_cast<double>(n) * fraction)); }

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Row indices of each class, in ascending class order and ascending row order.
std::map<int32_t, std::vector<int64_t>> rows_by_class(std::span<const int32_t> labels) {
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw DataError("split: label " + std::to_string(labels[i]) + " of row " + std::to_string(i) + " is negative");
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  return by_class;
}

std::vector<int64_t> complement(int64_t n, const std::vector<int64_t>& sorted_subset) {
  std::vector<int64_t> out;
  out.reserve(n - sorted_subset.size());
  size_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (k < sorted_subset.size() && sorted_subset[k] == i)
      ++k;
    else
      out.push_back(i);
  }
  return out;
}

std::vector<int64_t> identity(int64_t n) {
  if (n < 0) throw DataError("batches: negative number of rows " + std::to_string(n));
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

// splitmix64: spreads (seed, epoch) over the whole seed space.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

Split train_validation_test_split(int64_t n, double validation_fraction, double test_fraction, uint64_t seed) {
  check_fractions(validation_fraction, test_fraction);
  const int64_t n_test = share(n, test_fraction), n_val = share(n, validation_fraction);
  if (n - n_test - n_val < 1)
    throw DataError("split: " + std::to_string(n) + " rows leave no training rows");
  const std::vector<int64_t> p = permutation(n, seed);
  Split s;
  s.test = sorted({p.begin(), p.begin() + n_test});
  s.validation = sorted({p.begin() + n_test, p.begin() + n_test + n_val});
  s.train = sorted({p.begin() + n_test + n_val, p.end()});
  return s;
}

Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction, uint64_t seed) {
  check_fractions(validation_fraction, test_fraction);
  std::mt19937_64 rng(seed);
  Split s;
  for (auto& [label, rows] : rows_by_class(labels)) {
    shuffle(rows, rng);
    const auto n = static_cast<int64_t>(rows.size());
    const int64_t n_test = share(n, test_fraction);
    const int64_t n_val = std::min(share(n, validation_fraction), n - n_test);
    s.test.insert(s.test.end(), rows.begin(), rows.begin() + n_test);
    s.validation.insert(s.validation.end(), rows.begin() + n_test, rows.begin() + n_test + n_val);
    s.train.insert(s.train.end(), rows.begin() + n_test + n_val, rows.end());
  }
  if (s.train.empty()) throw DataError("split: " + std::to_string(labels.size()) + " rows leave no training rows");
  s.train = sorted(std::move(s.train));
  s.validation = sorted(std::move(s.validation));
  s.test = sorted(std::move(s.test));
  return s;
}

std::vector<Fold> kfold(int64_t n, int k, uint64_t seed) {
  if (k < 2 || k > n)
    throw DataError("k-fold: k = " + std::to_string(k) + " must be between 2 and the number of rows (" + std::to_string(n) + ")");
  const std::vector<int64_t> p = permutation(n, seed);
  std::vector<Fold> folds(k);
  for (int64_t i = 0; i < n; ++i) folds[i % k].test.push_back(p[i]);
  for (Fold& f : folds) {
    f.test = sorted(std::move(f.test));
    f.train = complement(n, f.test);
  }
  return folds;
}

std::vector<Fold> stratified_kfold(std::span<const int32_t> labels, int k, uint64_t seed) {
  const auto n = static_cast<int64_t>(labels.size());
  if (k < 2 || k > n)
    throw DataError("k-fold: k = " + std::to_string(k) + " must be between 2 and the number of rows (" + std::to_string(n) + ")");
  std::mt19937_64 rng(seed);
  std::vector<Fold> folds(k);
  int64_t next = 0;  // the fold the next row goes to, continuing across classes
  for (auto& [label, rows] : rows_by_class(labels)) {
    shuffle(rows, rng);
    for (int64_t r : rows) {
      folds[next].test.push_back(r);
      next = (next + 1) % k;
    }
  }
  for (Fold& f : folds) {
    f.test = sorted(std::move(f.test));
    f.train = complement(n, f.test);
  }
  return folds;
}

// ---- mini-batches --------------------------------------------------------------------

BatchIterator::BatchIterator(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle, bool drop_last)
    : BatchIterator(identity(n), batch_size, seed, shuffle, drop_last) {}

BatchIterator::BatchIterator(std::vector<int64_t> rows, int64_t batch_size, uint64_t seed, bool shuffle, bool drop_last)
    : rows_(std::move(rows)), batch_size_(batch_size), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch_size < 1) throw DataError("batches: batch size must be at least 1, got " + std::to_string(batch_size));
  start_epoch(0);
}

void BatchIterator::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  pos_ = 0;
  order_ = rows_;
  if (shuffle_) {
    std::mt19937_64 rng(mix(seed_ ^ mix(static_cast<uint64_t>(epoch))));
    shuffle(order_, rng);
  }
}

std::span<const int64_t> BatchIterator::next() {
  const size_t left = order_.size() - pos_;
  const size_t len = std::min<size_t>(left, static_cast<size_t>(batch_size_));
  if (len == 0 || (drop_last_ && len < static_cast<size_t>(batch_size_))) return {};
  std::span<const int64_t> batch(order_.data() + pos_, len);
  pos_ += len;
  return batch;
}

int64_t BatchIterator::batches_per_epoch() const {
  const int64_t n = size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

}  // namespace bp::data
