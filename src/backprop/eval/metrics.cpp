#include "backprop/eval/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace bp::eval {

namespace {

// A run of cases with the same prediction, in the descending order every rank metric uses.
struct TieGroup {
  double score;
  int64_t size;
  int64_t positives;
};

void check_inputs(const char* metric, const std::vector<double>& predictions, const std::vector<int>& labels) {
  const std::string what = std::string(metric) + ": ";
  if (predictions.empty()) throw std::invalid_argument(what + "no cases (empty input)");
  if (predictions.size() != labels.size())
    throw std::invalid_argument(what + std::to_string(predictions.size()) + " predictions but " +
                                std::to_string(labels.size()) + " labels");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw std::invalid_argument(what + "label " + std::to_string(labels[i]) + " at index " +
                                  std::to_string(i) + " is not 0 or 1");
    if (!std::isfinite(predictions[i]))
      throw std::invalid_argument(what + "prediction at index " + std::to_string(i) + " is " +
                                  (std::isnan(predictions[i]) ? "NaN" : "infinite"));
  }
}

void check_probabilities(const char* metric, const std::vector<double>& predictions) {
  for (size_t i = 0; i < predictions.size(); ++i)
    if (predictions[i] < 0.0 || predictions[i] > 1.0)
      throw std::invalid_argument(std::string(metric) + ": prediction " + std::to_string(predictions[i]) +
                                  " at index " + std::to_string(i) + " is not a probability in [0, 1]");
}

int64_t count_positives(const std::vector<int>& labels) {
  return std::count(labels.begin(), labels.end(), 1);
}

void require_positives(const char* metric, int64_t positives) {
  if (positives == 0)
    throw std::invalid_argument(std::string(metric) + ": undefined without positive cases (all labels are 0)");
}

// Inputs must be checked already. O(N log N).
std::vector<TieGroup> tie_groups(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<TieGroup> groups;
  for (size_t i : order) {
    if (groups.empty() || scores[i] != groups.back().score) groups.push_back({scores[i], 0, 0});
    groups.back().size += 1;
    groups.back().positives += labels[i];
  }
  return groups;
}

// Expected number of positives among the top k cases (k <= N): whole groups count fully, the
// group the cut goes through contributes phi = positives/size for every place it has above the cut.
double top_k_positives(const std::vector<TieGroup>& groups, int64_t k) {
  double positives = 0;
  int64_t taken = 0;
  for (const TieGroup& g : groups) {
    if (taken >= k) break;
    if (taken + g.size <= k) {
      positives += static_cast<double>(g.positives);
      taken += g.size;
    } else {
      positives += static_cast<double>(k - taken) * static_cast<double>(g.positives) / static_cast<double>(g.size);
      taken = k;
    }
  }
  return positives;
}

double lift_from_groups(const std::vector<TieGroup>& groups, int64_t n, int64_t positives, double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw std::invalid_argument("LFT: lift fraction " + std::to_string(fraction) + " is not in (0, 1]");
  require_positives("LFT", positives);
  const auto k = static_cast<int64_t>(std::floor(fraction * static_cast<double>(n)));
  if (k == 0)
    throw std::invalid_argument("LFT: floor(" + std::to_string(fraction) + " * " + std::to_string(n) +
                                ") = 0 cases in the top fraction; need more cases");
  const double recall = top_k_positives(groups, k) / static_cast<double>(positives);
  return recall / (static_cast<double>(k) / static_cast<double>(n));
}

double roc_from_groups(const std::vector<TieGroup>& groups, int64_t n, int64_t positives) {
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0)
    throw std::invalid_argument("ROC: undefined with only one class present (" + std::to_string(positives) +
                                " positives, " + std::to_string(negatives) + " negatives)");
  // Mann-Whitney: each positive of a group beats every negative in the groups below it and
  // ties (worth 1/2) with the negatives of its own group. Integer pair counts stay exact.
  double correct_pairs = 0;
  int64_t negatives_seen = 0;  // in this group and above
  for (const TieGroup& g : groups) {
    const int64_t group_negatives = g.size - g.positives;
    negatives_seen += group_negatives;
    correct_pairs += static_cast<double>(g.positives) * static_cast<double>(negatives - negatives_seen) +
                     0.5 * static_cast<double>(g.positives) * static_cast<double>(group_negatives);
  }
  return correct_pairs / (static_cast<double>(positives) * static_cast<double>(negatives));
}

// Expected average precision over uniformly random orders inside every tie group.
//
// A group of m cases with q positives occupies ranks s+1 .. s+m, with a positives ranked above
// it (s and a do not depend on the order inside the group). In a random order, place t of the
// group (t = 1..m) holds a positive with probability q/m; given that, the other t-1 places above
// it hold (t-1)(q-1)/(m-1) positives on average (hypergeometric). Its precision term is
// (a + 1 + #positives among those t-1) / (s + t), whose denominator is fixed, so by linearity
//   E[sum of precision terms of the group] = sum_{t=1..m} (q/m) * (a + 1 + (t-1)(q-1)/(m-1)) / (s+t).
// Groups are independent, so APR = (1/N+) * the sum of these over groups. O(N) after the sort.
// With m = 1 this is (a + 1)/(s + 1), the ordinary term.
double apr_from_groups(const std::vector<TieGroup>& groups, int64_t positives) {
  require_positives("APR", positives);
  double total = 0;
  int64_t above = 0;            // s: cases ranked above the current group
  int64_t positives_above = 0;  // a
  for (const TieGroup& g : groups) {
    if (g.positives > 0) {
      const double m = static_cast<double>(g.size), q = static_cast<double>(g.positives);
      const double others_per_place = g.size > 1 ? (q - 1.0) / (m - 1.0) : 0.0;
      double sum = 0;
      for (int64_t t = 1; t <= g.size; ++t)
        sum += (static_cast<double>(positives_above) + 1.0 + static_cast<double>(t - 1) * others_per_place) /
               static_cast<double>(above + t);
      total += q / m * sum;
    }
    above += g.size;
    positives_above += g.positives;
  }
  return total / static_cast<double>(positives);
}

double bep_from_groups(const std::vector<TieGroup>& groups, int64_t positives) {
  require_positives("BEP", positives);
  return top_k_positives(groups, positives) / static_cast<double>(positives);
}

// Confusion counts at a threshold. Ties never straddle a fixed threshold, so fractional counts
// change nothing here.
struct Counts {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};
Counts threshold_counts(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
  if (std::isnan(threshold)) throw std::invalid_argument("threshold is NaN");
  Counts c;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool predicted = p[i] >= threshold;
    if (predicted) (y[i] ? c.tp : c.fp) += 1;
    else (y[i] ? c.fn : c.tn) += 1;
  }
  return c;
}

double accuracy_unchecked(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
  const Counts c = threshold_counts(p, y, threshold);
  return static_cast<double>(c.tp + c.tn) / static_cast<double>(p.size());
}

double f1_unchecked(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
  const Counts c = threshold_counts(p, y, threshold);
  if (c.tp == 0) return 0.0;  // P = 0 or R = 0 (or both 0/0): F is 0 by definition
  return 2.0 * static_cast<double>(c.tp) / static_cast<double>(2 * c.tp + c.fp + c.fn);
}

double rms_unchecked(const std::vector<double>& p, const std::vector<int>& y) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double e = static_cast<double>(y[i]) - p[i];
    sum += e * e;
  }
  return std::sqrt(sum / static_cast<double>(p.size()));
}

double mxe_unchecked(const std::vector<double>& p, const std::vector<int>& y, double epsilon) {
  if (!(epsilon > 0.0 && epsilon < 0.5))
    throw std::invalid_argument("MXE: epsilon " + std::to_string(epsilon) + " is not in (0, 0.5)");
  // Clip the probability given to the observed class, so p = 0 and p = 1 are treated alike
  // (1 - p is formed before the clip, so a mistake at p = 1 costs exactly -log2(epsilon)).
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double observed = y[i] ? p[i] : 1.0 - p[i];
    sum += std::log2(std::clamp(observed, epsilon, 1.0 - epsilon));
  }
  return -sum / static_cast<double>(p.size());
}

}  // namespace

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::ACC: return "ACC";
    case Metric::FSC: return "FSC";
    case Metric::LFT: return "LFT";
    case Metric::ROC: return "ROC";
    case Metric::APR: return "APR";
    case Metric::BEP: return "BEP";
    case Metric::RMS: return "RMS";
    case Metric::MXE: return "MXE";
  }
  return "?";
}

Metric metric_from_name(const std::string& name) {
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (Metric m : kAllMetrics)
    if (upper == metric_name(m)) return m;
  throw std::invalid_argument("unknown metric '" + name + "' (expected one of ACC FSC LFT ROC APR BEP RMS MXE)");
}

bool higher_is_better(Metric m) { return m != Metric::RMS && m != Metric::MXE; }

double BinaryMetrics::get(Metric m) const {
  switch (m) {
    case Metric::ACC: return acc;
    case Metric::FSC: return fsc;
    case Metric::LFT: return lft;
    case Metric::ROC: return roc;
    case Metric::APR: return apr;
    case Metric::BEP: return bep;
    case Metric::RMS: return rms;
    case Metric::MXE: return mxe;
  }
  throw std::invalid_argument("BinaryMetrics::get: bad metric");
}

void BinaryMetrics::set(Metric m, double value) {
  switch (m) {
    case Metric::ACC: acc = value; return;
    case Metric::FSC: fsc = value; return;
    case Metric::LFT: lft = value; return;
    case Metric::ROC: roc = value; return;
    case Metric::APR: apr = value; return;
    case Metric::BEP: bep = value; return;
    case Metric::RMS: rms = value; return;
    case Metric::MXE: mxe = value; return;
  }
  throw std::invalid_argument("BinaryMetrics::set: bad metric");
}

BinaryMetrics binary_metrics(const std::vector<double>& p, const std::vector<int>& y,
                             const BinaryMetricOptions& options) {
  check_inputs("binary_metrics", p, y);
  check_probabilities("MXE", p);
  const auto n = static_cast<int64_t>(p.size());
  const int64_t positives = count_positives(y);
  const std::vector<TieGroup> groups = tie_groups(p, y);
  BinaryMetrics r;
  r.acc = accuracy_unchecked(p, y, options.threshold);
  r.fsc = f1_unchecked(p, y, options.threshold);
  r.lft = lift_from_groups(groups, n, positives, options.lift_fraction);
  r.roc = roc_from_groups(groups, n, positives);
  r.apr = apr_from_groups(groups, positives);
  r.bep = bep_from_groups(groups, positives);
  r.rms = rms_unchecked(p, y);
  r.mxe = mxe_unchecked(p, y, options.mxe_epsilon);
  return r;
}

double binary_metric(Metric m, const std::vector<double>& p, const std::vector<int>& y,
                     const BinaryMetricOptions& options) {
  switch (m) {
    case Metric::ACC: return accuracy(p, y, options.threshold);
    case Metric::FSC: return f1_score(p, y, options.threshold);
    case Metric::LFT: return lift(p, y, options.lift_fraction);
    case Metric::ROC: return roc_auc(p, y);
    case Metric::APR: return average_precision(p, y);
    case Metric::BEP: return break_even_point(p, y);
    case Metric::RMS: return rms_error(p, y);
    case Metric::MXE: return mean_cross_entropy(p, y, options.mxe_epsilon);
  }
  throw std::invalid_argument("binary_metric: bad metric");
}

double accuracy(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
  check_inputs("ACC", p, y);
  return accuracy_unchecked(p, y, threshold);
}

double f1_score(const std::vector<double>& p, const std::vector<int>& y, double threshold) {
  check_inputs("FSC", p, y);
  return f1_unchecked(p, y, threshold);
}

double lift(const std::vector<double>& s, const std::vector<int>& y, double fraction) {
  check_inputs("LFT", s, y);
  return lift_from_groups(tie_groups(s, y), static_cast<int64_t>(s.size()), count_positives(y), fraction);
}

double roc_auc(const std::vector<double>& s, const std::vector<int>& y) {
  check_inputs("ROC", s, y);
  return roc_from_groups(tie_groups(s, y), static_cast<int64_t>(s.size()), count_positives(y));
}

double average_precision(const std::vector<double>& s, const std::vector<int>& y) {
  check_inputs("APR", s, y);
  return apr_from_groups(tie_groups(s, y), count_positives(y));
}

double break_even_point(const std::vector<double>& s, const std::vector<int>& y) {
  check_inputs("BEP", s, y);
  return bep_from_groups(tie_groups(s, y), count_positives(y));
}

double rms_error(const std::vector<double>& p, const std::vector<int>& y) {
  check_inputs("RMS", p, y);
  return rms_unchecked(p, y);
}

double mean_cross_entropy(const std::vector<double>& p, const std::vector<int>& y, double epsilon) {
  check_inputs("MXE", p, y);
  check_probabilities("MXE", p);
  return mxe_unchecked(p, y, epsilon);
}

void check_binary_inputs(const std::string& what, const std::vector<double>& predictions,
                         const std::vector<int>& labels, bool probabilities) {
  check_inputs(what.c_str(), predictions, labels);
  if (probabilities) check_probabilities(what.c_str(), predictions);
}

double positive_rate(const std::vector<int>& labels) {
  check_inputs("positive_rate", std::vector<double>(labels.size(), 0.0), labels);
  return static_cast<double>(count_positives(labels)) / static_cast<double>(labels.size());
}

RocCurve roc_curve(const std::vector<double>& s, const std::vector<int>& y) {
  check_inputs("roc_curve", s, y);
  const auto n = static_cast<int64_t>(s.size());
  const int64_t positives = count_positives(y), negatives = n - positives;
  if (positives == 0 || negatives == 0)
    throw std::invalid_argument("roc_curve: undefined with only one class present");
  RocCurve c;
  c.fpr.push_back(0.0);
  c.tpr.push_back(0.0);
  c.thresholds.push_back(std::numeric_limits<double>::infinity());
  int64_t tp = 0, fp = 0;
  for (const TieGroup& g : tie_groups(s, y)) {
    tp += g.positives;
    fp += g.size - g.positives;
    c.fpr.push_back(static_cast<double>(fp) / static_cast<double>(negatives));
    c.tpr.push_back(static_cast<double>(tp) / static_cast<double>(positives));
    c.thresholds.push_back(g.score);
  }
  return c;
}

}  // namespace bp::eval
