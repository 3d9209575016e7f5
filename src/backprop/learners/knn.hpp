// k-nearest neighbours by brute force (the `knn` learner; docs/learners.md). The training rows
// are kept, encoded as dense_features.hpp says (standardized by default; categorical features
// one-hot) and, with the gain-ratio metric, each feature's columns scaled by √(its gain ratio
// with the class), so that the squared Euclidean distance weighs feature j by its gain ratio.
// Distances come from one GEMM per block of queries, ‖q‖² − 2 q·x + ‖x‖², through backend/;
// blocks run in parallel on the backend pool. The k nearest are ordered by (distance, training
// row index): ties are broken by index order, deterministically. Their exact distances are then
// recomputed in double for the distance weights.
//   weights uniform:   P(c) = (neighbours of class c) / k
//   weights distance:  P(c) ∝ Σ 1/dist over the neighbours of class c; when some neighbours are
//                      at distance 0, they alone vote, with weight 1 (as scikit-learn).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/dense_features.hpp"
#include "backprop/learners/learner.hpp"

namespace bp::learners {

struct KnnOptions {
  int k = 5;
  std::string weights = "uniform";   // uniform | distance
  std::string metric = "euclidean";  // euclidean | gain-ratio
  bool standardize = true;
};

// The gain ratio of each feature with the class on the training set: categorical features over
// their categories, numeric ones over the intervals of their Fayyad–Irani MDL cuts (mdl_cuts in
// naive_bayes.hpp; a feature with no accepted cut has ratio 0). Rows missing the feature are
// left out. (d) values in [0, 1].
std::vector<double> gain_ratios(const TrainSet& t);

class KnnModel {
 public:
  static KnnModel fit(const TrainSet& t, const KnnOptions& o);
  // (rows, K) with the model's k.
  Tensor predict_proba(const MatrixView& X) const;
  // One (rows, K) tensor per k of `ks`, all from one sort of each query's distances: the study
  // scores a whole grid of k for the price of its largest. Every k must be in [1, training rows].
  std::vector<Tensor> predict_proba_grid(const MatrixView& X, const std::vector<int>& ks) const;
  // The kmax nearest training rows of each query (rows, kmax) and their distances (Euclidean, in
  // the encoded space), in the order used for voting.
  void neighbours(const MatrixView& X, int kmax, std::vector<int64_t>& index, std::vector<double>& dist) const;

  void save(nlohmann::json& meta, FlatArrays& arrays) const;
  static KnnModel load(const nlohmann::json& meta, const FlatArrays& arrays, const KnnOptions& o, int d, int K,
                       const std::vector<int>& categories);
  void validate() const;

  int64_t rows() const { return n_; }
  KnnOptions opt;
  int n_classes = 0;
  DenseEncoding enc;
  std::vector<double> feature_weight;  // (d) 1, or the gain ratios

 private:
  int64_t n_ = 0, width_ = 0;
  std::vector<float> x_;   // (n, width) encoded training rows
  std::vector<float> sq_;  // (n) their squared norms
  std::vector<int32_t> y_; // (n)
};

// KnnModel::predict_proba_grid through the Learner interface (what make_learner("knn") returns):
// one (rows, K) tensor per k of `ks`. A learner of another kind, or not fitted, is a LearnerError.
std::vector<Tensor> knn_predict_proba_grid(const Learner& knn, const MatrixView& X, const std::vector<int>& ks);

nlohmann::json knn_default_options();
std::unique_ptr<Learner> make_knn_learner(nlohmann::json options);
std::unique_ptr<Learner> load_knn_learner(const nlohmann::json& meta, const FlatArrays& arrays);

}  // namespace bp::learners
