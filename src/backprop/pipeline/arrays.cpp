#include "backprop/pipeline/arrays.hpp"

#include <cmath>
#include <set>

#include "backprop/pipeline/errors.hpp"
#include "backprop/util/task.hpp"

namespace bp::pipeline {

namespace {
std::string cell(int64_t row, int64_t col) {
  return "row " + std::to_string(row) + ", column " + std::to_string(col);
}

// UsageError at the first NaN or infinite value of x (n, d).
void check_finite(const Tensor& x, const char* what) {
  if (x.all_finite()) return;
  const int64_t d = x.ndim() == 2 ? x.dim(1) : 1;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (!std::isfinite(x[i]))
      throw UsageError(std::string(what) + " holds " + (std::isnan(x[i]) ? "NaN" : "an infinite value") + " at " +
                       cell(i / d, i % d) + ": missing values are not imputed here; drop or fill them first");
}
}  // namespace

data::Dataset dataset_from_arrays(const Tensor& x, Task task, std::span<const double> y,
                                  std::vector<std::string> feature_names, std::vector<std::string> class_names) {
  if (!x.defined() || x.ndim() != 2) throw UsageError("X must be a matrix (rows, features), not " + shape_str(x.shape()));
  const int64_t n = x.dim(0), d = x.dim(1);
  if (n == 0 || d == 0) throw UsageError("X has no " + std::string(n == 0 ? "rows" : "columns"));
  if (static_cast<int64_t>(y.size()) != n)
    throw UsageError("y has " + std::to_string(y.size()) + " values and X " + std::to_string(n) + " rows");
  check_finite(x, "X");
  for (size_t i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]))
      throw UsageError(std::string("y holds ") + (std::isnan(y[i]) ? "NaN" : "an infinite value") + " at row " +
                       std::to_string(i));
  if (feature_names.empty())
    for (int64_t j = 0; j < d; ++j) feature_names.push_back(std::string("x").append(std::to_string(j)));
  if (static_cast<int64_t>(feature_names.size()) != d)
    throw UsageError("feature_names has " + std::to_string(feature_names.size()) + " names and X " + std::to_string(d) +
                     " columns");
  std::set<std::string> seen;
  for (const auto& f : feature_names) {
    if (f.empty()) throw UsageError("feature_names: a name is empty");
    if (f == kArrayTarget) throw UsageError(std::string("feature_names: \"") + kArrayTarget + "\" names the target");
    if (!seen.insert(f).second) throw UsageError("feature_names: \"" + f + "\" appears twice");
  }

  data::Dataset out;
  out.task = task;
  out.x = x;
  out.feature_names = std::move(feature_names);
  if (task == Task::Regression) {
    if (!class_names.empty()) throw UsageError("class_names: a regression target has no classes");
    out.targets = Tensor::empty({n, 1});
    for (int64_t i = 0; i < n; ++i) out.targets[i] = static_cast<float>(y[i]);
    check_finite(out.targets, "y (as float32)");
    return out;
  }
  double top = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] < 0 || y[i] != std::floor(y[i]) || y[i] > 1e6)
      throw UsageError("y[" + std::to_string(i) + "] = " + std::to_string(y[i]) +
                       ": class labels are the integers 0, 1, …, K-1 (task " + to_string(task) + ")");
    top = std::max(top, y[i]);
  }
  if (task == Task::Binary && (top > 1 || class_names.size() > 2))
    throw UsageError("task binary takes the labels 0 and 1, and y holds the label " +
                     std::to_string(static_cast<int64_t>(top)) + "; use task \"multiclass\"");
  int k = class_names.empty() ? static_cast<int>(top) + 1 : static_cast<int>(class_names.size());
  if (task == Task::Binary && class_names.empty()) k = 2;
  if (top >= k)
    throw UsageError("y holds the label " + std::to_string(static_cast<int64_t>(top)) + " but there are " +
                     std::to_string(k) + " classes");
  if (k < 2) throw UsageError("y holds one class only (0): a classifier needs at least two");
  if (class_names.empty())
    for (int c = 0; c < k; ++c) class_names.push_back(std::to_string(c));
  out.class_names = std::move(class_names);
  out.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.labels[i] = static_cast<int32_t>(y[i]);
  out.validate("arrays");
  return out;
}

nlohmann::json array_preprocessing(const data::Dataset& d, const data::TargetScaling& target_scaling) {
  using nlohmann::json;
  const int64_t n = d.size(), dims = d.num_features();
  std::vector<double> mean(static_cast<size_t>(dims), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dims; ++j) mean[j] += d.x[i * dims + j];
  json cols = json::array();
  for (int64_t j = 0; j < dims; ++j)
    cols.push_back({{"name", d.feature_names[j]}, {"kind", "numeric"}, {"impute", mean[j] / static_cast<double>(n)},
                    {"center", 0.0}, {"scale", 1.0}});
  json j = {{"format", "backprop.preprocessor"},
            {"version", 2},
            {"input", "table"},
            {"target", kArrayTarget},
            {"task", task_name(d.task)},
            {"standardize", false},
            {"columns", cols},
            {"ignored", json::array()},
            {"target_values", d.class_names},
            {"positive", json::array()},
            {"class_names", d.class_names},
            {"feature_names", d.feature_names}};
  if (d.task == Task::Regression) j["target_scaling"] = {{"center", target_scaling.center}, {"scale", target_scaling.scale}};
  data::Preprocessor::from_json(j);  // the reader's own checks: a mistake here is a bug, caught before saving
  return j;
}

ArrayInput::ArrayInput(const nlohmann::json& preprocessing) {
  if (preprocessing.is_null()) return;
  const data::Preprocessor p = data::Preprocessor::from_json(preprocessing);
  features_ = p.num_features();
  for (const data::FeatureColumn& c : p.columns()) {
    if (c.kind == data::ColumnKind::Categorical) {
      if (categorical_.empty()) categorical_ = c.name;
      continue;
    }
    const int64_t count = c.kind == data::ColumnKind::Pixels ? shape_numel(c.shape) : 1;
    for (int64_t i = 0; i < count; ++i) {
      names_.push_back(c.kind == data::ColumnKind::Pixels ? c.name + std::to_string(i) : c.name);
      center_.push_back(c.center);
      scale_.push_back(c.scale);
      pixels_.push_back(c.kind == data::ColumnKind::Pixels);
    }
    identity_ = identity_ && c.center == 0.0 && c.scale == 1.0;
  }
}

Tensor ArrayInput::encode(std::span<const double> x, int64_t rows, bool encoded) const {
  if (rows <= 0 || x.size() % static_cast<size_t>(rows) != 0) throw UsageError("X: the values do not fill the rows");
  const auto d = static_cast<int64_t>(x.size()) / rows;
  // A model that does not transform its columns sees the values as float32, as any input.
  if (encoded || identity_ || !categorical_.empty() || d != static_cast<int64_t>(names_.size())) {
    Tensor t = Tensor::empty({rows, d});
    for (size_t i = 0; i < x.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(x[i]);
    return encode(t, encoded);
  }
  Tensor out = Tensor::empty({rows, d});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double v = x[static_cast<size_t>(i * d + j)];
      if (!std::isfinite(v))
        throw UsageError(std::string("X holds ") + (std::isnan(v) ? "NaN" : "an infinite value") + " at " + cell(i, j) +
                         ": missing values are not imputed here; drop or fill them first");
      out[i * d + j] = value(v, j);
    }
  return out;
}

float ArrayInput::value(double v, int64_t j) const {
  if (pixels_[j]) {  // as Preprocessor::transform_images: float32, times the reciprocal
    const float c = static_cast<float>(center_[j]), inv = static_cast<float>(1.0 / scale_[j]);
    return (static_cast<float>(v) - c) * inv;
  }
  return static_cast<float>((v - center_[j]) / scale_[j]);  // as a CSV's numeric column
}

Tensor ArrayInput::encode(const Tensor& x, bool encoded) const {
  if (!x.defined() || x.ndim() != 2) throw UsageError("X must be a matrix (rows, features), not " + shape_str(x.shape()));
  check_finite(x, "X");
  const int64_t d = x.dim(1);
  if (encoded || features_ < 0) {
    if (features_ >= 0 && d != features_)
      throw UsageError("X has " + std::to_string(d) + " columns and this model takes " + std::to_string(features_) +
                       " encoded features");
    return x;
  }
  if (!categorical_.empty())
    throw UsageError("this model's column \"" + categorical_ +
                     "\" is categorical: pass its encoded features (" + std::to_string(features_) +
                     " columns, encoded=True)");
  const auto want = static_cast<int64_t>(names_.size());
  if (d != want)
    throw UsageError("X has " + std::to_string(d) + " columns and this model takes " + std::to_string(want) + " (" +
                     data::join_names(names_, 8) + ")");
  if (identity_) return x;
  Tensor out = Tensor::empty(x.shape());
  const int64_t n = x.dim(0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      out[i * d + j] = value(x[i * d + j], j);
  return out;
}

io::ModelInfo array_model_info(const Trained& t, const data::Dataset& d, const TrainSpec& spec) {
  io::ModelInfo info;
  info.task = t.task;
  info.class_names = t.class_names;
  info.preprocessing = array_preprocessing(d, t.target_scaling);
  nlohmann::json training = {{"source", "arrays"}, {"model", spec.model.name}, {"task", to_string(t.task)},
                             {"rows", d.size()}, {"features", d.num_features()}, {"seconds", t.seconds}};
  if (t.learner) {
    training["options"] = t.learner->options();
  } else {
    training["hidden"] = spec.model.hidden;
    training["optimizer"] = spec.optimizer.name;
    training["lr"] = spec.optimizer.lr;
    training["epochs"] = t.plan.epochs;
    training["epochs_run"] = t.history.history.size();
    training["batch_size"] = spec.fit.batch_size;
  }
  info.extra = {{"training", training}};
  return info;
}

}  // namespace bp::pipeline
