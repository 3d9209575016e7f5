// The common interface of the learners (trees and their ensembles, XGBoost, SVM, k-NN, naive
// Bayes): fit on a matrix + labels + weights, probabilities out, snapshots of the boosted ones,
// and a storage form for model files (a small JSON header plus named flat float32 arrays, or one
// JSON document). docs/trees.md and docs/learners.md list the kinds and options.
//
//   auto m = make_learner("random-forest", {{"trees", 1024}, {"max_features", 8}});
//   m->fit(train);                      // TrainSet: X (n, d), y, optional w, K, feature kinds
//   Tensor p = m->predict_proba(X);     // (rows, K)
//   Stored s = m->save();               // s.meta (JSON) + s.arrays (FlatArrays)
//   auto m2 = load_learner(s.meta, s.arrays);   // validated: a corrupt model is a LearnerError
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/tree.hpp"

namespace bp::learners {

// What a model file stores for a learner: `meta` (kind, options, sizes, small results such as
// the out-of-bag error; XGBoost's own JSON model for kind "xgboost") and `arrays` (the trees).
struct Stored {
  nlohmann::json meta;
  FlatArrays arrays;
};

class Learner {
 public:
  virtual ~Learner() = default;
  // "tree", "bagged-trees", "random-forest", "boosted-trees", "boosted-stumps", "xgboost",
  // "svm", "knn", "naive-bayes"
  virtual std::string kind() const = 0;
  // The options as given, completed with their defaults (what make_learner accepts).
  virtual const nlohmann::json& options() const = 0;
  virtual void fit(const TrainSet& t) = 0;
  virtual bool fitted() const = 0;
  // (rows, K) class probabilities.
  virtual Tensor predict_proba(const MatrixView& X) const = 0;
  // Two classes: (rows) the learner's raw score, larger = more likely class 1 — what Platt and
  // isotonic calibration are fitted on. An SVM's decision value; by default P(class 1).
  // More than two classes: a LearnerError.
  virtual Tensor decision_function(const MatrixView& X) const;
  // Boosted learners: the model after its first `steps` steps (0 = all); steps() is how many
  // were fitted (boosting may stop early). Other learners have steps() = 0 and throw here.
  virtual int steps() const { return 0; }
  virtual Tensor predict_proba_at(const MatrixView& X, int steps) const;
  // Facts worth reporting after a fit (sizes, out-of-bag error, ...).
  virtual nlohmann::json summary() const = 0;

  virtual Stored save() const = 0;
  // One JSON document: meta plus every array as a list (for inspection and tests).
  nlohmann::json to_json() const;
  // Throws a LearnerError naming the first problem of a loaded model.
  virtual void validate() const = 0;
};

// A learner of the given kind with its options (keys as in docs/trees.md); an unknown kind,
// unknown option or bad value is a LearnerError naming it.
std::unique_ptr<Learner> make_learner(const std::string& kind, const nlohmann::json& options = nlohmann::json::object());
// The kinds make_learner knows, and each one's options with their defaults.
std::vector<std::string> learner_kinds();
nlohmann::json default_options(const std::string& kind);

// From save()'s output, or from to_json()'s; validated.
std::unique_ptr<Learner> load_learner(const nlohmann::json& meta, const FlatArrays& arrays);
std::unique_ptr<Learner> learner_from_json(const nlohmann::json& j);

// For the learners defined in their own files (svm.cpp, knn.cpp, naive_bayes.cpp): the fields
// every stored meta has ({format, kind, options, n_features, n_classes, categories}), their
// check, and a named array (missing = LearnerError).
nlohmann::json stored_meta(const std::string& kind, const nlohmann::json& options, int n_features, int n_classes,
                           const std::vector<int>& categories);
struct StoredShape {
  int n_features = 0, n_classes = 0;
  std::vector<int> categories;  // (n_features)
};
StoredShape read_stored_meta(const nlohmann::json& meta);
const Tensor& stored_array(const FlatArrays& arrays, const std::string& name);

}  // namespace bp::learners
