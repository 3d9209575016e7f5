// The protocol of Caruana & Niculescu-Mizil (ICML 2006) on one data set and one or more
// binary views of it, with the project's models (`backprop study`):
//   * up to 5000 random cases train (at most 80 % of the rows), all others are the final test set;
//   * 5 trials by 5-fold cross-validation on the training cases: 4/5 train a model, the
//     other 1/5 (the validation set) fits the calibrators and picks each learner's
//     parameters, separately for every metric (as the paper does);
//   * learners: logistic regression (a grid of learning rates), the perceptron (a grid of
//     epoch counts; its margin as the score, min–max scaled with the validation set's range and clipped to [0, 1]),
//     and MLPs over a grid of hidden sizes and learning rates; each uncalibrated, with
//     Platt scaling and with isotonic regression;
//   * test-set metrics averaged over the trials; normalized scores against the baseline and
//     the best model per problem (eval/study.hpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/observer.hpp"
#include "backprop/eval/study.hpp"

namespace bp::pipeline {

struct StudyOptions {
  data::DataSpec data;                             // the CSV, target column, ignored columns
  std::vector<std::string> views;            // named views (LETTER.P1, …); or data.positive for one problem
  int64_t max_train = 5000;
  int trials = 5;                            // folds of the cross-validation
  uint64_t seed = 1;
  std::vector<std::vector<int64_t>> mlp_hidden{{8}, {32}, {128}};
  std::vector<double> mlp_lrs{0.001, 0.01};  // Adam, batch 32
  int mlp_epochs = 50;
  std::vector<double> lr_lrs{0.1, 1.0};      // logistic regression (full-batch gradient descent)
  int lr_epochs = 300;
  std::vector<int> perceptron_epochs{1, 5, 20, 50};  // the perceptron's one parameter: when to stop
  std::string output;                        // PREFIX: writes PREFIX.txt, PREFIX.csv, PREFIX.json ("" none)
};

struct StudyResult {
  eval::StudyTable table;                    // normalized, per model × calibration
  std::vector<std::string> problems;
  double seconds = 0;
  std::vector<std::string> files;            // written, in order .txt, .csv, .json
};

// observer.line receives a line per finished (problem, trial). Throws UsageError for options
// that cannot work (fewer than 2 trials, Fashion-MNIST, no binary task named).
StudyResult run_study(const StudyOptions& o, const Observer& observer = {});

// Raw metrics per problem in the paper's layout (MODEL, CAL, eight metrics).
std::string format_raw_rows(const eval::StudyTable& t);

}  // namespace bp::pipeline
