// The `train` workflow: prepare the data, train the model, score it on the test part, save it
// (with its preprocessing and a description of its data) and write the JSON report.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/observer.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::pipeline {

struct TrainRunOptions {
  data::DataSpec data;
  TrainSpec spec;                            // its fit callbacks are replaced by the observer's
  std::string output = "model.safetensors";  // the model file
  std::string report;                        // the JSON report ("" for none)
};

struct TrainRunResult {
  std::string data_description;
  // {"command", "data", "training", "test" (when there is a test part), "model_file"} plus
  // the caller's extra entries; what --report writes.
  nlohmann::json report;
};

TrainRunResult train_evaluate_save(const TrainRunOptions& o, const Observer& observer = {});

// The same on data already prepared (tune's final model); `extra` is merged into the report.
TrainRunResult train_evaluate_save(TrainSpec spec, const data::Prepared& d, const data::DataSpec& data,
                                   const std::string& output, const std::string& report_path,
                                   const nlohmann::json& extra, const Observer& observer = {});

}  // namespace bp::pipeline
