// Training on several processes over MPI (Open MPI; docs/distributed.md): synchronous
// data-parallel training (every rank takes its slice of every global batch, gradients averaged
// in a fixed order) and asynchronous SGD with a parameter server. This header is public and
// includes no MPI header: the library links MPI privately.
//
//   dist::Session mpi;                                  // MPI_Init .. MPI_Finalize
//   auto sync = dist::make_allreduce_sync(mpi);         // train::GradientSync
//   fit_options.sync = sync.get();                       // then train::fit as usual
#pragma once

#include <cstdint>
#include <memory>

#include "backprop/train/fit.hpp"
#include "backprop/train/gradient_sync.hpp"

namespace bp::dist {

// Whether this process was started by an MPI launcher (mpirun, srun): OMPI_COMM_WORLD_SIZE,
// PMIX_RANK or PMI_SIZE is set. A process started without one trains alone and needs no MPI.
bool launched_by_mpi();

// MPI for the life of the object: MPI_Init on construction (MPI_THREAD_FUNNELED: only the
// main thread calls MPI; the worker pool never does), MPI_Finalize on destruction. One per
// process. Errors of MPI itself are fatal (MPI_ERRORS_ARE_FATAL), so a rank that dies ends
// the job through the launcher instead of leaving the others waiting.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ends every rank of the job with `code` (MPI_Abort); with one rank, returns nothing and
  // the caller exits normally.
  void abort(int code) const;
  // The communicator for the library's own traffic (an MPI_Comm, as an integer handle's bits).
  void* comm() const { return comm_; }

 private:
  int rank_ = 0, size_ = 1;
  void* comm_ = nullptr;  // MPI_Comm* (Open MPI's MPI_Comm is a pointer; kept opaque here)
};

struct AllreduceOptions {
  // The gradient is reduced in buckets of at most this many floats (the temporary buffers'
  // size): each bucket is one all-to-all and one all-gather.
  int64_t bucket_floats = int64_t{1} << 20;
  // When set, the wall seconds spent in reduce() are added here (for the benchmarks' split of
  // a step into computation and communication).
  double* seconds = nullptr;
};
// The data-parallel gradient sync over `session` (which must outlive it): a fixed-order
// reduction (reduce-scatter by all-to-all, each rank summing its chunk over the ranks in rank
// order, then all-gather), so every rank gets the same bits whatever the timing.
std::unique_ptr<train::GradientSync> make_allreduce_sync(const Session& session, AllreduceOptions o = {});

struct AsyncOptions {
  // A gradient computed on parameters more than this many updates older than the server's is
  // dropped (and counted) instead of applied; 0: no bound.
  int max_staleness = 0;
};
struct AsyncStats {
  int64_t applied = 0, dropped = 0;  // gradients the server applied / dropped as too stale
  int64_t max_staleness = 0;         // the largest staleness among the applied ones
  double mean_staleness = 0;
};

// Asynchronous SGD with a parameter server (needs size >= 2): rank 0 holds the parameters and
// `opt` and applies every gradient as it arrives; ranks 1..P−1 (workers) each hold a copy,
// compute the gradient of a batch of o.batch_size rows, push it with the version of the
// parameters it was computed on, and get back the server's current parameters and their next
// batch. The batches are those of one process (train::Batches from (seed, epoch)), handed out
// in order to whichever worker asks next. No worker waits for another. Epoch statistics (train
// loss from the gradients' batches, validation on the server's parameters) go to o.on_epoch on
// rank 0. On return every rank holds the server's final parameters. Early stopping
// (o.patience) is not supported: std::invalid_argument.
train::FitResult fit_async(const Session& session, nn::Module& model, Task task, const Tensor& x,
                           const train::Targets& y, optim::Optimizer& opt, const train::FitOptions& o,
                           const AsyncOptions& a, const Tensor* val_x = nullptr,
                           const train::Targets* val_y = nullptr, AsyncStats* stats = nullptr);

}  // namespace bp::dist
