// Row-index splits: train/validation/test, k-fold (plain and stratified) and shuffled
// mini-batches. Everything is a deterministic function of the seed on every platform:
// the random numbers come from std::mt19937_64 (whose output the standard fixes) through
// our own bounded draw and Fisher–Yates shuffle, never through std::shuffle or
// std::uniform_int_distribution (whose results differ between standard libraries).
// Index lists are returned sorted ascending unless they are a shuffled order.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "backprop/data/error.hpp"

namespace bp::data {

// Uniform integer in [0, bound) from one or more draws of `rng` (rejection sampling, so
// no modulo bias); bound > 0.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound);

// Fisher–Yates: for i = n-1 down to 1, swap v[i] with v[uniform_below(rng, i + 1)].
void shuffle(std::span<int64_t> v, std::mt19937_64& rng);

// A random permutation of 0..n-1.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

struct Split {
  std::vector<int64_t> train, validation, test;  // disjoint, together 0..n-1, each sorted
};

// Shuffles 0..n-1 and cuts it: round(n * test_fraction) test rows, round(n *
// validation_fraction) validation rows, the rest train. Fractions in [0, 1) with a sum
// below 1; DataError otherwise (or if train would be empty).
Split train_validation_test_split(int64_t n, double validation_fraction, double test_fraction, uint64_t seed);

// The same cut made within every class (labels[i] >= 0), so that each part keeps the class
// proportions: per class c with n_c rows, round(n_c * fraction) go to test and validation.
Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction,
                       uint64_t seed);

struct Fold {
  std::vector<int64_t> train, test;  // disjoint, together 0..n-1, each sorted
};

// k folds over n rows: each row is in exactly one test fold; fold sizes differ by at most 1.
std::vector<Fold> kfold(int64_t n, int k, uint64_t seed);

// Stratified k folds: each class's rows are shuffled and dealt to the folds in turn
// (continuing where the previous class stopped), so each fold holds floor or ceil of
// n_c / k rows of class c (proportions match within one case per class) and fold sizes
// differ by at most 1. 2 <= k <= n; labels >= 0.
std::vector<Fold> stratified_kfold(std::span<const int32_t> labels, int k, uint64_t seed);

// Shuffled mini-batches of a fixed index set (all rows 0..n-1 or, e.g., a training split).
// Each epoch is a fresh permutation, a function of (seed, epoch) only, so training can be
// resumed at any epoch. The last batch of an epoch may be smaller unless drop_last.
//
//   BatchIterator batches(train_rows, 32, seed);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     batches.start_epoch(epoch);
//     for (auto rows = batches.next(); !rows.empty(); rows = batches.next()) { ... ds.subset(rows) ... }
//   }
class BatchIterator {
 public:
  BatchIterator(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle = true, bool drop_last = false);
  BatchIterator(std::vector<int64_t> rows, int64_t batch_size, uint64_t seed, bool shuffle = true,
                bool drop_last = false);

  // Reorders the rows for epoch `epoch` and rewinds. The constructor starts epoch 0.
  void start_epoch(int64_t epoch);
  // The next batch's row indices, or an empty span when the epoch is over. Valid until the
  // next call to start_epoch.
  std::span<const int64_t> next();
  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }
  int64_t size() const { return static_cast<int64_t>(rows_.size()); }

 private:
  std::vector<int64_t> rows_;   // the index set, in its original order
  std::vector<int64_t> order_;  // this epoch's order
  int64_t batch_size_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  int64_t epoch_ = 0;
  size_t pos_ = 0;
};

}  // namespace bp::data
