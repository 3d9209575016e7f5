// Training from a description: the pipeline behind `backprop train` and `backprop tune`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backprop/data/data.hpp"
#include "backprop/dist/dist.hpp"
#include "backprop/learners/learner.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"

namespace bp::pipeline {

struct TrainSpec {
  nn::ModelSpec model;                  // name, hidden sizes, activations, seed; shapes come from the data
  // When model.name is a learner's kind (is_learner_kind): its options (keys as in
  // learners::default_options; the rest are the defaults; "seed" defaults to model.seed).
  // The optimizer and fit settings do not apply to learners.
  nlohmann::json learner_options = nlohmann::json::object();
  optim::OptimizerSpec optimizer;
  // epochs, batch size, loss, schedule, patience, callbacks. fit.epochs == 0 (kAutoEpochs)
  // chooses the length from the data's size (training_plan below).
  train::FitOptions fit;
  double validation_fraction = 0.0;     // of the training part, for early stopping and reporting
  uint64_t validation_seed = 7;
  // Several processes (docs/distributed.md): fit.sync set is synchronous data-parallel
  // training; async_session set is asynchronous SGD (dist::fit_async) on that session, with
  // `async`'s staleness bound. Either way only rank 0 (rank() below) writes files.
  const dist::Session* async_session = nullptr;
  dist::AsyncOptions async;
  int rank() const { return fit.sync ? fit.sync->rank() : async_session ? async_session->rank() : 0; }
  int processes() const { return fit.sync ? fit.sync->size() : async_session ? async_session->size() : 1; }
};

// The training length `backprop train` chooses when no --epochs is given:
//   steps per epoch  s = ceil(rows / batch)            (batch 0: one step)
//   epochs           E = max(10, ceil(3000 / s)), at most 3000
// so that every data set gets at least 3000 optimizer steps and large ones (Fashion-MNIST:
// 60000 rows of batch 128, 469 steps) keep 10 epochs. When the rule adds epochs (fewer than
// 300 steps per epoch: a small data set), a validation part (15 % of the training rows,
// unless validation_fraction is set) watches for overfitting: early stopping with patience
// max(10, E / 5) epochs (unless patience is set), keeping the best epoch's weights.
inline constexpr int kAutoEpochs = 0;
inline constexpr int64_t kMinSteps = 3000;
inline constexpr int kDefaultEpochs = 10;
inline constexpr int kMaxAutoEpochs = 3000;
inline constexpr double kAutoValidationFraction = 0.15;
struct TrainingPlan {
  int epochs = kDefaultEpochs;
  double validation_fraction = 0;
  int patience = 0;
};
// The plan for `rows` training rows (before any validation part is carved) under `spec`:
// explicit epochs are kept as they are (with the spec's validation and patience).
TrainingPlan training_plan(const TrainSpec& spec, int64_t rows);

// Whether `name` is a learner's kind (learners::learner_kinds()) rather than a network's.
bool is_learner_kind(const std::string& name);

// How often a checkpoint is written (`--checkpoint-every N[s|epochs|steps]`; a bare N is
// epochs): after every n-th epoch, every n optimizer steps, or at the first resumable point
// n seconds after the last one.
struct CheckpointEvery {
  enum class Unit { Epochs, Steps, Seconds };
  Unit unit = Unit::Epochs;
  double n = 1;
  // "5", "5epochs", "200steps", "90s"; UsageError naming the text otherwise.
  static CheckpointEvery parse(const std::string& text);
  std::string to_string() const;
};

struct Checkpoint;  // pipeline/checkpoint.hpp
// Checkpoints of a network's training (docs/checkpoints.md). train_model calls `save` at the
// resumable points of the fit where `every` says one is due, when the run finishes, and when
// should_stop() (checked after every step) stops it; with `resume`, training continues from
// that checkpoint instead of starting (its weights, optimizer state, generators and position
// are restored; the model, plan and optimizer these options give must be the checkpoint's).
struct Checkpointing {
  CheckpointEvery every;
  std::function<void(nn::Module&, optim::Optimizer&, const train::TrainState&, const TrainingPlan&)> save;
  std::function<bool()> should_stop;
  const Checkpoint* resume = nullptr;
};

// A network (`model`) or a learner (`learner`): exactly one is set.
struct Trained {
  std::unique_ptr<nn::Module> model;  // outputs in the target's own units (regression)
  std::unique_ptr<learners::Learner> learner;
  Task task = Task::Multiclass;
  std::vector<std::string> class_names;
  train::FitResult history;
  TrainingPlan plan;                 // the length and early stopping actually used
  data::TargetScaling target_scaling;  // regression: how the fit saw the targets (identity: unscaled)
  dist::AsyncStats async_stats;        // asynchronous SGD (TrainSpec::async_session): rank 0's counts
  double seconds = 0;
  // Networks: the most bytes of tensor storage live at once during the fit (tensor/allocator.hpp,
  // peak_live_bytes; the process's tensors, the data sets' included). 0 for the learners.
  int64_t peak_tensor_bytes = 0;
  // With checkpointing: where the fit stands; `interrupted` when should_stop stopped it (the
  // model then holds the weights of that step, in the fit's target units, and is no result).
  train::TrainState state;
  bool interrupted = false;
};

// Targets of a data set in the form the fit loop takes.
train::Targets targets_of(const data::Dataset& d);

// Builds the model the spec names for the data's shape and task, then fits it on `train`
// (less a validation part if asked for, or if the plan carves one).
// Regression: the fit sees standardised targets, (y - center) / scale with `target_scaling`
// (the preprocessor's; nullptr: fitted here on `train`), and the inverse is folded into the
// network's last Linear layer when the fit is done (W <- scale W, b <- scale b + center), so
// the returned model, the saved file, `predict` and every score are in the target's units.
// A model whose output does not end in a biased Linear layer is trained on unscaled targets.
// With more than 100 epochs, fit.on_epoch is called for about 100 of them (evenly spaced,
// the first and last included); returning false from it still stops training.
// A learner kind: the learner fitted on every row of `train` (x as the dense matrix, the labels,
// K classes); a regression target or a bad option is a UsageError; `history` stays empty.
// With `checkpointing` (networks only; a learner kind refuses it with a UsageError): see
// Checkpointing.
Trained train_model(const TrainSpec& spec, const data::Dataset& train, const Shape& input_shape,
                    const data::TargetScaling* target_scaling = nullptr, const Checkpointing* checkpointing = nullptr);

// The spec's model fitted on `train` and scored on `held_out` (for tuning).
train::Scores fit_and_score(const TrainSpec& spec, const data::Dataset& train, const data::Dataset& held_out,
                            const Shape& input_shape);

}  // namespace bp::pipeline
