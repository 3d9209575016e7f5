// Binary classification metrics as Caruana & Niculescu-Mizil (ICML 2006) defined them, following
// the PERF program the study used (see docs/evaluation.md and shared/reference/evaluation.md).
//
// Inputs are plain vectors so this module depends on nothing else in backprop:
//   predictions: std::vector<double> of length N, a probability in [0, 1] for the threshold and
//                probability metrics (ACC, FSC, RMS, MXE); any finite score for the rank metrics
//                (LFT, ROC, APR, BEP), since those only use the order.
//   labels:      std::vector<int> of length N, each 0 or 1 (1 = positive).
//
// Ties. Cases with exactly equal predictions (double ==) form a tie group; every case of a group
// counts as phi = (positives in group)/(group size) of a positive and 1 - phi of a negative, the
// expected count when ties are broken at random. APR uses the exact expected value of average
// precision over random orders inside every tie group (not the fractional-count approximation).
// PERF also treats predictions closer than 1e-15 as equal and reads them as float32; we do not.
//
// Errors (std::invalid_argument, message naming the metric): empty input, lengths that differ,
// a label other than 0/1, a NaN or infinite prediction, a probability outside [0, 1] for MXE,
// and a metric that is undefined for the data: ROC without both classes; LFT, APR, BEP without
// positives; LFT when floor(lift_fraction * N) = 0. No function returns NaN.
#pragma once

#include <string>
#include <vector>

namespace bp::eval {

// The eight metrics, in the paper's column order.
enum class Metric { ACC, FSC, LFT, ROC, APR, BEP, RMS, MXE };
inline constexpr int kNumMetrics = 8;
// All eight, in column order, for loops.
inline constexpr Metric kAllMetrics[kNumMetrics] = {Metric::ACC, Metric::FSC, Metric::LFT,
                                                     Metric::ROC, Metric::APR, Metric::BEP,
                                                     Metric::RMS, Metric::MXE};

// "ACC", "FSC", ... (upper case, as in the paper's tables).
const char* metric_name(Metric m);
// Inverse of metric_name (case-insensitive); throws std::invalid_argument for unknown names.
Metric metric_from_name(const std::string& name);
// False for RMS and MXE, where lower is better.
bool higher_is_better(Metric m);

struct BinaryMetricOptions {
  // ACC and FSC: a case is predicted positive when p >= threshold.
  double threshold = 0.5;
  // LFT: lift among the top floor(lift_fraction * N) ranked cases.
  double lift_fraction = 0.25;
  // MXE: the probability of the observed class is clipped to [epsilon, 1 - epsilon] before the
  // log (base 2), so a confident mistake costs -log2(1e-15) = 49.8 bits instead of infinity.
  double mxe_epsilon = 1e-15;
};

// All eight metrics of one set of predictions. Fields are in the paper's column order.
struct BinaryMetrics {
  double acc = 0, fsc = 0, lft = 0, roc = 0, apr = 0, bep = 0, rms = 0, mxe = 0;

  double get(Metric m) const;
  void set(Metric m, double value);
};

// Computes all eight at once (one sort). Throws as described at the top of this file; in
// particular both classes must be present and N >= 4 for the default lift_fraction.
BinaryMetrics binary_metrics(const std::vector<double>& predictions, const std::vector<int>& labels,
                             const BinaryMetricOptions& options = {});

// One metric by its enum (same rules as the individual functions below).
double binary_metric(Metric m, const std::vector<double>& predictions, const std::vector<int>& labels,
                     const BinaryMetricOptions& options = {});

// Accuracy: (TP + TN) / N with p >= threshold predicted positive.
double accuracy(const std::vector<double>& predictions, const std::vector<int>& labels,
                double threshold = 0.5);

// F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN) at the threshold; 0 when TP = 0 (including when
// nothing is predicted positive, or there are no positives at all).
double f1_score(const std::vector<double>& predictions, const std::vector<int>& labels,
                double threshold = 0.5);

// Lift: with K = floor(fraction * N) top-ranked cases,
//   LFT = (positives among the top K / N+) / (K / N),
// a tie group cut by the K-th rank contributing phi per case it places in the top K.
double lift(const std::vector<double>& scores, const std::vector<int>& labels, double fraction = 0.25);

// Area under the ROC curve = Mann-Whitney statistic: the fraction of (positive, negative) pairs
// the scores order correctly, a tied pair counting 1/2.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// Average precision (1/N+) * sum over positives at rank k of (positives in top k)/k, as the
// expected value over random orders inside every tie group. Without ties this equals
// scikit-learn's average_precision_score; with ties it differs (sklearn scores a tie group once,
// at its end).
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

// Break-even point: the fraction of positives among the top N+ ranked cases (precision = recall
// there), with fractional counts for the tie group cut at rank N+.
double break_even_point(const std::vector<double>& scores, const std::vector<int>& labels);

// Root mean squared error sqrt(mean((y - p)^2)). Any finite prediction is accepted.
double rms_error(const std::vector<double>& predictions, const std::vector<int>& labels);

// Mean cross-entropy in bits: -(1/N) sum [y log2 p + (1-y) log2(1-p)], the probability of the
// observed class (p or 1 - p) clipped to [epsilon, 1 - epsilon]. Predictions must lie in [0, 1].
double mean_cross_entropy(const std::vector<double>& predictions, const std::vector<int>& labels,
                          double epsilon = 1e-15);

// The input checks every function here applies: throws std::invalid_argument, the message
// starting with `what`, unless predictions and labels are non-empty and of equal length, every
// label is 0 or 1 and every prediction finite (and in [0, 1] when `probabilities`).
void check_binary_inputs(const std::string& what, const std::vector<double>& predictions,
                         const std::vector<int>& labels, bool probabilities = false);

// Fraction of positives in labels (checked 0/1, non-empty): the pi of the baseline table.
double positive_rate(const std::vector<int>& labels);

// The ROC curve as plotted: one point per tie group, from (0, 0) to (1, 1), thresholds
// descending; fpr/tpr are cumulative fractions of negatives/positives with score >= threshold.
// Equals scikit-learn's roc_curve(..., drop_intermediate=False) with its extra first point
// (threshold = +infinity here instead of max + 1). Needs both classes.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace bp::eval
