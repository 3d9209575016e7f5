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
