// One decision tree: the core that every tree learner (tree, bagged-trees, random-forest,
// boosted-trees, boosted-stumps) grows and scores. docs/trees.md describes the models.
//
// Input: a dense (n, d) row-major float matrix with NaN for a missing value; per feature its kind
// (numeric, or categorical with c categories whose values are the codes 0..c−1); class labels
// 0..K−1 and optional sample weights.
//
// Splits are binary. Numeric features are binned once (bin_features): with at most `max_bins`
// distinct values every distinct value is its own bin and the candidate thresholds are the
// midpoints between consecutive values, exactly as scikit-learn's sorted splitter; with more,
// quantile bins. At each node a feature's class histogram is built either densely (one slot per
// bin) or, when the node has few rows for the feature's many bins, by sorting the node's rows by
// bin — both give the same candidates, the cheaper one is used. With two classes a 0/1 feature
// (one-hot columns) is summed in registers instead, and when every feature is tried at every split
// (bagging, boosting) only the smaller child's sums are computed, the larger's being its parent's
// minus them (histogram subtraction). Categorical splits send a subset
// of the categories left: for two classes the categories are ordered by their positive rate and
// the best prefix is taken (optimal for Gini and entropy); for K > 2 the K one-versus-rest
// orderings are each scanned and the best prefix of any is taken (a heuristic).
//
// Missing values: every split learns a default direction — the rows whose feature is missing
// are tried on either side and sent where the gain is larger (XGBoost's way, not C4.5's
// fractional cases). With no missing rows in the node the default is the heavier child. At
// prediction, a NaN (or, for a categorical feature, a code that is not an integer in range)
// follows the default direction; a valid category never seen at the node goes right.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backprop/tensor/tensor.hpp"

namespace bp::learners {

// Bad options, bad data or a corrupt stored model. what() is a full sentence without the
// "backprop: error:" prefix (the CLI adds it).
struct LearnerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A read-only row-major view: row i is data[i*cols .. i*cols + cols).
struct MatrixView {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0;
  const float* row(int64_t i) const { return data + i * cols; }
};

// Named flat float32 arrays (the same type as io::NamedTensors), for the safetensors part of a
// model file: integer arrays (indices, features) are stored as exact float32 integers.
using FlatArrays = std::vector<std::pair<std::string, Tensor>>;

// What a learner is fitted on. `categories` has one entry per feature: 0 = numeric, c > 0 =
// categorical with codes 0..c−1 (empty = all numeric). `w` may be null (all weights 1).
struct TrainSet {
  MatrixView X;                 // (n, d)
  const int32_t* y = nullptr;   // (n) in [0, n_classes)
  const float* w = nullptr;     // (n) finite, ≥ 0, not all 0; or null
  int n_classes = 0;            // K ≥ 2
  std::vector<int> categories;  // (d) or empty
};

// Checks a TrainSet (shapes, K ≥ 2, labels in range, finite non-negative weights with a positive
// sum, categorical codes integral and in range or NaN) and throws a LearnerError naming the first
// problem. Not every class need be present (its probability is then 0, or 1/(n+K) with Laplace).
void check_train_set(const TrainSet& t);

// Class codes from float labels (as a Dataset holds them): NaN, non-integral or out-of-range
// values are an error naming the row.
std::vector<int32_t> labels_from_floats(const float* y, int64_t n, int n_classes);

// The features coded once for growing many trees: codes are column-major (d, n) so that one
// feature's codes over a node's rows are read from one array. Code 0 = missing, 1..n_bins[f] =
// a value's bin (numeric) or category + 1 (categorical).
struct BinnedFeatures {
  int64_t n = 0, d = 0;
  std::vector<uint16_t> codes;          // (d, n)
  std::vector<int> n_bins;              // (d)
  std::vector<int> categories;          // (d) 0 = numeric
  std::vector<std::vector<float>> cut;  // numeric f: (n_bins[f] − 1) bin edges; x <= cut[b] ⇔ bin ≤ b
  std::vector<std::vector<float>> lo, hi;  // numeric f: (n_bins[f]) least and greatest training value per bin
  bool has_missing = false;
};
// max_bins in [2, 65535]: numeric features with more distinct values get quantile bins.
BinnedFeatures bin_features(const MatrixView& X, const std::vector<int>& categories, int max_bins);

enum class Criterion { gini, entropy, gain_ratio };
enum class Pruning { none, cost_complexity, pessimistic };

struct TreeOptions {
  Criterion criterion = Criterion::gini;
  int max_depth = 0;                 // 0 = unlimited; the root has depth 0
  int64_t min_samples_split = 2;     // rows (with non-zero weight) a node needs to be split
  int64_t min_samples_leaf = 1;      // rows each child must have (≥ 1)
  double min_weight_leaf = 0;        // sum of weights each child must have
  double min_gain = 0;               // scikit-learn's min_impurity_decrease: (W_t/W)·Δimpurity
  int max_features = 0;              // features tried per split: 0 = all (in order), else drawn at random
  int max_bins = 65535;              // see bin_features
  Pruning pruning = Pruning::none;
  double ccp_alpha = 0;              // cost-complexity: prune every subtree whose α_eff ≤ ccp_alpha
  int ccp_folds = 0;                 // > 0: choose ccp_alpha by this many folds of cross-validation
  double ccp_holdout = 0;            // in (0,1): choose ccp_alpha on this fraction held out (if ccp_folds = 0)
  double confidence = 0.25;          // C4.5's CF for pessimistic pruning
  bool laplace = false;              // leaf probabilities (k+1)/(n+K) instead of k/n
  uint64_t seed = 1;                 // for max_features and the ccp folds
  int threads = 1;                   // features evaluated in parallel at large nodes (1 = serial)
  // Two classes, every feature tried at each split: the smaller child's sums of the 0/1 features
  // are computed and the larger child's taken as its parent's minus them (the same tree for
  // integer weights; false computes both, for tests and measurement).
  bool subtract = true;
};

// Parses "gini" | "entropy" | "gain-ratio" and "none" | "ccp" | "pessimistic".
Criterion parse_criterion(const std::string& s);
Pruning parse_pruning(const std::string& s);
std::string to_string(Criterion c);
std::string to_string(Pruning p);

// A grown tree in flat arrays. Nodes are numbered in preorder (left subtree first), so every
// child's index is greater than its parent's; node 0 is the root. A leaf has left = right = −1.
struct Tree {
  struct Node {
    int32_t feature = -1;     // split feature (internal nodes)
    float threshold = 0;      // numeric: x <= threshold goes left
    int32_t left = -1, right = -1;
    int32_t cat_offset = -1;  // categorical: start of this node's mask in cat_left; −1 = numeric
    uint8_t default_left = 0; // where a missing value goes
  };
  int n_features = 0, n_classes = 0;
  std::vector<int> categories;    // (n_features)
  std::vector<Node> nodes;
  std::vector<uint8_t> cat_left;  // concatenated masks, categories[feature] entries per categorical split
  std::vector<float> counts;      // (n_nodes, K) weighted class counts of the training rows at each node
  std::vector<float> value;       // (n_nodes, K) class probabilities (raw or Laplace)
  bool laplace = false;

  int64_t size() const { return static_cast<int64_t>(nodes.size()); }
  int64_t n_leaves() const;
  int depth() const;
  // The leaf a row (n_features floats) falls into.
  int32_t leaf(const float* x) const;
  // out (rows, K) += scale · value[leaf(row)]
  void accumulate_proba(const MatrixView& X, float* out, float scale) const;
  // (rows, K) probabilities.
  Tensor predict_proba(const MatrixView& X) const;
  // Recomputes `value` from `counts` (raw or Laplace).
  void set_values(bool laplace);

  // Throws a LearnerError naming the first problem: child indices out of range or not forming one
  // tree, features ≥ n_features, bad thresholds or masks, probabilities not finite or not summing
  // to 1. A tree that passes can be scored without any out-of-range access.
  void validate() const;

  nlohmann::json to_json() const;
  static Tree from_json(const nlohmann::json& j);  // validates
  // Arrays "<prefix>feature", "threshold", "left", "right", "default_left", "cat_offset" (n_nodes),
  // "cat_left" (mask length), "counts" and "value" (n_nodes, K).
  void append_arrays(const std::string& prefix, FlatArrays& out) const;
  static Tree from_arrays(const std::string& prefix, const FlatArrays& in, int n_features, int n_classes,
                          const std::vector<int>& categories, bool laplace);  // validates
};

// A Tree's numeric splits in 12-byte nodes for scoring many rows: the same preorder numbering
// (the left child of node i is i + 1), feature −1 at a leaf. `leaves` walks several rows through
// the tree at once, each step a compare and a select without a branch, so the rows' node loads
// overlap instead of each waiting on a mispredicted branch; a row that reaches its leaf hands its
// lane to the next row. A tree with categorical splits, and a row with a NaN (which must follow
// the learned default direction), take the reference walk (Tree::leaf). The leaves found are
// exactly Tree::leaf's (tested on random trees).
class FastTree {
 public:
  FastTree() = default;
  explicit FastTree(const Tree& t);
  // out[r] = t.leaf(X.row(r)) for r < X.rows. row_nan (X.rows, or null = no NaN anywhere) flags the
  // rows holding a NaN.
  void leaves(const MatrixView& X, const uint8_t* row_nan, int32_t* out) const { leaves(X, nullptr, X.rows, row_nan, out); }
  // The same for the rows rows[0..count) of X (row_nan indexed by X's rows): out[j] for rows[j].
  void leaves(const MatrixView& X, const int64_t* rows, int64_t count, const uint8_t* row_nan, int32_t* out) const;

 private:
  struct Node {
    int32_t feature;  // −1 at a leaf
    float threshold;
    int32_t right;
  };
  const Tree* tree_ = nullptr;
  std::vector<Node> nodes_;  // empty when the tree has categorical splits
};

// row_nan[r] = 1 when row r of X holds a NaN (for FastTree::leaves); returns whether any does.
bool rows_with_nan(const MatrixView& X, uint8_t* row_nan);

// Grows one tree on the rows `rows` (indices into the binned features; repeats allowed, rows of
// weight 0 are dropped) with per-row weights w (null = 1) and labels y. The binned features are
// shared read-only between trees grown in parallel.
Tree grow_tree(const BinnedFeatures& bf, const int32_t* y, const float* w, int n_classes,
               const TreeOptions& o, const std::vector<int64_t>* rows = nullptr);

// Fits a tree on a TrainSet, with pruning as the options say (the entry point of the `tree` learner).
Tree fit_tree(const TrainSet& t, const TreeOptions& o);

// Pruning, in place (the tree is renumbered). Cost-complexity: the minimal subtree for alpha,
// with R(t) = W_t/W_root · impurity(t) under the tree's criterion (gain ratio uses entropy), as
// scikit-learn's ccp_alpha. Pessimistic: C4.5's error-based pruning with confidence `cf`
// (subtree replacement only, no subtree raising).
void prune_cost_complexity(Tree& t, Criterion c, double alpha);
void prune_pessimistic(Tree& t, double cf);
// The effective alphas of the weakest-link pruning sequence (ascending, starting at 0).
std::vector<double> ccp_alphas(const Tree& t, Criterion c);
// C4.5's estimate of the extra errors of a leaf with N (weighted) rows and E errors at confidence cf.
double c45_added_errors(double N, double E, double cf);

}  // namespace bp::learners
