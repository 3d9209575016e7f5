// Ensembles of trees: bagging / random forests (Breiman) and AdaBoost (SAMME) on trees or stumps.
//
// Every tree gets its own seed, derived from the ensemble's seed and the tree's index
// (tree_seed), and the trees' outputs are combined in index order, so a fit and its predictions
// are the same at any thread count. Trees are grown in parallel on the backend's worker pool;
// boosting is sequential, and its trees evaluate the features in parallel at large nodes.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "backprop/learners/tree.hpp"

namespace bp::learners {

// The seed of tree i of an ensemble seeded with `seed` (splitmix64 of both).
uint64_t tree_seed(uint64_t seed, int64_t i);

// Bagged trees (max_features = 0: every feature at every split) or a random forest
// (max_features = m: m features drawn per split).
struct ForestOptions {
  int n_trees = 1024;
  bool bootstrap = true;    // n rows drawn with replacement per tree (as scikit-learn)
  bool oob = true;          // compute the out-of-bag error (needs bootstrap)
  TreeOptions tree;         // per-tree options (max_features, depth, leaf size, criterion, laplace)
  uint64_t seed = 1;
  int threads = 0;          // 0 = backend::num_threads()
};

struct Forest {
  int n_features = 0, n_classes = 0;
  std::vector<int> categories;
  std::vector<Tree> trees;
  // Out-of-bag: weighted fraction of the rows misclassified by the average of the trees that did
  // not see them, over the rows that at least one tree left out (NaN when not computed).
  double oob_error = std::numeric_limits<double>::quiet_NaN();
  int64_t oob_rows = 0;

  // (rows, K): the mean of the trees' leaf probabilities (scikit-learn's predict_proba).
  Tensor predict_proba(const MatrixView& X, int threads = 0) const;
  void validate() const;
};

Forest fit_forest(const TrainSet& t, const ForestOptions& o);

// AdaBoost, SAMME (Zhu, Zou, Rosset & Hastie 2009; scikit-learn's algorithm="SAMME"): each step
// fits a tree to the weighted rows, err = weighted error, α = lr · (ln((1−err)/err) + ln(K−1)),
// the misclassified rows' weights are multiplied by e^α and all renormalised. Stops early when a
// tree is perfect (kept with α = 1) or no better than chance (dropped; an error if it is the first).
struct BoostOptions {
  int steps = 2048;
  double learning_rate = 1.0;
  TreeOptions tree;  // max_depth = 1 for stumps
  uint64_t seed = 1;
  int threads = 0;   // for the per-node feature search and for scoring; 0 = backend::num_threads()
};

struct Boosted {
  int n_features = 0, n_classes = 0;
  std::vector<int> categories;
  std::vector<Tree> trees;
  std::vector<double> alpha;  // (steps) estimator weights
  std::vector<double> error;  // (steps) weighted training error of each tree

  int steps() const { return static_cast<int>(trees.size()); }
  // The SAMME decision function of the first `steps` trees (0 or more than fitted = all):
  // (rows, K) f_k = Σ α_m [tree_m predicts k] / Σ α_m; for K = 2 returns (rows, 1) f_1 − f_0.
  Tensor decision(const MatrixView& X, int steps = 0, int threads = 0) const;
  // scikit-learn's probabilities from it: softmax(f / (K−1)) (for K = 2, softmax(±d/2)).
  Tensor predict_proba(const MatrixView& X, int steps = 0, int threads = 0) const;
  void validate() const;
};

Boosted fit_adaboost(const TrainSet& t, const BoostOptions& o);

}  // namespace bp::learners
