// The data-parallel gradient sync: a fixed-order all-reduce (docs/distributed.md,
// "Determinism"). MPI_Allreduce is not used because the standard leaves its order of summation
// to the implementation (Open MPI picks an algorithm by message size and process count, and
// some sum in arrival order), so its bits could change with the timing or the job's shape.
// Here every element's sum is computed by exactly one rank, over the ranks in rank order, and
// the other two steps only move bytes:
//   1. all-gather of each rank's (rows, stats): every rank learns the weights rows_r / B;
//   2. per bucket, all-to-all: rank j receives chunk j of the bucket from every rank;
//   3. rank j sums its chunk as Σ_r w_r·g_r in double, r = 0, 1, …, P−1, rounds once to float;
//   4. all-gather of the chunks: every rank ends with the same floats.
// Traffic per rank is that of a ring all-reduce, 2(P−1)/P of the gradient.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "backprop/dist/dist.hpp"
#include "backprop/dist/mpi_wait.hpp"

namespace bp::dist {

namespace {

using detail::wait_for;

class AllreduceSync final : public train::GradientSync {
 public:
  AllreduceSync(const Session& s, AllreduceOptions o)
      : comm_(*static_cast<MPI_Comm*>(s.comm())), rank_(s.rank()), size_(s.size()), o_(o) {
    if (o_.bucket_floats < size_) o_.bucket_floats = size_;
    if (o_.bucket_floats > (int64_t{1} << 30)) o_.bucket_floats = int64_t{1} << 30;  // MPI counts are int
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void broadcast(float* values, int64_t n) override {
    for (int64_t s = 0; s < n; s += o_.bucket_floats)
      MPI_Bcast(values + s, static_cast<int>(std::min(o_.bucket_floats, n - s)), MPI_FLOAT, 0, comm_);
  }

  void reduce(float* g, int64_t n, int64_t rows, int64_t global_rows, double* stats, int count) override {
    const auto t0 = std::chrono::steady_clock::now();
    const int P = size_;
    // 1. (rows, stats) of every rank, summed here in rank order.
    const int w = 1 + count;
    std::vector<double> mine(static_cast<size_t>(w)), all(static_cast<size_t>(w) * P);
    mine[0] = static_cast<double>(rows);
    for (int i = 0; i < count; ++i) mine[1 + i] = stats[i];
    MPI_Request req;
    MPI_Iallgather(mine.data(), w, MPI_DOUBLE, all.data(), w, MPI_DOUBLE, comm_, &req);
    wait_for(req);
    std::vector<double> weight(static_cast<size_t>(P));
    int64_t total_rows = 0;
    for (int r = 0; r < P; ++r) {
      total_rows += static_cast<int64_t>(all[static_cast<size_t>(r) * w]);
      weight[r] = all[static_cast<size_t>(r) * w] / static_cast<double>(global_rows);
    }
    if (total_rows != global_rows)
      throw std::logic_error("gradient sync: the ranks' slices hold " + std::to_string(total_rows) +
                             " rows of a batch of " + std::to_string(global_rows));
    for (int i = 0; i < count; ++i) {
      double s = 0;
      for (int r = 0; r < P; ++r) s += all[static_cast<size_t>(r) * w + 1 + i];
      stats[i] = s;
    }
    // 2–4, bucket by bucket.
    std::vector<int> scount(P), sdispl(P), rcount(P), rdispl(P);
    for (int64_t s = 0; s < n; s += o_.bucket_floats) {
      const int64_t m = std::min(o_.bucket_floats, n - s);
      auto bound = [&](int j) { return m * j / P; };  // chunk j of the bucket: [bound(j), bound(j+1))
      const int64_t len = bound(rank_ + 1) - bound(rank_);
      for (int j = 0; j < P; ++j) {
        scount[j] = static_cast<int>(bound(j + 1) - bound(j));
        sdispl[j] = static_cast<int>(bound(j));
        rcount[j] = static_cast<int>(len);
        rdispl[j] = static_cast<int>(len * j);
      }
      recv_.resize(static_cast<size_t>(len * P));
      MPI_Ialltoallv(g + s, scount.data(), sdispl.data(), MPI_FLOAT, recv_.data(), rcount.data(), rdispl.data(),
                     MPI_FLOAT, comm_, &req);
      wait_for(req);
      // Every element's sum runs over r = 0, 1, …, P−1 in that order (the loops only interleave
      // the elements, which are independent).
      acc_.assign(static_cast<size_t>(len), 0.0);
      for (int r = 0; r < P; ++r) {
        const float* part = recv_.data() + r * len;
        const double wr = weight[r];
        for (int64_t k = 0; k < len; ++k) acc_[k] += wr * static_cast<double>(part[k]);
      }
      float* out = g + s + bound(rank_);
      for (int64_t k = 0; k < len; ++k) out[k] = static_cast<float>(acc_[k]);
      MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g + s, scount.data(), sdispl.data(), MPI_FLOAT, comm_, &req);
      wait_for(req);
    }
    if (o_.seconds) *o_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

 private:
  MPI_Comm comm_;
  int rank_, size_;
  AllreduceOptions o_;
  std::vector<float> recv_;
  std::vector<double> acc_;
};

}  // namespace

std::unique_ptr<train::GradientSync> make_allreduce_sync(const Session& session, AllreduceOptions o) {
  return std::make_unique<AllreduceSync>(session, o);
}

}  // namespace bp::dist
