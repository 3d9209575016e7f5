#include "backprop/eval/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "backprop/eval/metrics.hpp"

namespace bp::eval {

namespace {

void check_fit_inputs(const char* what, const std::vector<double>& scores, const std::vector<int>& labels) {
  check_binary_inputs(std::string(what) + " fit", scores, labels);
}

void check_score(const char* what, double score) {
  if (std::isnan(score)) throw std::invalid_argument(std::string(what) + ": cannot calibrate a NaN score");
}

// The json field `key` of object j as a finite number, or a clear error.
double json_number(const nlohmann::json& j, const char* key, const char* what) {
  if (!j.contains(key)) throw std::invalid_argument(std::string(what) + " json: missing field \"" + key + "\"");
  const nlohmann::json& v = j.at(key);
  if (!v.is_number()) throw std::invalid_argument(std::string(what) + " json: field \"" + key + "\" is not a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw std::invalid_argument(std::string(what) + " json: field \"" + key + "\" is not finite");
  return d;
}

std::vector<double> json_numbers(const nlohmann::json& j, const char* key, const char* what) {
  if (!j.contains(key)) throw std::invalid_argument(std::string(what) + " json: missing field \"" + key + "\"");
  const nlohmann::json& v = j.at(key);
  if (!v.is_array()) throw std::invalid_argument(std::string(what) + " json: field \"" + key + "\" is not an array");
  std::vector<double> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number())
      throw std::invalid_argument(std::string(what) + " json: " + key + "[" + std::to_string(i) + "] is not a number");
    const double d = v[i].get<double>();
    if (!std::isfinite(d))
      throw std::invalid_argument(std::string(what) + " json: " + key + "[" + std::to_string(i) + "] is not finite");
    out.push_back(d);
  }
  return out;
}

void check_type(const nlohmann::json& j, const char* type) {
  if (!j.is_object()) throw std::invalid_argument(std::string(type) + " json: not an object");
  if (!j.contains("type") || !j.at("type").is_string() || j.at("type").get<std::string>() != type)
    throw std::invalid_argument(std::string(type) + " json: \"type\" is not \"" + type + "\"");
}

// Platt's objective for one case with z = A f + B and target t: the cross-entropy
// -t log p - (1-t) log(1-p) with p = 1/(1+e^z), written so that exp never overflows.
double platt_case_loss(double z, double t) {
  return z >= 0 ? t * z + std::log1p(std::exp(-z)) : (t - 1.0) * z + std::log1p(std::exp(z));
}

double platt_loss(const std::vector<double>& f, const std::vector<double>& t, double a, double b) {
  double sum = 0;
  for (size_t i = 0; i < f.size(); ++i) sum += platt_case_loss(a * f[i] + b, t[i]);
  return sum;
}

}  // namespace

std::vector<double> Calibrator::apply(const std::vector<double>& scores) const {
  std::vector<double> out(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) out[i] = apply(scores[i]);
  return out;
}

std::unique_ptr<Calibrator> calibrator_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("calibrator json: not an object");
  if (!j.contains("type") || !j.at("type").is_string())
    throw std::invalid_argument("calibrator json: missing string field \"type\"");
  const std::string type = j.at("type").get<std::string>();
  if (type == "platt") return std::make_unique<PlattScaler>(PlattScaler::from_json(j));
  if (type == "isotonic") return std::make_unique<IsotonicCalibrator>(IsotonicCalibrator::from_json(j));
  throw std::invalid_argument("calibrator json: unknown type \"" + type + "\" (expected \"platt\" or \"isotonic\")");
}

const std::vector<std::string>& calibrator_names() {
  static const std::vector<std::string> names{"platt", "isotonic"};
  return names;
}

std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const std::vector<double>& scores,
                                            const std::vector<int>& labels) {
  if (name == "platt") {
    auto p = std::make_unique<PlattScaler>();
    p->fit(scores, labels);
    return p;
  }
  if (name == "isotonic") {
    auto iso = std::make_unique<IsotonicCalibrator>();
    iso->fit(scores, labels);
    return iso;
  }
  throw std::invalid_argument("unknown calibrator '" + name + "' (choose platt or isotonic)");
}

// ---------------------------------------------------------------------------------------------
// Platt scaling

PlattScaler::PlattScaler(double a, double b) : a_(a), b_(b), fitted_(true) {
  if (!std::isfinite(a) || !std::isfinite(b)) throw std::invalid_argument("PlattScaler: A and B must be finite");
}

// Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for support vector machines",
// Algorithm 1, transcribed with its constants.
PlattFitReport PlattScaler::fit(const std::vector<double>& f, const std::vector<int>& labels) {
  check_fit_inputs("Platt", f, labels);
  constexpr int kMaxIterations = 100;
  constexpr double kMinStep = 1e-10;
  constexpr double kSigma = 1e-12;  // keeps the Hessian positive definite
  constexpr double kGradientTolerance = 1e-5;

  const size_t n = f.size();
  const double n_pos = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  const double n_neg = static_cast<double>(n) - n_pos;
  const double t_pos = (n_pos + 1.0) / (n_pos + 2.0), t_neg = 1.0 / (n_neg + 2.0);
  std::vector<double> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = labels[i] ? t_pos : t_neg;

  double a = 0.0, b = std::log((n_neg + 1.0) / (n_pos + 1.0));
  double loss = platt_loss(f, t, a, b);
  PlattFitReport report;
  int it = 0;
  for (; it < kMaxIterations; ++it) {
    // Gradient and Hessian of the loss; p = 1/(1+e^z), d = p(1-p) = dp/dz up to sign.
    double h11 = kSigma, h22 = kSigma, h21 = 0, g1 = 0, g2 = 0;
    for (size_t i = 0; i < n; ++i) {
      const double z = a * f[i] + b;
      double p, q;  // p = 1/(1+e^z), q = 1 - p, both without overflow
      if (z >= 0) {
        const double e = std::exp(-z);
        p = e / (1.0 + e);
        q = 1.0 / (1.0 + e);
      } else {
        const double e = std::exp(z);
        p = 1.0 / (1.0 + e);
        q = e / (1.0 + e);
      }
      const double d2 = p * q;
      h11 += f[i] * f[i] * d2;
      h22 += d2;
      h21 += f[i] * d2;
      const double d1 = t[i] - p;
      g1 += f[i] * d1;
      g2 += d1;
    }
    if (std::abs(g1) < kGradientTolerance && std::abs(g2) < kGradientTolerance) {
      report.converged = true;
      break;
    }
    // Newton direction -H^{-1} g of the 2x2 system.
    const double det = h11 * h22 - h21 * h21;
    const double da = -(h22 * g1 - h21 * g2) / det;
    const double db = -(-h21 * g1 + h11 * g2) / det;
    const double gd = g1 * da + g2 * db;  // directional derivative, negative
    // Backtracking (Armijo) line search: halve the step until the loss falls enough.
    double step = 1.0;
    while (step >= kMinStep) {
      const double new_a = a + step * da, new_b = b + step * db;
      const double new_loss = platt_loss(f, t, new_a, new_b);
      if (new_loss < loss + 1e-4 * step * gd) {
        a = new_a;
        b = new_b;
        loss = new_loss;
        break;
      }
      step /= 2.0;
    }
    if (step < kMinStep) {
      report.warning = "Platt fit: line search failed (step below 1e-10) after " + std::to_string(it + 1) +
                       " iterations; keeping the last A, B";
      ++it;
      break;
    }
  }
  if (!report.converged && report.warning.empty())
    report.warning = "Platt fit: reached the maximum of 100 iterations without converging";
  report.iterations = it;
  report.loss = loss;
  a_ = a;
  b_ = b;
  fitted_ = true;
  return report;
}

double PlattScaler::apply(double score) const {
  if (!fitted_) throw std::logic_error("PlattScaler::apply: not fitted");
  check_score("PlattScaler::apply", score);
  const double z = a_ * score + b_;
  if (z >= 0) {
    const double e = std::exp(-z);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + std::exp(z));
}

nlohmann::json PlattScaler::to_json() const {
  if (!fitted_) throw std::logic_error("PlattScaler::to_json: not fitted");
  return {{"type", "platt"}, {"A", a_}, {"B", b_}};
}

PlattScaler PlattScaler::from_json(const nlohmann::json& j) {
  check_type(j, "platt");
  return PlattScaler(json_number(j, "A", "platt"), json_number(j, "B", "platt"));
}

// ---------------------------------------------------------------------------------------------
// Isotonic regression

void IsotonicCalibrator::fit(const std::vector<double>& scores, const std::vector<int>& labels) {
  check_fit_inputs("Isotonic", scores, labels);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return scores[i] < scores[j]; });

  // Equal scores become one point: mean label, weight = count.
  std::vector<double> x, y, w;
  for (size_t i : order) {
    if (x.empty() || scores[i] != x.back()) {
      x.push_back(scores[i]);
      y.push_back(0.0);
      w.push_back(0.0);
    }
    y.back() += labels[i];
    w.back() += 1.0;
  }
  for (size_t k = 0; k < x.size(); ++k) y[k] /= w[k];

  // Pool adjacent violators: a stack of blocks, each a run of consecutive points with one value
  // (the weighted mean of its labels). Adding a point merges it into the previous block while
  // the previous block's value is >= its own (sklearn also pools equal neighbours).
  struct Block {
    double sum_wy, sum_w;
    size_t first, last;  // point indices
  };
  std::vector<Block> blocks;
  for (size_t k = 0; k < x.size(); ++k) {
    blocks.push_back({w[k] * y[k], w[k], k, k});
    while (blocks.size() >= 2) {
      Block& top = blocks[blocks.size() - 1];
      Block& below = blocks[blocks.size() - 2];
      if (below.sum_wy / below.sum_w < top.sum_wy / top.sum_w) break;
      below.sum_wy += top.sum_wy;
      below.sum_w += top.sum_w;
      below.last = top.last;
      blocks.pop_back();
    }
  }
  std::vector<double> fitted(x.size());
  for (const Block& blk : blocks)
    for (size_t k = blk.first; k <= blk.last; ++k) fitted[k] = blk.sum_wy / blk.sum_w;

  // Keep the ends and every point whose value differs from a neighbour; the dropped points
  // lie inside constant runs, where both interpolation and the step function are constant.
  xs_.clear();
  ys_.clear();
  for (size_t k = 0; k < x.size(); ++k) {
    const bool end = k == 0 || k + 1 == x.size();
    if (end || fitted[k] != fitted[k - 1] || fitted[k] != fitted[k + 1]) {
      xs_.push_back(x[k]);
      ys_.push_back(fitted[k]);
    }
  }
}

double IsotonicCalibrator::apply(double score) const {
  if (xs_.empty()) throw std::logic_error("IsotonicCalibrator::apply: not fitted");
  check_score("IsotonicCalibrator::apply", score);
  if (score <= xs_.front()) return ys_.front();
  if (score >= xs_.back()) return ys_.back();
  // xs_[j] <= score < xs_[j+1]
  const size_t j = static_cast<size_t>(std::upper_bound(xs_.begin(), xs_.end(), score) - xs_.begin()) - 1;
  if (mode_ == IsotonicPrediction::Step) return ys_[j];
  const double slope = (ys_[j + 1] - ys_[j]) / (xs_[j + 1] - xs_[j]);
  return ys_[j] + slope * (score - xs_[j]);
}

nlohmann::json IsotonicCalibrator::to_json() const {
  if (xs_.empty()) throw std::logic_error("IsotonicCalibrator::to_json: not fitted");
  return {{"type", "isotonic"},
          {"prediction", mode_ == IsotonicPrediction::Step ? "step" : "interpolate"},
          {"x", xs_},
          {"y", ys_}};
}

IsotonicCalibrator IsotonicCalibrator::from_json(const nlohmann::json& j) {
  check_type(j, "isotonic");
  IsotonicPrediction mode = IsotonicPrediction::Interpolate;
  if (j.contains("prediction")) {
    const nlohmann::json& p = j.at("prediction");
    if (!p.is_string() || (p.get<std::string>() != "interpolate" && p.get<std::string>() != "step"))
      throw std::invalid_argument("isotonic json: \"prediction\" must be \"interpolate\" or \"step\"");
    if (p.get<std::string>() == "step") mode = IsotonicPrediction::Step;
  }
  std::vector<double> x = json_numbers(j, "x", "isotonic"), y = json_numbers(j, "y", "isotonic");
  if (x.empty()) throw std::invalid_argument("isotonic json: \"x\" is empty");
  if (x.size() != y.size())
    throw std::invalid_argument("isotonic json: \"x\" has " + std::to_string(x.size()) + " values but \"y\" has " +
                                std::to_string(y.size()));
  for (size_t k = 0; k < x.size(); ++k) {
    if (k > 0 && !(x[k] > x[k - 1]))
      throw std::invalid_argument("isotonic json: \"x\" is not strictly increasing at index " + std::to_string(k));
    if (k > 0 && y[k] < y[k - 1])
      throw std::invalid_argument("isotonic json: \"y\" decreases at index " + std::to_string(k));
    if (y[k] < 0.0 || y[k] > 1.0)
      throw std::invalid_argument("isotonic json: y[" + std::to_string(k) + "] is not a probability in [0, 1]");
  }
  IsotonicCalibrator c(mode);
  c.xs_ = std::move(x);
  c.ys_ = std::move(y);
  return c;
}

}  // namespace bp::eval
