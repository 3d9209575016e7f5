#include "backprop/learners/dense_features.hpp"

#include <cmath>
#include <cstdio>

namespace bp::learners {

int64_t DenseEncoding::width() const {
  int64_t w = 0;
  for (int c : categories) w += c > 0 ? c : 1;
  return w;
}

std::vector<float> DenseEncoding::encode(const MatrixView& X, const std::string& who) const {
  const int64_t d = n_features();
  if (X.cols != d)
    throw LearnerError(who + ": the data has " + std::to_string(X.cols) + " features, the model " + std::to_string(d));
  const int64_t w = width();
  std::vector<float> out(static_cast<size_t>(X.rows * w), 0.f);
  for (int64_t i = 0; i < X.rows; ++i) {
    const float* x = X.row(i);
    float* o = out.data() + i * w;
    int64_t col = 0;
    for (int64_t j = 0; j < d; ++j) {
      const float v = x[j];
      if (std::isnan(v))
        throw LearnerError(who + ": row " + std::to_string(i) + ", feature " + std::to_string(j) +
                           " is missing (NaN); this learner needs every value (impute them first)");
      const int c = categories[j];
      if (c == 0) {
        if (!std::isfinite(v))
          throw LearnerError(who + ": row " + std::to_string(i) + ", feature " + std::to_string(j) + " is infinite");
        o[col++] = (v - shift[j]) * scale[j];
      } else {
        if (!(v >= 0 && v < c && v == std::floor(v)))
          throw LearnerError(who + ": row " + std::to_string(i) + ", feature " + std::to_string(j) + " is not a category code 0.." +
                             std::to_string(c - 1));
        o[col + static_cast<int64_t>(v)] = scale[j];
        col += c;
      }
    }
  }
  return out;
}

DenseEncoding DenseEncoding::fit(const TrainSet& t, bool standardize) {
  DenseEncoding e;
  const int64_t d = t.X.cols, n = t.X.rows;
  e.categories = t.categories.empty() ? std::vector<int>(static_cast<size_t>(d), 0) : t.categories;
  e.shift.assign(static_cast<size_t>(d), 0.f);
  e.scale.assign(static_cast<size_t>(d), 1.f);
  if (!standardize) return e;
  for (int64_t j = 0; j < d; ++j) {
    if (e.categories[j] != 0) continue;
    double s = 0, ss = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = t.X.row(i)[j];
      if (std::isnan(v)) continue;
      s += v;
      ++m;
    }
    if (m == 0) continue;
    bool indicator = true;
    for (int64_t i = 0; i < n && indicator; ++i) {
      const float v = t.X.row(i)[j];
      indicator = std::isnan(v) || v == 0.f || v == 1.f;
    }
    if (indicator) continue;  // a 0/1 indicator (a one-hot column of the pipeline's): left as it is
    const double mean = s / static_cast<double>(m);
    for (int64_t i = 0; i < n; ++i) {
      const double v = t.X.row(i)[j];
      if (!std::isnan(v)) ss += (v - mean) * (v - mean);
    }
    const double sd = std::sqrt(ss / static_cast<double>(m));
    e.shift[j] = static_cast<float>(mean);
    e.scale[j] = sd > 1e-12 * (1 + std::fabs(mean)) ? static_cast<float>(1.0 / sd) : 1.f;
  }
  return e;
}

void DenseEncoding::validate(const std::string& who) const {
  const size_t d = categories.size();
  if (d == 0 || shift.size() != d || scale.size() != d) throw LearnerError(who + ": corrupt model: encoding sizes disagree");
  for (size_t j = 0; j < d; ++j) {
    if (categories[j] < 0) throw LearnerError(who + ": corrupt model: negative category count");
    if (!std::isfinite(shift[j]) || !std::isfinite(scale[j]) || scale[j] < 0)
      throw LearnerError(who + ": corrupt model: encoding of feature " + std::to_string(j) + " is not finite");
  }
}

int option_int(const nlohmann::json& o, const char* k, int64_t lo, int64_t hi, const std::string& kind) {
  const int64_t v = o.at(k).get<int64_t>();
  if (v < lo || v > hi)
    throw LearnerError(kind + ": option '" + k + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                       std::to_string(v));
  return static_cast<int>(v);
}

double option_num(const nlohmann::json& o, const char* k, double lo, double hi, const std::string& kind) {
  const double v = o.at(k).get<double>();
  if (!(v >= lo && v <= hi)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "': must be in [%g, %g], got %g", lo, hi, v);
    throw LearnerError(kind + ": option '" + k + buf);
  }
  return v;
}

std::string option_choice(const nlohmann::json& o, const char* k, const std::vector<std::string>& allowed, const std::string& kind) {
  const std::string v = o.at(k).get<std::string>();
  std::string list;
  for (const auto& a : allowed) {
    if (a == v) return v;
    list += (list.empty() ? "" : ", ") + a;
  }
  throw LearnerError(kind + ": option '" + k + "' must be one of " + list + ", got '" + v + "'");
}

void require_unweighted(const TrainSet& t, const std::string& who) {
  if (!t.w) return;
  for (int64_t i = 0; i < t.X.rows; ++i)
    if (t.w[i] != 1.f) throw LearnerError(who + ": sample weights are not supported (row " + std::to_string(i) + " has weight " +
                                          std::to_string(t.w[i]) + ")");
}

}  // namespace bp::learners
