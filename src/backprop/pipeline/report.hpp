// What the workflows print and write to --report and write to --report: one JSON object per result, and
// its human-readable text.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/pipeline/training.hpp"
#include "backprop/eval/calibration.hpp"

namespace bp::pipeline {

// The training run: data, model, optimizer, epochs with their scores, time. The per-epoch
// history keeps at most kMaxHistory entries (thin_history), however many epochs ran;
// "epochs_run" counts them all. Regression losses in the history are on the standardised
// target ("target_scaling" says how: multiply by scale² for the target's units).
nlohmann::json training_report(const data::DataSpec& data, const data::Prepared& prepared, const TrainSpec& spec, const Trained& t);
// Which of `n` epochs (indices 0..n-1) a bounded history keeps: all when n <= max_entries,
// else about max_entries evenly spaced ones that always include the first, the best (`best`,
// an index, ignored when outside 0..n-1) and the last, in increasing order.
inline constexpr size_t kMaxHistory = 100;
std::vector<size_t> thin_history(size_t n, size_t max_entries, long best);

// "model mlp (235,146 parameters), adam lr 0.001, 10 epochs of batch 128: 21.3 s, 28,100 samples/s,
// peak tensor memory 212.4 MB"
std::string describe_training(const nlohmann::json& report);

// Scores of a model on a data set:
//   classification: loss, accuracy, log loss, macro-F1, confusion matrix; binary adds the
//   eight metrics of Caruana & Niculescu-Mizil (ACC FSC LFT ROC APR BEP RMS MXE), multi-class
//   the one-vs-rest ROC area per class;
//   regression: loss, RMSE, MAE, R².
// With a calibrator (binary only), the model's calibration_scores go through it first.
// A learner's "loss" is the log loss of its probabilities (`loss` applies to networks).
nlohmann::json evaluate(ModelRef model, Task task, const std::vector<std::string>& class_names,
                        const data::Dataset& d, train::Loss loss, const eval::Calibrator* calibrator = nullptr);
std::string format_evaluation(const nlohmann::json& ev);

// Writes `report` (indented JSON) to `path` atomically; nothing when path is empty.
void write_report(const std::string& path, const nlohmann::json& report);

// P(positive) of each row for a binary model (column 0 of train::predict).
std::vector<double> positive_scores(ModelRef model, const Tensor& x);
// What a calibrator of a binary model is fitted on and applied to: a learner's raw score
// (Learner::decision_function: an SVM's decision value; P(positive) for the others), a
// network's P(positive). Fitting and applying must both use this.
std::vector<double> calibration_scores(ModelRef model, const Tensor& x);

}  // namespace bp::pipeline
