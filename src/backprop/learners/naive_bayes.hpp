// Naive Bayes (the `naive-bayes` learner; docs/learners.md): P(c | x) ∝ P(c) Πⱼ p(xⱼ | c), in
// log space. Class priors are the (weighted) class frequencies. Per feature:
//   categorical (c codes)   counts with additive smoothing: (n_cv + alpha) / (n_c + alpha·c);
//   numeric, `numeric` =
//     gaussian     a normal density per class, mean and population variance of the class's
//                  values plus var_smoothing × the largest variance of any numeric feature
//                  (scikit-learn's GaussianNB, whose default 1e-9 is ours);
//     kernel       a Gaussian kernel density per class, one kernel per training value with
//                  standard deviation max(range_c / √n_c, precision / 6) (Weka's
//                  KernelEstimator: range_c and n_c of the class's values, precision the mean
//                  gap between the feature's adjacent distinct training values);
//     discretize   the values cut into intervals by Fayyad & Irani's MDL rule (mdl_cuts, on the
//                  whole training set), then counts with additive smoothing as a categorical.
// A missing value (NaN), or a category code out of range at prediction, leaves that feature out
// of the row's product (fitting: out of that feature's statistics). The learner's
// decision_function (two classes) is the log-odds z = log P(1|x) − log P(0|x) compressed as
// sign(z)·ln(1 + |z|) (monotone; bounded enough for Platt scaling).
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/learner.hpp"

namespace bp::learners {

// Fayyad & Irani (1993): the cut points of a numeric feature that recursively split the sorted
// values where the class entropy drops most, each accepted only while the information gain
// exceeds the MDL bound log2(N−1)/N + Δ/N, Δ = log2(3^k − 2) − [k·E(S) − k₁·E(S₁) − k₂·E(S₂)]
// (k = classes present). Cuts are midpoints between adjacent distinct values, ascending;
// a value x is in interval #{cuts < x}. NaN values are left out; w may be null (weights 1).
std::vector<float> mdl_cuts(const float* x, const int32_t* y, const float* w, int64_t n, int64_t stride, int n_classes);

struct NaiveBayesOptions {
  std::string numeric = "gaussian";  // gaussian | kernel | discretize
  double alpha = 1.0;                // additive smoothing of counts (categorical, discretized)
  double var_smoothing = 1e-9;       // gaussian: added variance, × the largest feature variance
};

class NaiveBayesModel {
 public:
  static NaiveBayesModel fit(const TrainSet& t, const NaiveBayesOptions& o);
  // (rows, K) class probabilities; joint_log (rows, K) the unnormalised log P(c) + Σ log p(xⱼ|c).
  Tensor predict_proba(const MatrixView& X) const;
  std::vector<double> joint_log(const MatrixView& X) const;

  void save(nlohmann::json& meta, FlatArrays& arrays) const;
  static NaiveBayesModel load(const nlohmann::json& meta, const FlatArrays& arrays, const NaiveBayesOptions& o, int d, int K,
                              const std::vector<int>& categories);
  void validate() const;

  int n_features = 0, n_classes = 0;
  std::vector<int> categories;      // (d)
  NaiveBayesOptions opt;
  std::vector<double> log_prior;    // (K); −inf for a class absent from the training set
  // gaussian: (d, K) mean and variance (categorical features: unused)
  std::vector<double> mean, var;
  // categorical and discretized numeric features: per feature its bins (categories, or cuts + 1)
  // and (bins, K) log probabilities, concatenated; offset[j] = start of feature j's block
  std::vector<std::vector<float>> cuts;  // (d) discretize: the cut points of each numeric feature
  std::vector<int64_t> offset;           // (d + 1) into log_prob, in units of K
  std::vector<double> log_prob;          // (Σ bins, K)
  // kernel: per numeric feature and class, the distinct training values with their weights,
  // and the class's bandwidth
  std::vector<int64_t> kde_offset;       // (d·K + 1) into kde_value / kde_weight
  std::vector<float> kde_value, kde_weight;
  std::vector<double> kde_sd;            // (d·K)
};

nlohmann::json naive_bayes_default_options();
std::unique_ptr<Learner> make_naive_bayes_learner(nlohmann::json options);  // options completed by make_learner
std::unique_ptr<Learner> load_naive_bayes_learner(const nlohmann::json& meta, const FlatArrays& arrays);

}  // namespace bp::learners
