// The `train` workflow: prepare the data, train the model, score it on the test part, save it
// (with its preprocessing and a description of its data) and write the JSON report.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/checkpoint.hpp"
#include "backprop/pipeline/observer.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::pipeline {

// Checkpoints of the run (docs/checkpoints.md; networks only).
struct CheckpointOptions {
  std::string path;                          // write checkpoints here ("" none)
  CheckpointEvery every;                     // when (besides the end and a stop)
  std::shared_ptr<const Checkpoint> resume;  // continue this run (load_checkpoint); null: start
  std::function<bool()> should_stop;         // checked after every step: true stops the run
                                             // after writing a checkpoint (a signal's flag)
  nlohmann::json caller;                     // kept in the checkpoint as run["options"]
  bool enabled() const { return !path.empty() || resume || should_stop; }
};

struct TrainRunOptions {
  data::DataSpec data;
  TrainSpec spec;                            // its fit callbacks are replaced by the observer's
  std::string output = "model.safetensors";  // the model file
  std::string report;                        // the JSON report ("" for none)
  CheckpointOptions checkpoint;
};

struct TrainRunResult {
  std::string data_description;
  // {"command", "data", "training", "test" (when there is a test part), "model_file"} plus
  // the caller's extra entries; what --report writes.
  nlohmann::json report;
  // should_stop stopped the run: nothing was evaluated or saved but the checkpoint (when a
  // path was given); `state` says where it stopped.
  bool interrupted = false;
  train::TrainState state;
  // A resumed checkpoint whose run had finished: nothing was left to train (the model, the
  // test scores and the report are made again, the same).
  bool resumed_finished = false;
};

TrainRunResult train_evaluate_save(const TrainRunOptions& o, const Observer& observer = {});

// The same on data already prepared (tune's final model); `extra` is merged into the report.
TrainRunResult train_evaluate_save(TrainSpec spec, const data::Prepared& d, const data::DataSpec& data,
                                   const std::string& output, const std::string& report_path,
                                   const nlohmann::json& extra, const Observer& observer = {},
                                   const CheckpointOptions& checkpoint = {});

}  // namespace bp::pipeline
