#include "backprop/learners/xgboost.hpp"

#include <xgboost/c_api.h>

#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/backend/backend.hpp"

namespace bp::learners {

namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw LearnerError(std::string("xgboost: ") + what + ": " + XGBGetLastError());
}

// A DMatrix that frees itself.
struct DMatrix {
  DMatrixHandle h = nullptr;
  DMatrix(const MatrixView& X) {
    check(XGDMatrixCreateFromMat(X.data, static_cast<bst_ulong>(X.rows), static_cast<bst_ulong>(X.cols), std::nanf(""), &h),
          "cannot build the data matrix");
  }
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
};

int threads_of(int t) { return t > 0 ? t : std::max(1, backend::num_threads()); }

void set(BoosterHandle b, const std::string& k, const std::string& v) { check(XGBoosterSetParam(b, k.c_str(), v.c_str()), "bad parameter"); }

}  // namespace

XgbModel::XgbModel() = default;
XgbModel::~XgbModel() {
  if (booster_) XGBoosterFree(booster_);
}
XgbModel::XgbModel(XgbModel&& o) noexcept : booster_(o.booster_), n_features_(o.n_features_), n_classes_(o.n_classes_) { o.booster_ = nullptr; }
XgbModel& XgbModel::operator=(XgbModel&& o) noexcept {
  if (this != &o) {
    if (booster_) XGBoosterFree(booster_);
    booster_ = o.booster_;
    n_features_ = o.n_features_;
    n_classes_ = o.n_classes_;
    o.booster_ = nullptr;
  }
  return *this;
}

XgbModel XgbModel::fit(const TrainSet& t, const XgbOptions& o) {
  check_train_set(t);
  if (o.n_trees < 1) throw LearnerError("the number of boosting rounds must be at least 1");
  if (o.max_depth < 0) throw LearnerError("max_depth must be >= 0");
  if (!(o.eta > 0)) throw LearnerError("eta must be positive");
  DMatrix d(t.X);
  std::vector<float> label(t.y, t.y + t.X.rows);
  check(XGDMatrixSetFloatInfo(d.h, "label", label.data(), static_cast<bst_ulong>(label.size())), "cannot set the labels");
  if (t.w) check(XGDMatrixSetFloatInfo(d.h, "weight", t.w, static_cast<bst_ulong>(t.X.rows)), "cannot set the weights");
  XgbModel m;
  m.n_features_ = static_cast<int>(t.X.cols);
  m.n_classes_ = t.n_classes;
  check(XGBoosterCreate(&d.h, 1, &m.booster_), "cannot create a booster");
  set(m.booster_, "verbosity", "0");
  if (t.n_classes == 2) {
    set(m.booster_, "objective", "binary:logistic");
  } else {
    set(m.booster_, "objective", "multi:softprob");
    set(m.booster_, "num_class", std::to_string(t.n_classes));
  }
  set(m.booster_, "max_depth", std::to_string(o.max_depth));
  set(m.booster_, "eta", std::to_string(o.eta));
  set(m.booster_, "tree_method", o.tree_method);
  set(m.booster_, "subsample", std::to_string(o.subsample));
  set(m.booster_, "colsample_bytree", std::to_string(o.colsample_bytree));
  set(m.booster_, "min_child_weight", std::to_string(o.min_child_weight));
  set(m.booster_, "lambda", std::to_string(o.lambda));
  set(m.booster_, "seed", std::to_string(o.seed));
  set(m.booster_, "nthread", std::to_string(threads_of(o.threads)));
  for (int i = 0; i < o.n_trees; ++i) check(XGBoosterUpdateOneIter(m.booster_, i, d.h), "training failed");
  return m;
}

int XgbModel::rounds() const {
  int r = 0;
  if (booster_) check(XGBoosterBoostedRounds(booster_, &r), "cannot count the rounds");
  return r;
}

Tensor XgbModel::predict_proba(const MatrixView& X, int threads) const {
  if (!booster_) throw LearnerError("xgboost: the model is not fitted");
  if (X.cols != n_features_) throw LearnerError("the model expects " + std::to_string(n_features_) + " features, got " + std::to_string(X.cols));
  set(booster_, "nthread", std::to_string(threads_of(threads)));
  DMatrix d(X);
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* res = nullptr;
  check(XGBoosterPredictFromDMatrix(booster_, d.h, config, &shape, &dim, &res), "prediction failed");
  const int K = n_classes_;
  Tensor out({X.rows, static_cast<int64_t>(K)});
  // strict_shape: (rows, groups) with one group (P(class 1)) for binary:logistic, K for softprob.
  const int64_t groups = dim >= 2 ? static_cast<int64_t>(shape[1]) : 1;
  if (dim < 1 || static_cast<int64_t>(shape[0]) != X.rows || groups != (K == 2 ? 1 : K))
    throw LearnerError("xgboost: unexpected prediction shape");
  for (int64_t r = 0; r < X.rows; ++r) {
    if (K == 2) {
      out[r * 2 + 1] = res[r];
      out[r * 2] = 1.0f - res[r];
    } else {
      for (int k = 0; k < K; ++k) out[r * K + k] = res[r * K + k];
    }
  }
  return out;
}

std::string XgbModel::save_json() const {
  if (!booster_) throw LearnerError("xgboost: the model is not fitted");
  bst_ulong len = 0;
  const char* buf = nullptr;
  check(XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &len, &buf), "cannot save the model");
  return std::string(buf, len);
}

XgbModel XgbModel::load_json(const std::string& json, int n_features, int n_classes) {
  if (n_features < 1 || n_classes < 2) throw LearnerError("xgboost: bad feature or class count");
  // XGBoost's parser aborts the process on some malformed input: check it is JSON first.
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("learner")) throw LearnerError("xgboost: the stored model is not XGBoost JSON");
  XgbModel m;
  m.n_features_ = n_features;
  m.n_classes_ = n_classes;
  check(XGBoosterCreate(nullptr, 0, &m.booster_), "cannot create a booster");
  check(XGBoosterLoadModelFromBuffer(m.booster_, json.data(), static_cast<bst_ulong>(json.size())), "cannot load the stored model");
  bst_ulong nf = 0;
  check(XGBoosterGetNumFeature(m.booster_, &nf), "cannot read the model");
  if (static_cast<int>(nf) != n_features)
    throw LearnerError("xgboost: the stored model has " + std::to_string(nf) + " features, expected " + std::to_string(n_features));
  return m;
}

std::string xgboost_version() {
  int a = 0, b = 0, c = 0;
  XGBoostVersion(&a, &b, &c);
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
}

}  // namespace bp::learners
