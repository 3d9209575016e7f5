// The fit loop: epochs of shuffled mini-batches, validation, early stopping, progress.
// Gradient descent's three forms are batch sizes: 1 (stochastic, one example at a time),
// b (mini-batch) and 0 (full batch).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "backprop/nn/models.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/gradient_sync.hpp"

namespace bp::train {

// What the network is trained to output: class indices (binary: 0/1) or regression values.
struct Targets {
  std::vector<int32_t> classes;  // classification
  Tensor values;                 // regression: (n, outputs)
  int64_t size() const { return values.defined() ? values.dim(0) : static_cast<int64_t>(classes.size()); }
  Targets gather(const int64_t* idx, int64_t count) const;
};

// The loss; Auto picks the task's natural one (MSE, BCE on the logit, softmax CE).
enum class Loss { Auto, MSE, SSE, BCE, CrossEntropy };
Loss loss_from_string(const std::string& s);
std::string to_string(Loss l);
// Loss of raw network outputs against targets; throws std::invalid_argument for a loss that
// does not fit the task (e.g. cross-entropy for regression).
Var task_loss(Task task, Loss loss, const Var& outputs, const Targets& y);

// The network's raw outputs (logits for classification), in eval mode, recording nothing.
Tensor outputs(nn::Module& model, const Tensor& x, int64_t batch_size = 1024);
// Raw outputs turned into predictions: sigmoid (binary), softmax (multi-class), unchanged
// (regression).
Tensor activate(Task task, const Tensor& outputs);

// Network outputs turned into predictions: probabilities (binary: (n, 1) P(y=1);
// multi-class: (n, classes) softmax) or regression values. No graph is recorded.
Tensor predict(nn::Module& model, Task task, const Tensor& x, int64_t batch_size = 1024);

struct Scores {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // classification only
};
// Mean loss and accuracy over a data set, in eval mode, recording nothing.
Scores score(nn::Module& model, Task task, Loss loss, const Tensor& x, const Targets& y, int64_t batch_size = 1024);

struct EpochStats {
  int epoch = 0;   // 1-based
  int epochs = 0;  // of how many planned (FitOptions::epochs)
  float lr = 0;
  Scores train, validation;  // train: running averages over the epoch's batches
  double seconds = 0;
  double samples_per_second = 0;
};

// Where a fit stands between two steps: everything the loop carries forward besides the
// weights and the optimizer (which hold their own state). fit() keeps FitOptions::state (when
// given) up to date and, given one that has made progress, continues from it: with the same
// weights, optimizer state and module generators restored, the rest of the run is the one an
// uninterrupted fit would have made, bit for bit, at the same thread count. An epoch's batch
// order is a function of (seed, epoch) (Batches), so the position is two numbers.
struct TrainState {
  int epoch = 0;          // 0-based epoch in progress (== the planned epochs once all ran)
  int64_t batch = 0;      // batches done in that epoch
  int64_t steps = 0;      // optimizer steps over the whole run
  float base_lr = 0;      // the rate the schedule scales (0: the optimizer's at the start)
  // This epoch's running sums (the epoch's training loss and accuracy come from them).
  double loss_sum = 0;
  int64_t correct = 0, done = 0;
  double seconds = 0;     // time spent in this epoch before the last stop (informational)
  // Early stopping: the best validation loss, its epoch, epochs since, and (with patience)
  // a copy of the parameters at the best epoch, in parameters() order.
  double best = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int since_best = 0;
  std::vector<Tensor> best_weights;
  std::vector<EpochStats> history;  // every finished epoch
  bool stopped_early = false;
  bool finished = false;  // the run is over (all epochs, early stopping, or on_epoch said stop)
  bool started() const { return steps > 0 || epoch > 0 || finished; }
};

struct FitOptions {
  int epochs = 10;
  int64_t batch_size = 32;  // 0: full batch; 1: stochastic
  uint64_t seed = 1;        // shuffling
  Loss loss = Loss::Auto;
  std::string schedule = "constant";  // see optim::make_schedule
  // Early stopping on validation loss: stop after `patience` epochs without improvement
  // (0: never) and restore the best weights.
  int patience = 0;
  // Called after every epoch; return false to stop.
  std::function<bool(const EpochStats&)> on_epoch;
  // Called after every batch with (examples done this epoch, examples per epoch, running loss).
  std::function<void(int64_t, int64_t, double)> on_batch;

  // Checkpoints and interruption (docs/checkpoints.md). With `state`, fit starts from *state
  // (a fresh TrainState: from the beginning) and keeps it current. At every point where the
  // run could resume — after each step inside an epoch, after each epoch's end (validation,
  // early stopping), and once when the run finishes (before the best weights are restored) —
  // fit calls on_checkpoint(state) and then should_stop(); when that returns true, fit
  // returns at once with FitResult::interrupted set (nothing restored), so that the caller can
  // save the state and continue later. Both hooks need `state`.
  // With `sync` (several ranks), should_stop() is instead asked on every rank before each
  // step's gradient reduction (so it should only look, e.g. at a signal flag), the answers
  // travel with the reduction, and every rank stops at the first resumable point after a step
  // in which any rank said yes: all ranks stop after the same step, with the same state.
  TrainState* state = nullptr;
  std::function<void(const TrainState&)> on_checkpoint;
  std::function<bool()> should_stop;
  // Data-parallel training (train/gradient_sync.hpp, docs/distributed.md): when set, this
  // process is one of sync->size() ranks; it trains on its slice of every global batch of
  // batch_size rows, and the losses, scores and weights are those of the global batch on every
  // rank. Needs batch_size >= sync->size() (a full batch: rows >= size).
  GradientSync* sync = nullptr;
};

struct FitResult {
  std::vector<EpochStats> history;
  int best_epoch = 0;  // with validation data: the epoch whose weights were kept
  bool stopped_early = false;
  bool interrupted = false;  // should_stop() said stop before the run finished
};

// Training diverged: a batch's loss was NaN or infinite (usually a learning rate too large).
struct DivergenceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Trains `model` on (x, y); if val_x is given, scores on it after every epoch.
// Throws DivergenceError on a non-finite loss, naming the epoch.
FitResult fit(nn::Module& model, Task task, const Tensor& x, const Targets& y, optim::Optimizer& opt,
              const FitOptions& o, const Tensor* val_x = nullptr, const Targets* val_y = nullptr);

}  // namespace bp::train
