// Gradient-boosted trees through the real XGBoost library (Debian libxgboost-dev, its C API):
// the modern reference learner the 2006 study did not have. The fitted booster is kept as
// XGBoost's own JSON model (XGBoosterSaveModelToBuffer), which is what a model file stores.
// All features are passed as numeric (categorical codes included); NaN is XGBoost's missing value.
#pragma once

#include <memory>
#include <string>

#include "backprop/learners/tree.hpp"

namespace bp::learners {

struct XgbOptions {
  int n_trees = 300;          // boosting rounds
  int max_depth = 6;
  double eta = 0.3;           // learning rate
  std::string tree_method = "hist";
  double subsample = 1.0, colsample_bytree = 1.0, min_child_weight = 1.0, lambda = 1.0;
  uint64_t seed = 0;
  int threads = 0;            // 0 = backend::num_threads()
};

class XgbModel {
 public:
  XgbModel();
  ~XgbModel();
  XgbModel(XgbModel&&) noexcept;
  XgbModel& operator=(XgbModel&&) noexcept;

  static XgbModel fit(const TrainSet& t, const XgbOptions& o);
  // (rows, K) class probabilities (binary:logistic or multi:softprob).
  Tensor predict_proba(const MatrixView& X, int threads = 0) const;
  // XGBoost's JSON model, and a model from it (checked by XGBoost's loader and against the
  // stated features, classes and rounds; a bad buffer is a LearnerError).
  std::string save_json() const;
  static XgbModel load_json(const std::string& json, int n_features, int n_classes);

  int n_features() const { return n_features_; }
  int n_classes() const { return n_classes_; }
  int rounds() const;

 private:
  void* booster_ = nullptr;
  int n_features_ = 0, n_classes_ = 0;
};

// The version of the linked library, e.g. "1.7.4".
std::string xgboost_version();

}  // namespace bp::learners
