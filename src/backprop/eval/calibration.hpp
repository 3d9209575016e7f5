// Calibration: maps a classifier's score to a probability of the positive class, fitted on a
// held-out calibration set (scores + 0/1 labels), as in Caruana & Niculescu-Mizil (ICML 2006).
//
//   PlattScaler          P(y=1|f) = 1 / (1 + exp(A f + B)), fitted by Lin, Lin & Weng's Newton
//                        method with backtracking on Platt's smoothed targets.
//   IsotonicCalibrator   pool-adjacent-violators; predicts by linear interpolation with clipping
//                        (scikit-learn's IsotonicRegression(out_of_bounds="clip"), the default) or
//                        by the step function of Zadrozny & Elkan (the paper's version).
//
// Both derive from Calibrator, so a fitted calibrator can be stored and reloaded:
//   nlohmann::json j = cal.to_json();                        // {"type": "platt", ...}
//   std::unique_ptr<Calibrator> c = calibrator_from_json(j);  // validates, throws on bad json
//
// Fitting throws std::invalid_argument for an empty set, mismatched lengths, labels other than
// 0/1, or a NaN/infinite score. A calibration set with one class only is accepted (documented
// behaviour: Platt then predicts about the smoothed target of that class, isotonic predicts the
// constant 0 or 1). apply() on an unfitted calibrator throws std::logic_error; apply() of a NaN
// score throws std::invalid_argument.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace bp::eval {

class Calibrator {
 public:
  virtual ~Calibrator() = default;
  // "platt" or "isotonic" (the json "type").
  virtual std::string name() const = 0;
  virtual bool fitted() const = 0;
  // Calibrated probability of one score.
  virtual double apply(double score) const = 0;
  // apply() of every score.
  std::vector<double> apply(const std::vector<double>& scores) const;
  // The fitted parameters, with "type"; calibrator_from_json() reads it back.
  virtual nlohmann::json to_json() const = 0;
};

// Reads what Calibrator::to_json() wrote. Throws std::invalid_argument with a message naming the
// problem for anything malformed (not an object, unknown type, missing/non-numeric field, ...).
std::unique_ptr<Calibrator> calibrator_from_json(const nlohmann::json& j);

// The calibrators by name, as the command line and the study name them: "platt", "isotonic".
const std::vector<std::string>& calibrator_names();
// The calibrator called `name`, fitted on (scores, 0/1 labels). Throws std::invalid_argument
// for an unknown name (listing the known ones) and whatever the calibrator's fit throws.
std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const std::vector<double>& scores,
                                            const std::vector<int>& labels);

// What a Platt fit did. Lin, Lin & Weng's method stops when |g1|, |g2| < 1e-5 (converged) or
// after 100 iterations, or gives up when the backtracking step falls below 1e-10; the last two
// leave `warning` non-empty (the fitted A, B are the last iterate and still usable).
struct PlattFitReport {
  int iterations = 0;
  bool converged = false;
  std::string warning;
  double loss = 0;  // final objective (cross-entropy against the smoothed targets, nats)
};

class PlattScaler final : public Calibrator {
 public:
  PlattScaler() = default;
  // A fitted scaler with the given parameters (must be finite).
  PlattScaler(double a, double b);

  // Fits A and B on (scores, labels), replacing any earlier fit. Targets are smoothed:
  // t+ = (N+ + 1)/(N+ + 2) for positives and t- = 1/(N- + 2) for negatives.
  PlattFitReport fit(const std::vector<double>& scores, const std::vector<int>& labels);

  double a() const { return a_; }
  double b() const { return b_; }

  std::string name() const override { return "platt"; }
  bool fitted() const override { return fitted_; }
  using Calibrator::apply;
  // 1 / (1 + exp(A score + B)), evaluated without overflow.
  double apply(double score) const override;
  // {"type": "platt", "A": a, "B": b}
  nlohmann::json to_json() const override;
  static PlattScaler from_json(const nlohmann::json& j);

 private:
  double a_ = 0, b_ = 0;
  bool fitted_ = false;
};

enum class IsotonicPrediction {
  // Linear interpolation between the fitted points, clipped to the end values outside the
  // fitted score range: sklearn's IsotonicRegression(out_of_bounds="clip"). The default.
  Interpolate,
  // The paper's step function: the value of the fitted point with the largest score <= the
  // score (the first value below the fitted range). Constant on every pooled block and between
  // blocks, so it ties more cases than interpolation does.
  Step,
};

class IsotonicCalibrator final : public Calibrator {
 public:
  explicit IsotonicCalibrator(IsotonicPrediction mode = IsotonicPrediction::Interpolate) : mode_(mode) {}

  // Fits a non-decreasing map score -> P(y=1): sorts by score, merges equal scores into one
  // point (mean label, weight = count), runs pool-adjacent-violators (weighted), and keeps the
  // first and last point of every constant run (the others change no prediction, as sklearn).
  void fit(const std::vector<double>& scores, const std::vector<int>& labels);

  IsotonicPrediction mode() const { return mode_; }
  void set_mode(IsotonicPrediction mode) { mode_ = mode; }
  // The fitted points: xs strictly increasing, ys non-decreasing in [0, 1] (as sklearn's
  // X_thresholds_ and y_thresholds_).
  const std::vector<double>& xs() const { return xs_; }
  const std::vector<double>& ys() const { return ys_; }

  std::string name() const override { return "isotonic"; }
  bool fitted() const override { return !xs_.empty(); }
  using Calibrator::apply;
  double apply(double score) const override;
  // {"type": "isotonic", "prediction": "interpolate"|"step", "x": [...], "y": [...]}
  nlohmann::json to_json() const override;
  static IsotonicCalibrator from_json(const nlohmann::json& j);

 private:
  IsotonicPrediction mode_;
  std::vector<double> xs_, ys_;
};

}  // namespace bp::eval
