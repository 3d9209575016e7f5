// The one batching of training: every epoch, the rows 0..n−1 in a fresh order, cut into
// batches. train::fit (networks, logistic regression) and train::fit_perceptron draw their
// examples from it. An epoch's order is a function of (seed, epoch) only — not of the epochs
// before it — so training can resume at any epoch and give the same batches.
//
//   Batches batches(n, 32, seed);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     batches.start_epoch(epoch);
//     for (auto rows = batches.next(); !rows.empty(); rows = batches.next()) { ... gather_rows(x, rows) ... }
//   }
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bp::train {

class Batches {
 public:
  // batch_size 0: full batch (every row in one batch); shuffle false: rows in order.
  // A full batch is never shuffled: its mean gradient does not depend on the order, so
  // whole() lets the caller use the data as they are, without a copy.
  Batches(int64_t n, int64_t batch_size, uint64_t seed, bool shuffle = true);

  // Reorders the rows for `epoch` (0-based) and rewinds. The constructor starts epoch 0.
  void start_epoch(int64_t epoch);
  // The next batch's row indices, or an empty span when the epoch is over; valid until the
  // next start_epoch. The last batch of an epoch may be smaller.
  std::span<const int64_t> next();
  // One batch of every row, in order: the batch is the data itself.
  bool whole() const { return batch_size_ == n_; }
  int64_t batches_per_epoch() const { return n_ == 0 ? 0 : (n_ + batch_size_ - 1) / batch_size_; }
  int64_t batch_size() const { return batch_size_; }
  int64_t size() const { return n_; }
  int64_t epoch() const { return epoch_; }

 private:
  bool shuffled() const { return shuffle_ && batch_size_ < n_; }
  int64_t n_, batch_size_;
  uint64_t seed_;
  bool shuffle_;
  std::vector<int64_t> order_;  // this epoch's order of 0..n−1
  int64_t epoch_ = 0;
  size_t pos_ = 0;
};

}  // namespace bp::train
