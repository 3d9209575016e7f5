// Features as plain numbers for the kernel and distance learners (svm, knn): a numeric column
// stays one column (optionally standardized, optionally weighted), a categorical column of c
// codes becomes c one-hot columns. Missing values (NaN) have no place in a kernel or a distance:
// they are a LearnerError naming the row and feature, as is a code outside 0..c−1.
// Also the option readers these learners share.
#pragma once

#include <memory>

#include "backprop/learners/learner.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/tree.hpp"

namespace bp::learners {

struct DenseEncoding {
  std::vector<int> categories;  // (d) 0 = numeric, c > 0 = categorical with codes 0..c−1
  std::vector<float> shift;     // (d) numeric: x ↦ (x − shift)·scale; categorical: unused (0)
  std::vector<float> scale;     // (d) numeric: see shift; categorical: the value of a one-hot 1

  int64_t n_features() const { return static_cast<int64_t>(categories.size()); }
  int64_t width() const;
  // (rows, width) row-major. `who` prefixes the error ("knn: row 3, feature 2 is missing (NaN)").
  std::vector<float> encode(const MatrixView& X, const std::string& who) const;
  // Identity shift/scale, or with `standardize` the training mean and 1/(population standard
  // deviation) of each numeric feature (1 when the feature is constant). A numeric feature whose
  // training values are all 0 or 1 — an indicator, as the pipeline one-hot codes a category — is
  // left as it is, as the pipeline's own standardization leaves it.
  static DenseEncoding fit(const TrainSet& t, bool standardize);
  // Throws a LearnerError if the sizes disagree or a value is not finite.
  void validate(const std::string& who) const;
};

// Option readers: the value of key k, checked to lie in [lo, hi] (a LearnerError naming it).
int option_int(const nlohmann::json& o, const char* k, int64_t lo, int64_t hi, const std::string& kind);
double option_num(const nlohmann::json& o, const char* k, double lo, double hi, const std::string& kind);
std::string option_choice(const nlohmann::json& o, const char* k, const std::vector<std::string>& allowed, const std::string& kind);

// The labels must be in range and every weight 1 (or w null): the svm and knn learners take no
// sample weights. Throws a LearnerError naming the learner.
void require_unweighted(const TrainSet& t, const std::string& who);

// What the model-backed learners (svm, knn, naive-bayes) share around their model: the options
// as given (Options: what the constructor read from them), the fitted model, the "not fitted"
// guard, fitting (Model::fit(t, options)), class probabilities (the model's predict_proba) and
// validation. Each adds its summary, save and load (and a decision function where it has one).
template <class Model, class Options>
class ModelLearner : public Learner {
 public:
  ModelLearner(std::string kind, nlohmann::json options) : kind_(std::move(kind)), o_(std::move(options)) {}
  std::string kind() const override { return kind_; }
  const nlohmann::json& options() const override { return o_; }
  bool fitted() const override { return fitted_; }
  void fit(const TrainSet& t) override { set_model(Model::fit(t, opt_)); }
  Tensor predict_proba(const MatrixView& X) const override {
    need();
    return m_.predict_proba(X);
  }
  void validate() const override {
    need();
    m_.validate();
  }
  const Model& model() const {
    need();
    return m_;
  }

 protected:
  void need() const {
    if (!fitted_) throw LearnerError(kind_ + ": the model is not fitted");
  }
  void set_model(Model m) {
    m_ = std::move(m);
    fitted_ = true;
  }
  std::string kind_;
  nlohmann::json o_;
  Options opt_;
  Model m_;
  bool fitted_ = false;
};

// load_learner for such a kind: a learner made from the stored options, its model restored by
// L::load(meta, arrays).
template <class L>
std::unique_ptr<Learner> load_model_learner(const std::string& kind, const nlohmann::json& meta, const FlatArrays& arrays) {
  auto l = make_learner(kind, meta.at("options"));
  static_cast<L*>(l.get())->load(meta, arrays);
  return l;
}

}  // namespace bp::learners
