// Training from a description: the pipeline behind `backprop train` and `backprop tune`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backprop/data/data.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"

namespace bp::pipeline {

struct TrainSpec {
  nn::ModelSpec model;                  // name, hidden sizes, activations, seed; shapes come from the data
  optim::OptimizerSpec optimizer;
  train::FitOptions fit;                // epochs, batch size, loss, schedule, patience, callbacks
  double validation_fraction = 0.0;     // of the training part, for early stopping and reporting
  uint64_t validation_seed = 7;
};

struct Trained {
  std::unique_ptr<nn::Module> model;
  Task task = Task::Multiclass;
  std::vector<std::string> class_names;
  train::FitResult history;
  double seconds = 0;
};

// Targets of a data set in the form the fit loop takes.
train::Targets targets_of(const data::Dataset& d);

// Builds the model the spec names for the data's shape and task, then fits it on `train`
// (less a validation part if asked for).
Trained train_model(const TrainSpec& spec, const data::Dataset& train, const Shape& input_shape);

// The spec's model fitted on `train` and scored on `held_out` (for tuning).
train::Scores fit_and_score(const TrainSpec& spec, const data::Dataset& train, const data::Dataset& held_out,
                            const Shape& input_shape);

}  // namespace bp::pipeline
