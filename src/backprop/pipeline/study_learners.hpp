// The learners of `backprop study` and their parameter grids, as data: one table of
// (row name, kind, option sets per grid). A kind is a network trained here ("logistic",
// "mlp", "perceptron") or any kind of learners::make_learner; a kind this build does not know
// is skipped with a line saying so, so a learner added to learners/ joins the study by a row
// in this table. docs/evaluation.md lists the grids and what was cut from the paper's.
//
// One fit of one option set can stand for several configurations: boosted learners are
// scored at 2, 4, 8, ... steps from one fit (predict_proba_at), the MLP at 1, 2, 4, ...
// epochs from one run; the validation part picks among all of a learner's configurations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/data.hpp"

namespace bp::pipeline {

struct StudyLearner {
  std::string name;                 // the table's row: "BST-DT"
  std::string kind;                 // "logistic" | "mlp" | "perceptron" | a learners kind
  std::vector<nlohmann::json> paper;  // one option set per fit: the paper's grid (cut where said)
  std::vector<nlohmann::json> small;  // a small grid for --grid small and --quick
  std::string note;                 // how the grid differs from the paper's
  // Whether the uncalibrated score is a margin, min-max scaled to [0, 1] with the validation
  // part's range (the paper's treatment of SVM outputs).
  bool margin = false;
};

// Every learner of the study, in the paper's order, plus PRC (the perceptron) and XGB.
const std::vector<StudyLearner>& study_learners();
// Whether this build can fit the kind (a network here, or learners::learner_kinds()).
bool study_kind_available(const std::string& kind);

// Why this build cannot run the option set (an option the kind does not take, a bad value:
// make_learner's message), or "" when it can. Networks: "" for the options the table uses.
std::string study_options_problem(const std::string& kind, const nlohmann::json& options);

// One configuration's outputs: P(positive), or margins when StudyLearner::margin.
struct ScoredConfig {
  std::string name;                 // e.g. "steps=64" or "epochs=8" ("" for a fit of one configuration)
  std::vector<double> val, test;
  // The scores Platt and isotonic calibration are fitted on, when they differ from val/test:
  // a learner's decision_function (an SVM's decision value, naive Bayes' log-odds) where the
  // learner interface has one; empty otherwise.
  std::vector<double> val_score, test_score;
};

// Fits `kind` with `options` on `train` (binary labels) and scores `val` and `test` with every
// configuration the fit yields. `seed` seeds the fit (learners: the "seed" option; networks:
// initial weights and batch order); learners run with one thread (the study runs fits in
// parallel). Throws on a failed fit (e.g. DivergenceError, LearnerError).
std::vector<ScoredConfig> fit_study_configs(const std::string& kind, const nlohmann::json& options,
                                            const data::Dataset& train, const data::Dataset& val,
                                            const data::Dataset& test, uint64_t seed);

// Logistic regression with a ridge penalty: minimizes sum_i logloss_i + (ridge/2) |w|^2 (the
// bias is not penalized) by Newton's method in double precision (Cholesky solve, step halving
// until the objective falls; at most 50 iterations; a 1e-10 jitter on the Hessian's diagonal
// keeps it invertible on separable data). Returns (w_1..w_d, b).
std::vector<double> fit_ridge_logistic(const data::Dataset& train, double ridge);
std::vector<double> logistic_scores(const std::vector<double>& wb, const Tensor& x);

}  // namespace bp::pipeline
