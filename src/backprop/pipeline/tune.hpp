// The `tune` workflow: choose the learning rate (and optionally the hidden sizes) by the
// lowest loss on a tuning set or by k-fold cross-validation on the training part, as the
// lecture says, then train, evaluate and save the final model with the chosen values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/observer.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::pipeline {

struct TuneOptions {
  data::DataSpec data;
  TrainSpec spec;                                  // the base configuration; lr and hidden sizes vary
  std::vector<double> lrs{0.1, 0.01, 0.001};       // each > 0
  std::vector<std::vector<int64_t>> hidden_grid;   // empty: spec.model.hidden only
  int folds = 0;                                   // 0: one tuning set; >= 2: k-fold cross-validation
  double tuning_fraction = 0.2;                    // of the training part, when folds is 0
  std::string output = "model.safetensors";
  std::string report;
};

struct TuneCandidate {
  double lr = 0;
  std::vector<int64_t> hidden;
  double loss = 0;        // mean over the folds; +infinity when training diverged
  double accuracy = 0;    // classification only
  bool diverged = false;  // in at least one fold: never chosen
};

// Known once the data is prepared, before the first candidate is trained.
struct TunePlan {
  int folds = 0;  // as TuneOptions::folds
  bool classification = false;
  size_t candidates = 0;
};

struct TuneObserver : Observer {
  std::function<void(const TunePlan&)> plan;
  std::function<void(const TuneCandidate&)> candidate;  // after each candidate's folds
  std::function<void(const TuneCandidate&)> chosen;     // before the final model is trained
};

struct TuneResult {
  std::vector<TuneCandidate> candidates;  // lr varies fastest, hidden sizes in grid order
  size_t chosen = 0;                      // index of the lowest finite loss (the first on ties)
  TrainRunResult final;                   // the final model, trained on the whole training part
};

// Throws UsageError for bad options (folds 1, no learning rate, a non-positive one) and
// train::DivergenceError when every candidate diverged.
TuneResult tune(const TuneOptions& o, const TuneObserver& observer = {});

// "128,64" (what the report and the table show for hidden sizes).
std::string hidden_text(const std::vector<int64_t>& hidden);

}  // namespace bp::pipeline
