// The eight binary metrics on small cases worked by hand, tie handling and degenerate inputs.
// Tolerances: 1e-12 where the implementation adds a handful of O(1) terms in another order
// than the hand formula (rounding ~1e-16 per term); exact equality where only counts are involved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "backprop/eval/metrics.hpp"

using namespace bp::eval;

namespace {

// Case A, sorted by score (descending):
//   score  0.9  0.8  0.8  0.6  0.4  0.4  0.4  0.1
//   label   1    1    0    1    0    1    0    0          N = 8, N+ = 4, N- = 4
// Tie groups: {0.9}, {0.8 x2: 1 pos}, {0.6}, {0.4 x3: 1 pos}, {0.1}.
const std::vector<double> kScoresA = {0.9, 0.8, 0.8, 0.6, 0.4, 0.4, 0.4, 0.1};
const std::vector<int> kLabelsA = {1, 1, 0, 1, 0, 1, 0, 0};

}  // namespace

TEST(EvalBinary, AccuracyAndF1ByHand) {
  // p >= 0.5 -> positive: 0.9 0.8 0.8 0.6 -> TP = 3, FP = 1; below: 0.4 0.4 0.4 0.1 -> FN = 1, TN = 3.
  // ACC = 6/8; P = 3/4, R = 3/4, F = 3/4.
  EXPECT_DOUBLE_EQ(accuracy(kScoresA, kLabelsA), 0.75);
  EXPECT_DOUBLE_EQ(f1_score(kScoresA, kLabelsA), 0.75);
  // Threshold 0.7: positive 0.9 0.8 0.8 -> TP = 2, FP = 1, FN = 2, TN = 3. ACC = 5/8,
  // F = 2TP/(2TP+FP+FN) = 4/7.
  EXPECT_DOUBLE_EQ(accuracy(kScoresA, kLabelsA, 0.7), 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(f1_score(kScoresA, kLabelsA, 0.7), 4.0 / 7.0);
  // p exactly at the threshold counts as positive: 0.6 >= 0.6.
  EXPECT_DOUBLE_EQ(accuracy({0.6, 0.2}, {1, 0}, 0.6), 1.0);
}

TEST(EvalBinary, LiftCutsTieGroupFractionally) {
  // K = floor(0.25 * 8) = 2: 0.9 (pos) and one of the two 0.8s (phi = 1/2) -> 1.5 positives.
  // LFT = (1.5 / 4) / (2 / 8) = 1.5.
  EXPECT_DOUBLE_EQ(lift(kScoresA, kLabelsA), 1.5);
  // K = floor(0.5 * 8) = 4: 0.9, 0.8, 0.8, 0.6 -> 3 positives. LFT = (3/4)/(4/8) = 1.5.
  EXPECT_DOUBLE_EQ(lift(kScoresA, kLabelsA, 0.5), 1.5);
  // K = floor(0.75 * 8) = 6: + 0.4 x2 of the three (phi = 1/3) -> 3 + 2/3. LFT = (11/12)/(6/8) = 11/9.
  EXPECT_NEAR(lift(kScoresA, kLabelsA, 0.75), 11.0 / 9.0, 1e-15);
}

TEST(EvalBinary, RocIsMannWhitneyWithHalfTies) {
  // Positives at 0.9, 0.8, 0.6, 0.4; negatives at 0.8, 0.4, 0.4, 0.1. Pairs won per positive:
  //   0.9: 4;  0.8: 3 + 1/2 (tie with 0.8);  0.6: 3;  0.4: 1 + 2 * 1/2.   Total 12.5 of 16.
  EXPECT_DOUBLE_EQ(roc_auc(kScoresA, kLabelsA), 12.5 / 16.0);
  // Perfect and reversed rankings.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {1, 1, 0, 0}), 0.0);
  // Scores need not be probabilities.
  EXPECT_DOUBLE_EQ(roc_auc({-5.0, 3.0, 40.0}, {0, 1, 0}), 0.5);
}

TEST(EvalBinary, AveragePrecisionExpectedOverTieOrders) {
  // Group by group, (s = cases above, a = positives above, m = size, q = positives):
  //   {0.9}:        rank 1, precision 1/1                              -> 1
  //   {0.8 x2, q=1}: the positive is at rank 2 or 3 with prob 1/2 each,
  //                  precision 2/2 or 2/3                               -> 1/2 + 1/3
  //   {0.6}:        rank 4, 3 positives in top 4                        -> 3/4
  //   {0.4 x3, q=1}: rank 5, 6 or 7 with prob 1/3, 4 positives at it    -> (4/3)(1/5 + 1/6 + 1/7)
  // APR = (sum) / N+ with N+ = 4.
  const double expected = (1.0 + 0.5 + 1.0 / 3.0 + 0.75 + 4.0 / 3.0 * (1.0 / 5 + 1.0 / 6 + 1.0 / 7)) / 4.0;
  EXPECT_NEAR(average_precision(kScoresA, kLabelsA), expected, 1e-15);
  // No ties: positives at ranks 1 and 3 -> (1/1 + 2/3) / 2.
  EXPECT_NEAR(average_precision({0.9, 0.5, 0.4, 0.1}, {1, 0, 1, 0}), (1.0 + 2.0 / 3.0) / 2.0, 1e-15);
}

TEST(EvalBinary, BreakEvenPointByHand) {
  // Top N+ = 4 of case A: 0.9, 0.8, 0.8, 0.6 -> 3 positives (no group is cut). BEP = 3/4.
  EXPECT_DOUBLE_EQ(break_even_point(kScoresA, kLabelsA), 0.75);
  // scores 0.9 0.7 0.7 0.7 0.2 0.1, labels 0 1 1 0 1 0: N+ = 3, top 3 = 0.9 (neg) and two
  // places of the 0.7 group (2 of 3 positive, phi = 2/3) -> 4/3 positives. BEP = 4/9.
  const std::vector<double> s = {0.9, 0.7, 0.7, 0.7, 0.2, 0.1};
  const std::vector<int> y = {0, 1, 1, 0, 1, 0};
  EXPECT_NEAR(break_even_point(s, y), 4.0 / 9.0, 1e-15);
  // Same data, LFT at 50 %: K = 3, the same 4/3 positives: (4/9) / (3/6) = 8/9.
  EXPECT_NEAR(lift(s, y, 0.5), 8.0 / 9.0, 1e-15);
  // LFT at 25 %: K = 1, the top case is a negative -> 0.
  EXPECT_DOUBLE_EQ(lift(s, y), 0.0);
}

TEST(EvalBinary, RmsAndMxeByHand) {
  // Squared errors: .01 .04 .64 .16 .16 .36 .16 .01 -> sum 1.54, RMS = sqrt(1.54 / 8).
  EXPECT_NEAR(rms_error(kScoresA, kLabelsA), std::sqrt(1.54 / 8.0), 1e-15);
  // MXE = -(1/8) [log2 .9 + log2 .8 + log2 .2 + log2 .6 + log2 .6 + log2 .4 + log2 .6 + log2 .9]
  // (p for positives, 1 - p for negatives).
  const double mxe = -(2 * std::log2(0.9) + std::log2(0.8) + std::log2(0.2) + 3 * std::log2(0.6) + std::log2(0.4)) / 8;
  EXPECT_NEAR(mean_cross_entropy(kScoresA, kLabelsA), mxe, 1e-15);
}

TEST(EvalBinary, MxeClipsExactZeroAndOne) {
  // Two confident hits (cost -log2(1 - 1e-15) each, ~1.4e-15) and two confident mistakes (cost
  // -log2(1e-15) = 15 log2(10) = 49.83 bits each). MXE = (2 * 49.83 + tiny) / 4.
  const std::vector<double> p = {1.0, 0.0, 1.0, 0.0};
  const std::vector<int> y = {1, 0, 0, 1};
  const double expected = (2 * 15 * std::log2(10.0) - 2 * std::log2(1.0 - 1e-15)) / 4;
  EXPECT_NEAR(mean_cross_entropy(p, y), expected, 1e-12);
  EXPECT_TRUE(std::isfinite(binary_metrics(p, y).mxe));
  // A larger epsilon caps the cost lower: -log2(0.01) = 6.64 bits per mistake.
  EXPECT_NEAR(mean_cross_entropy(p, y, 0.01), (-2 * std::log2(0.01) - 2 * std::log2(0.99)) / 4, 1e-12);
}

TEST(EvalBinary, AllAtOnceMatchesIndividualFunctions) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> p(101);
  std::vector<int> y(101);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = std::round(u(rng) * 20) / 20;  // ties
    y[i] = u(rng) < p[i];
  }
  BinaryMetricOptions opt;
  opt.threshold = 0.4;
  opt.lift_fraction = 0.1;
  const BinaryMetrics m = binary_metrics(p, y, opt);
  for (Metric k : kAllMetrics) EXPECT_EQ(m.get(k), binary_metric(k, p, y, opt)) << metric_name(k);
  EXPECT_EQ(m.acc, accuracy(p, y, 0.4));
  EXPECT_EQ(m.lft, lift(p, y, 0.1));
}

TEST(EvalBinary, InputOrderDoesNotMatter) {
  // Tie handling must not depend on where tied cases sit in the input.
  std::vector<size_t> perm = {7, 2, 5, 0, 3, 6, 1, 4};
  std::vector<double> s;
  std::vector<int> y;
  for (size_t i : perm) {
    s.push_back(kScoresA[i]);
    y.push_back(kLabelsA[i]);
  }
  const BinaryMetrics a = binary_metrics(kScoresA, kLabelsA), b = binary_metrics(s, y);
  for (Metric k : {Metric::ACC, Metric::FSC, Metric::LFT, Metric::ROC, Metric::APR, Metric::BEP})
    EXPECT_EQ(a.get(k), b.get(k)) << metric_name(k);
  EXPECT_NEAR(a.rms, b.rms, 1e-15);
  EXPECT_NEAR(a.mxe, b.mxe, 1e-15);
}

TEST(EvalBinary, AllPredictionsEqual) {
  // One tie group of 5 with 2 positives (pi = 0.4), every prediction 0.3.
  const std::vector<double> p(5, 0.3);
  const std::vector<int> y = {1, 0, 0, 1, 0};
  const BinaryMetrics m = binary_metrics(p, y);
  EXPECT_DOUBLE_EQ(m.roc, 0.5);     // every pair tied
  EXPECT_DOUBLE_EQ(m.bep, 0.4);     // top 2 hold 2 * 0.4 positives, / 2
  EXPECT_DOUBLE_EQ(m.lft, 1.0);     // K = 1 holds 0.4 positives: (0.4/2)/(1/5)
  EXPECT_DOUBLE_EQ(m.acc, 0.6);     // all predicted negative
  EXPECT_DOUBLE_EQ(m.fsc, 0.0);     // nothing predicted positive
  // APR: m = 5, q = 2: sum_t (2/5)(1 + (t-1)/4)/t = (2/5)(1 + 1.25/2 + 1.5/3 + 1.75/4 + 2/5)
  //      = (2/5)(2.9625) = 1.185; / N+ = 0.5925.
  EXPECT_NEAR(m.apr, 0.5925, 1e-15);
}

TEST(EvalBinary, OneClassOnly) {
  const std::vector<double> p = {0.2, 0.7, 0.4, 0.9};
  const std::vector<int> negatives(4, 0), positives(4, 1);
  // Threshold and probability metrics stay defined.
  EXPECT_DOUBLE_EQ(accuracy(p, negatives), 0.5);
  EXPECT_DOUBLE_EQ(f1_score(p, negatives), 0.0);  // TP = 0
  EXPECT_NEAR(rms_error(p, negatives), std::sqrt((0.04 + 0.49 + 0.16 + 0.81) / 4), 1e-15);
  // Rank metrics that divide by N+ or need both classes throw, naming the metric.
  EXPECT_THROW(roc_auc(p, negatives), std::invalid_argument);
  EXPECT_THROW(roc_auc(p, positives), std::invalid_argument);
  EXPECT_THROW(average_precision(p, negatives), std::invalid_argument);
  EXPECT_THROW(break_even_point(p, negatives), std::invalid_argument);
  EXPECT_THROW(lift(p, negatives), std::invalid_argument);
  EXPECT_THROW(binary_metrics(p, negatives), std::invalid_argument);
  try {
    roc_auc(p, positives);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ROC"), std::string::npos) << e.what();
  }
  // All positive: every ranking is perfect for APR, BEP, LFT.
  EXPECT_DOUBLE_EQ(average_precision(p, positives), 1.0);
  EXPECT_DOUBLE_EQ(break_even_point(p, positives), 1.0);
  EXPECT_DOUBLE_EQ(lift(p, positives), 1.0);
}

TEST(EvalBinary, BadInputThrows) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (Metric k : kAllMetrics) {
    SCOPED_TRACE(metric_name(k));
    EXPECT_THROW(binary_metric(k, {}, {}), std::invalid_argument);
    EXPECT_THROW(binary_metric(k, {0.1, 0.2}, {0, 1, 1}), std::invalid_argument);
    EXPECT_THROW(binary_metric(k, {0.1, 0.2, 0.3, 0.4}, {0, 1, 2, 1}), std::invalid_argument);
    EXPECT_THROW(binary_metric(k, {0.1, 0.2, 0.3, 0.4}, {0, -1, 0, 1}), std::invalid_argument);
    EXPECT_THROW(binary_metric(k, {0.1, nan, 0.3, 0.4}, {0, 1, 0, 1}), std::invalid_argument);
    EXPECT_THROW(binary_metric(k, {0.1, inf, 0.3, 0.4}, {0, 1, 0, 1}), std::invalid_argument);
  }
  try {
    roc_auc({0.1, nan}, {0, 1});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  EXPECT_THROW(binary_metrics({}, {}), std::invalid_argument);
  // MXE needs probabilities; the rank metrics accept any score.
  EXPECT_THROW(mean_cross_entropy({1.5, 0.2}, {1, 0}), std::invalid_argument);
  EXPECT_THROW(binary_metrics({1.5, 0.2, 0.1, 0.3}, {1, 0, 0, 1}), std::invalid_argument);
  EXPECT_DOUBLE_EQ(roc_auc({1.5, 0.2}, {1, 0}), 1.0);
  // LFT needs at least one case in the top fraction: floor(0.25 * 3) = 0.
  EXPECT_THROW(lift({0.1, 0.2, 0.3}, {0, 1, 1}), std::invalid_argument);
  EXPECT_THROW(lift({0.1, 0.2, 0.3, 0.4}, {0, 1, 1, 0}, 0.0), std::invalid_argument);
  EXPECT_THROW(mean_cross_entropy({0.5}, {1}, 0.0), std::invalid_argument);
}

TEST(EvalBinary, MetricNames) {
  EXPECT_STREQ(metric_name(Metric::APR), "APR");
  EXPECT_EQ(metric_from_name("mxe"), Metric::MXE);
  EXPECT_THROW(metric_from_name("AUC"), std::invalid_argument);
  EXPECT_TRUE(higher_is_better(Metric::BEP));
  EXPECT_FALSE(higher_is_better(Metric::RMS));
  EXPECT_FALSE(higher_is_better(Metric::MXE));
  BinaryMetrics m;
  for (int i = 0; i < kNumMetrics; ++i) m.set(kAllMetrics[i], i + 1.0);
  EXPECT_EQ(m.acc, 1.0);
  EXPECT_EQ(m.mxe, 8.0);
  EXPECT_EQ(m.get(Metric::ROC), 4.0);
}

TEST(EvalBinary, PositiveRate) {
  EXPECT_DOUBLE_EQ(positive_rate({1, 0, 0, 1, 1}), 0.6);
  EXPECT_THROW(positive_rate({}), std::invalid_argument);
  EXPECT_THROW(positive_rate({0, 3}), std::invalid_argument);
}
