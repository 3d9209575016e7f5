// Checkpoints of a network's training: everything needed to continue a run exactly where it
// stopped (docs/checkpoints.md). A checkpoint is a safetensors file in the model-file
// container (checksummed, validated on load, written atomically): the network's tensors under
// their model-file names with the model-file metadata (architecture, task, classes,
// preprocessing), plus
//   tensors   "checkpoint.optimizer.<buffer>"  the optimizer's state (Adam's moments, ...)
//             "checkpoint.best.<parameter>"    early stopping's best weights (when kept)
//   metadata  "backprop.checkpoint"            JSON: the run's options, the data it read
//             (fingerprint, split), the plan, the position (epoch, batch, steps), the epoch's
//             running sums, early stopping's counters, the history so far, the optimizer's
//             name and step count, every module generator's state
//
//   save_checkpoint(path, {model, opt, state, plan, run});
//   Checkpoint c = load_checkpoint(path);      // io::ModelFileError when corrupt or invalid
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::pipeline {

// The metadata key that makes a model-file container a checkpoint, and the prefix of the
// tensors that are not the network's.
inline constexpr const char* kCheckpointKey = "backprop.checkpoint";
inline constexpr const char* kCheckpointPrefix = "checkpoint.";
inline constexpr int kCheckpointVersion = 1;

// A checkpoint as read back, validated.
struct Checkpoint {
  std::filesystem::path path;
  // The network at the checkpoint's step (eval mode), with the task, classes and
  // preprocessing, validated as io::load_model validates a model file. Regression networks
  // hold the fit's standardised units until training ends.
  io::ModelFile model;
  // What the writer stored about the run, handed back untouched: train_evaluate_save keeps
  // {"options": the caller's (the command line's options), "spec": spec_json,
  //  "data": the DataRecord (fingerprint, split), "threads": the thread count,
  //  "output", "report"} here.
  nlohmann::json run;
  TrainingPlan plan;
  train::TrainState state;  // best_weights included
  std::string optimizer;    // Optimizer::name()
  int64_t optimizer_steps = 0;
  std::vector<std::pair<std::string, std::vector<float>>> optimizer_buffers;  // state_buffers() order
  std::vector<std::string> generators;  // Rng::state() of model.generators(), in order
};

// What save_checkpoint writes.
struct CheckpointContent {
  nn::Module& model;
  optim::Optimizer& optimizer;
  const train::TrainState& state;
  const TrainingPlan& plan;
  Task task;
  const std::vector<std::string>& class_names;
  const nlohmann::json& preprocessing;  // the Preprocessor's JSON (null: none)
  const nlohmann::json& run;            // see Checkpoint::run
};

// Writes the checkpoint atomically (util/atomic_file.hpp): a reader, or a run killed while it
// writes, sees the previous checkpoint or this one whole. Throws io::ModelFileError (wrapping
// util::FileWriteError when the file system refuses).
void save_checkpoint(const std::filesystem::path& path, const CheckpointContent& c);

// Reads and checks a checkpoint: the container and its checksums (a truncated or damaged file
// is refused), the network part as io::load_model checks a model file, then the checkpoint
// entry — its format and version, and that every part fits the network (optimizer buffers of
// the parameters' size, best weights of their shapes, one state per generator, a position
// inside the plan, a history as long as the epochs done). Throws io::ModelFileError whose
// message names the file and the first problem; a model file that is not a checkpoint is
// refused as such.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// Puts a checkpoint's weights (parameters and buffers), optimizer state (buffers and step
// count), module generators and training position into a network and optimizer built from the
// same options, and `state`; then train::fit with FitOptions::state = &state continues the run.
// A network whose architecture differs, another optimizer, or state that does not fit is a
// UsageError, and then nothing is changed.
void restore_checkpoint(const Checkpoint& c, nn::Module& model, optim::Optimizer& opt, train::TrainState& state);

// The training options as a checkpoint records them (the fit callbacks left out), so that a
// resumed run can be checked against the run it continues.
nlohmann::json spec_json(const TrainSpec& spec);

// The EpochStats and TrainState as JSON and back (non-finite numbers as null); from_json
// throws std::invalid_argument on a malformed object.
nlohmann::json state_to_json(const train::TrainState& s);
train::TrainState state_from_json(const nlohmann::json& j);

}  // namespace bp::pipeline
