// Support vector machines (the `svm` learner; docs/learners.md): C-SVC trained by the real
// libsvm (Debian libsvm-dev), kernels linear u·v, poly (γ u·v + coef0)^degree and rbf
// exp(−γ‖u−v‖²); γ = 0 means 1/(encoded features), libsvm's and scikit-learn's 'auto'. Features
// are encoded as dense_features.hpp says, unstandardized (the pipeline's preprocessing has
// standardized them already); NaN is an error. Two classes only.
//
// The score is the decision value f(x) = Σᵢ coefᵢ K(svᵢ, x) − rho, positive for class 1 (as
// scikit-learn's decision_function). It is computed here from the stored support vectors with
// BLAS (one GEMM per block of rows; the linear kernel folds the vectors into one weight vector)
// and equals libsvm's svm_predict_values (checked in tests/learners/test_svm.cpp). The
// uncalibrated probability is the paper's: f scaled to [0, 1] by (f − min)/(max − min) with the
// min and max of f over the training set, clipped to [0, 1] — calibrate with Platt or isotonic
// (fitted on f itself, Learner::decision_function).
//
// libsvm draws from rand() only for its probability estimates and cross-validation, which are
// not used; the learner still seeds rand() with `seed` before training, so a fit is
// deterministic whatever else ran before it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/dense_features.hpp"
#include "backprop/learners/learner.hpp"

namespace bp::learners {

struct SvmOptions {
  std::string kernel = "rbf";  // linear | poly | rbf
  int degree = 3;
  double C = 1.0, gamma = 0.0, coef0 = 0.0;
  double tolerance = 1e-3;     // libsvm's eps: the stopping tolerance of its SMO solver
  double cache_mb = 200;       // libsvm's kernel cache
  uint64_t seed = 1;
};

class SvmModel {
 public:
  static SvmModel fit(const TrainSet& t, const SvmOptions& o);
  // (rows) f(x), computed from the stored arrays with BLAS.
  std::vector<double> decision(const MatrixView& X) const;
  // The same through libsvm's own svm_predict_values on an svm_model rebuilt from the arrays.
  std::vector<double> decision_libsvm(const MatrixView& X) const;
  // (rows, 2): P(class 1) = clip((f − score_min)/(score_max − score_min)), P(class 0) = 1 − it.
  Tensor predict_proba(const MatrixView& X) const;

  void save(nlohmann::json& meta, FlatArrays& arrays) const;
  static SvmModel load(const nlohmann::json& meta, const FlatArrays& arrays, const SvmOptions& o, int d,
                       const std::vector<int>& categories);
  void validate() const;

  int64_t n_sv() const { return static_cast<int64_t>(coef.size()); }
  SvmOptions opt;
  double gamma = 0;             // the γ used (resolved from 0)
  DenseEncoding enc;
  std::vector<float> sv;        // (n_sv, width) support vectors, encoded
  std::vector<double> coef;     // (n_sv) yᵢαᵢ, signed so that f > 0 means class 1
  double rho = 0;
  double score_min = 0, score_max = 0;  // f over the training set

 private:
  void prepare();               // the derived arrays below, after fit or load
  int64_t width_ = 0;
  std::vector<double> w_;       // linear kernel: Σ coefᵢ svᵢ (width)
  std::vector<float> sv_sq_;    // rbf: ‖svᵢ‖²
};

// The linked libsvm's version, e.g. "3.24".
std::string libsvm_version_string();

nlohmann::json svm_default_options();
std::unique_ptr<Learner> make_svm_learner(nlohmann::json options);
std::unique_ptr<Learner> load_svm_learner(const nlohmann::json& meta, const FlatArrays& arrays);

}  // namespace bp::learners
