// The `evaluate` workflow: a saved model scored on a data set (by default its own test part);
// optionally calibrated first (a calibrator fitted by name on held-out rows or on another
// file, and the calibrated model saved), with a reliability diagram and a ROC curve.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"

namespace bp::pipeline {

struct EvaluateOptions {
  std::string model;                   // the model file
  // None: the data the model was trained on. Given: its source is scored (pipeline/model_data.hpp
  // says which rows); every other field must keep its default (the model has its own).
  std::optional<data::DataSpec> data;
  // Data options the caller's command line was given besides --data ("--target", …): a saved
  // model has its own, so each is a UsageError naming it.
  std::vector<std::string> given_data_options;
  std::string part = "test";           // test, train, all
  std::string calibrate;               // "" or an eval::calibrator_names() entry (binary models)
  double calibration_fraction = 0.3;   // of the evaluated rows, fitting the calibrator
  std::string calibration_data;        // or: fit it on this CSV file
  std::string save_calibrated;         // write the calibrated model here (needs calibrate)
  std::string reliability_plot, roc_plot;  // .png or .svg (binary models)
  std::string report;                  // the JSON report
};

struct EvaluateResult {
  data::DataSpec data;        // the data that was scored
  std::string part;           // the part scored: as asked, or "all" for a file the model was not trained on
  std::vector<std::string> notes;  // what the caller must be told about the data (also in the report's "notes")
  int64_t rows = 0;          // rows scored
  bool calibrated = false;   // a calibrator (fitted now, or the model's own) was applied
  nlohmann::json evaluation; // report::evaluate()'s object (+ "calibration_fit" when fitted now)
  nlohmann::json report;     // what --report writes
};

// Throws UsageError for options that cannot apply (calibrating a non-binary model, plots of
// one, --save-calibrated without --calibrate, an unknown part or calibrator, a data option,
// an output that is an input), before any work; FileWriteError for an output that cannot be
// written where it is named.
EvaluateResult evaluate_saved_model(const EvaluateOptions& o);

}  // namespace bp::pipeline
