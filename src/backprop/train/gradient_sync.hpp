// The one seam between the fit loop and data-parallel training (dist/ implements it over MPI;
// docs/distributed.md). train::fit knows nothing of the transport: with FitOptions::sync set,
// each of the P ranks takes its contiguous slice of every global batch (shard_of), computes
// the mean gradient over its rows, and the sync turns the P partial gradients into the mean
// over the global batch, the same on every rank, so every rank then takes the same step.
#pragma once

#include <cstdint>
#include <utility>

namespace bp::train {

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Before the first step: `values` (the flat parameters) become rank 0's on every rank.
  virtual void broadcast(float* values, int64_t n) = 0;
  // After backward: `grads` holds this rank's mean gradient over its `rows` rows of a global
  // batch of `global_rows`; on return it holds Σ_r (rows_r / global_rows)·grads_r, summed in a
  // fixed order (identical bits on every rank, whatever the timing). `stats` (count entries) are
  // summed over the ranks the same way: the batch's loss total and correct count.
  virtual void reduce(float* grads, int64_t n, int64_t rows, int64_t global_rows, double* stats, int count) = 0;
};

// The rows [begin, end) of a global batch of `b` rows that rank `rank` of `size` takes: the
// contiguous slice floor(r·b/P) .. floor((r+1)·b/P), so the P slices concatenated in rank
// order are the batch itself. Needs size <= b (every rank gets at least one row).
inline std::pair<int64_t, int64_t> shard_of(int64_t b, int rank, int size) {
  return {b * rank / size, b * (rank + 1) / size};
}

}  // namespace bp::train
