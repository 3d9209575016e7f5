// Platt scaling and isotonic calibration: against the reference fits written by
// gen_eval_fixtures.py, by hand, through json, and their effect on the metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "backprop/eval/calibration.hpp"
#include "backprop/eval/metrics.hpp"
#include "eval_test_util.hpp"

using namespace bp::eval;
using bp::eval::testing::doubles;
using bp::eval::testing::ints;
using bp::eval::testing::load_fixture;

// ---------------------------------------------------------------------------------------------
// Platt

TEST(EvalPlatt, MatchesReferenceNewtonAndSklearn) {
  const auto cases = load_fixture("platt_reference.json").at("cases");
  ASSERT_EQ(cases.size(), 2u);
  for (const auto& c : cases) {
    PlattScaler platt;
    const PlattFitReport report = platt.fit(doubles(c.at("scores")), ints(c.at("labels")));
    EXPECT_TRUE(report.converged);
    EXPECT_TRUE(report.warning.empty()) << report.warning;
    // Same algorithm as the numpy transcription: the same Newton steps, so the same count, and
    // parameters that differ only by summation-order rounding (~1e-13) carried through a few
    // quadratically converging steps. 1e-9 leaves room for that and nothing else.
    EXPECT_EQ(report.iterations, c.at("iterations").get<int>());
    EXPECT_NEAR(platt.a(), c.at("A").get<double>(), 1e-9);
    EXPECT_NEAR(platt.b(), c.at("B").get<double>(), 1e-9);
    EXPECT_NEAR(report.loss, c.at("loss").get<double>(), 1e-9);
    // sklearn minimizes the same objective with BFGS, stopping at gradient norm 1e-5; the
    // fixtures show differences of at most 2e-6, so 1e-4 catches a different objective (e.g.
    // unsmoothed targets move A, B by ~1e-2 here) but not BFGS's looser stop.
    EXPECT_NEAR(platt.a(), c.at("A_sklearn").get<double>(), 1e-4);
    EXPECT_NEAR(platt.b(), c.at("B_sklearn").get<double>(), 1e-4);
    const auto xs = doubles(c.at("test_scores")), ps = doubles(c.at("test_predictions"));
    const auto out = platt.apply(xs);
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(out[i], ps[i], 1e-9) << xs[i];
  }
}

TEST(EvalPlatt, OneClassPredictsSmoothedTarget) {
  // All 10 labels positive: the smoothed target is t+ = 11/12 for every case, which A = 0,
  // B = log(1/11) reproduces exactly, so the fit predicts 11/12 (up to the 1e-5 gradient stop).
  PlattScaler platt;
  const std::vector<double> f = {-2, -1, 0, 0.5, 1, 1.5, 2, 3, 4, 5};
  const PlattFitReport r = platt.fit(f, std::vector<int>(10, 1));
  EXPECT_TRUE(r.converged);
  for (double s : f) EXPECT_NEAR(platt.apply(s), 11.0 / 12.0, 1e-5);
}

TEST(EvalPlatt, EqualScoresPredictMeanTarget) {
  // All scores 0.3, 3 positives of 10: t+ = 4/5, t- = 1/9; the best constant is the mean target
  // (3 * 4/5 + 7 * 1/9) / 10. The Hessian is singular up to sigma; the fit must still converge.
  PlattScaler platt;
  const PlattFitReport r = platt.fit(std::vector<double>(10, 0.3), {1, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_TRUE(r.converged) << r.warning;
  EXPECT_NEAR(platt.apply(0.3), (3 * 0.8 + 7.0 / 9) / 10, 1e-5);
  EXPECT_TRUE(std::isfinite(platt.a()));
}

TEST(EvalPlatt, ApplyIsStableAndMonotone) {
  const PlattScaler platt(-2.0, 0.5);
  // 1 / (1 + exp(-2 * 1 + 0.5)) = 1 / (1 + e^-1.5)
  EXPECT_NEAR(platt.apply(1.0), 1.0 / (1.0 + std::exp(-1.5)), 1e-15);
  EXPECT_EQ(platt.apply(1e6), 1.0);  // no overflow to NaN
  EXPECT_EQ(platt.apply(-1e6), 0.0);
  EXPECT_LT(platt.apply(0.1), platt.apply(0.2));
  EXPECT_THROW(platt.apply(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(PlattScaler().apply(0.5), std::logic_error);
  EXPECT_THROW(PlattScaler(std::numeric_limits<double>::infinity(), 0), std::invalid_argument);
}

TEST(EvalPlatt, BadFitInputThrows) {
  PlattScaler platt;
  EXPECT_THROW(platt.fit({}, {}), std::invalid_argument);
  EXPECT_THROW(platt.fit({0.1, 0.2}, {1}), std::invalid_argument);
  EXPECT_THROW(platt.fit({0.1, std::numeric_limits<double>::quiet_NaN()}, {1, 0}), std::invalid_argument);
  EXPECT_THROW(platt.fit({0.1, 0.2}, {1, 2}), std::invalid_argument);
  EXPECT_FALSE(platt.fitted());
}

// ---------------------------------------------------------------------------------------------
// Isotonic

TEST(EvalIsotonic, MatchesSklearnClip) {
  const auto j = load_fixture("isotonic_sklearn.json");
  IsotonicCalibrator iso;
  iso.fit(doubles(j.at("scores")), ints(j.at("labels")));
  // Fitted points: the same pooling, duplicates merged and flat runs trimmed as sklearn does.
  // Values are means of at most 80 labels: rounding ~1e-16, so 1e-12.
  const auto xt = doubles(j.at("x_thresholds")), yt = doubles(j.at("y_thresholds"));
  ASSERT_EQ(iso.xs().size(), xt.size());
  for (size_t k = 0; k < xt.size(); ++k) {
    EXPECT_EQ(iso.xs()[k], xt[k]) << k;  // input scores, copied exactly
    EXPECT_NEAR(iso.ys()[k], yt[k], 1e-12) << k;
  }
  // Predictions, including scores outside the fitted range (clipped) and on fitted points.
  const auto xs = doubles(j.at("test_scores")), ps = doubles(j.at("test_predictions"));
  const auto out = iso.apply(xs);
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(out[i], ps[i], 1e-12) << xs[i];
}

TEST(EvalIsotonic, PoolsByHand) {
  // scores 1 2 2 3 4, labels 0 1 0 0 1. Merge equal scores: x = 1 2 3 4, y = 0 .5 0 1 with
  // weights 1 2 1 1. PAV: .5 then 0 violates -> pool (2 * .5 + 0) / 3 = 1/3 for x = 2, 3.
  // Fit: 0, 1/3, 1/3, 1.
  IsotonicCalibrator iso;
  iso.fit({1, 2, 2, 3, 4}, {0, 1, 0, 0, 1});
  EXPECT_EQ(iso.xs(), (std::vector<double>{1, 2, 3, 4}));
  ASSERT_EQ(iso.ys().size(), 4u);
  EXPECT_DOUBLE_EQ(iso.ys()[0], 0.0);
  EXPECT_DOUBLE_EQ(iso.ys()[1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(iso.ys()[2], 1.0 / 3);
  EXPECT_DOUBLE_EQ(iso.ys()[3], 1.0);
  // Interpolation (default): halfway between points, clipped outside [1, 4].
  EXPECT_DOUBLE_EQ(iso.apply(1.5), 1.0 / 6);
  EXPECT_DOUBLE_EQ(iso.apply(2.5), 1.0 / 3);
  EXPECT_DOUBLE_EQ(iso.apply(3.5), 2.0 / 3);
  EXPECT_DOUBLE_EQ(iso.apply(0.0), 0.0);
  EXPECT_DOUBLE_EQ(iso.apply(9.0), 1.0);
  // Step function: the value of the last fitted point at or below the score.
  iso.set_mode(IsotonicPrediction::Step);
  EXPECT_DOUBLE_EQ(iso.apply(1.5), 0.0);
  EXPECT_DOUBLE_EQ(iso.apply(3.5), 1.0 / 3);
  EXPECT_DOUBLE_EQ(iso.apply(4.0), 1.0);
  EXPECT_DOUBLE_EQ(iso.apply(0.0), 0.0);
}

TEST(EvalIsotonic, TrimsFlatRuns) {
  // Labels already sorted: 0 0 0 1 1 1 at scores 1..6: fit 0 0 0 1 1 1; the interior points of
  // the two flat runs go, leaving (1,0) (3,0) (4,1) (6,1).
  IsotonicCalibrator iso;
  iso.fit({1, 2, 3, 4, 5, 6}, {0, 0, 0, 1, 1, 1});
  EXPECT_EQ(iso.xs(), (std::vector<double>{1, 3, 4, 6}));
  EXPECT_EQ(iso.ys(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(iso.apply(3.25), 0.25);
}

TEST(EvalIsotonic, DegenerateFits) {
  IsotonicCalibrator iso;
  iso.fit({0.1, 0.5, 0.9}, {0, 0, 0});  // one class: constant 0
  EXPECT_EQ(iso.apply(0.7), 0.0);
  iso.fit({0.4, 0.4, 0.4}, {1, 0, 1});  // one distinct score: constant 2/3
  EXPECT_EQ(iso.xs().size(), 1u);
  EXPECT_DOUBLE_EQ(iso.apply(-3.0), 2.0 / 3);
  EXPECT_DOUBLE_EQ(iso.apply(3.0), 2.0 / 3);
  EXPECT_THROW(iso.fit({}, {}), std::invalid_argument);
  EXPECT_THROW(iso.fit({0.1, std::numeric_limits<double>::quiet_NaN()}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(iso.apply(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(IsotonicCalibrator().apply(0.5), std::logic_error);
  EXPECT_THROW(IsotonicCalibrator().to_json(), std::logic_error);
}

// ---------------------------------------------------------------------------------------------
// json

TEST(EvalCalibratorJson, RoundTrips) {
  const PlattScaler platt(-1.25, 0.375);
  auto back = calibrator_from_json(nlohmann::json::parse(platt.to_json().dump()));
  EXPECT_EQ(back->name(), "platt");
  EXPECT_EQ(back->apply(0.7), platt.apply(0.7));

  IsotonicCalibrator iso(IsotonicPrediction::Step);
  iso.fit({1, 2, 2, 3, 4}, {0, 1, 0, 0, 1});
  auto back_iso = calibrator_from_json(nlohmann::json::parse(iso.to_json().dump()));
  EXPECT_EQ(back_iso->name(), "isotonic");
  for (double s : {0.0, 1.5, 2.5, 3.5, 5.0}) EXPECT_EQ(back_iso->apply(s), iso.apply(s)) << s;
  EXPECT_EQ(dynamic_cast<IsotonicCalibrator&>(*back_iso).mode(), IsotonicPrediction::Step);
}

TEST(EvalCalibratorJson, RejectsBadJson) {
  using nlohmann::json;
  const std::vector<json> bad = {
      json::array(),
      json{{"A", 1.0}, {"B", 2.0}},                                  // no type
      json{{"type", "beta"}},                                         // unknown type
      json{{"type", 3}},
      json{{"type", "platt"}, {"A", 1.0}},                            // missing B
      json{{"type", "platt"}, {"A", "1"}, {"B", 2.0}},                // not a number
      json{{"type", "isotonic"}, {"x", {1.0, 2.0}}},                  // missing y
      json{{"type", "isotonic"}, {"x", json::array()}, {"y", json::array()}},
      json{{"type", "isotonic"}, {"x", {1.0, 2.0}}, {"y", {0.5}}},    // lengths
      json{{"type", "isotonic"}, {"x", {2.0, 1.0}}, {"y", {0.1, 0.5}}},  // x decreasing
      json{{"type", "isotonic"}, {"x", {1.0, 1.0}}, {"y", {0.1, 0.5}}},  // x repeated
      json{{"type", "isotonic"}, {"x", {1.0, 2.0}}, {"y", {0.5, 0.1}}},  // y decreasing
      json{{"type", "isotonic"}, {"x", {1.0, 2.0}}, {"y", {0.5, 1.5}}},  // not a probability
      json{{"type", "isotonic"}, {"x", {1.0, "a"}}, {"y", {0.5, 0.6}}},
      json{{"type", "isotonic"}, {"prediction", "cubic"}, {"x", {1.0}}, {"y", {0.5}}},
  };
  for (const json& j : bad) EXPECT_THROW(calibrator_from_json(j), std::invalid_argument) << j.dump();
  EXPECT_THROW(PlattScaler::from_json(json{{"type", "isotonic"}, {"A", 1.0}, {"B", 1.0}}), std::invalid_argument);
  EXPECT_NO_THROW(calibrator_from_json(json{{"type", "isotonic"}, {"x", {1.0}}, {"y", {0.5}}}));
}

// ---------------------------------------------------------------------------------------------
// Effect on the metrics

namespace {
// Mann-Whitney by brute force over all (positive, negative) pairs.
double pairwise_roc(const std::vector<double>& s, const std::vector<int>& y) {
  double won = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        won += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        pairs += 1;
      }
  return won / pairs;
}
}  // namespace

TEST(EvalCalibrationEffect, PlattLeavesRankMetricsUnchanged) {
  const auto cases = load_fixture("platt_reference.json").at("cases");
  for (const auto& c : cases) {
    const auto f = doubles(c.at("scores"));
    const auto y = ints(c.at("labels"));
    PlattScaler platt;
    platt.fit(f, y);
    ASSERT_LT(platt.a(), 0.0);  // increasing map
    const auto p = platt.apply(f);
    // A strictly increasing map keeps every order and every tie: the rank metrics see the same
    // tie groups, so they are bit-for-bit equal.
    EXPECT_EQ(roc_auc(p, y), roc_auc(f, y));
    EXPECT_EQ(average_precision(p, y), average_precision(f, y));
    EXPECT_EQ(break_even_point(p, y), break_even_point(f, y));
    EXPECT_EQ(lift(p, y), lift(f, y));
  }
}

TEST(EvalCalibrationEffect, IsotonicChangesRocOnlyThroughNewTies) {
  const auto j = load_fixture("isotonic_sklearn.json");
  const auto s = doubles(j.at("scores"));
  const auto y = ints(j.at("labels"));
  IsotonicCalibrator iso;
  iso.fit(s, y);
  const auto c = iso.apply(s);
  // The map is non-decreasing, so a pair can only become tied, never reversed; ROC then moves
  // by exactly the half-credits of those newly tied pairs:
  //   ROC(c) = ROC(s) - (1/(N+ N-)) sum_{newly tied pairs} (1[s_pos > s_neg] - 1/2).
  double correction = 0, pairs = 0;
  for (size_t a = 0; a < s.size(); ++a)
    for (size_t b = 0; b < s.size(); ++b) {
      if (y[a] != 1 || y[b] != 0) continue;
      pairs += 1;
      ASSERT_FALSE(s[a] > s[b] && c[a] < c[b]);
      ASSERT_FALSE(s[a] < s[b] && c[a] > c[b]);
      if (s[a] != s[b] && c[a] == c[b]) correction += (s[a] > s[b] ? 1.0 : 0.0) - 0.5;
    }
  // This data set has pooled blocks, so the identity is exercised. On its own training set PAV
  // pools mostly reversed pairs (a negative above a positive), so here ROC goes up.
  EXPECT_LT(correction, -1.0);
  EXPECT_NEAR(roc_auc(c, y), roc_auc(s, y) - correction / pairs, 1e-14);
  EXPECT_NEAR(roc_auc(s, y), pairwise_roc(s, y), 1e-14);
  EXPECT_NEAR(roc_auc(c, y), pairwise_roc(c, y), 1e-14);
}

TEST(EvalCalibrationEffect, CalibrationLowersMxeOfOverconfidentScores) {
  // The imbalanced Platt case: scores in [0, 1] around 0.3 although only ~10 % are positive.
  const auto c = load_fixture("platt_reference.json").at("cases").at(1);
  const auto f = doubles(c.at("scores"));
  const auto y = ints(c.at("labels"));
  PlattScaler platt;
  platt.fit(f, y);
  IsotonicCalibrator iso;
  iso.fit(f, y);
  const double raw = mean_cross_entropy(f, y);
  EXPECT_LT(mean_cross_entropy(platt.apply(f), y), raw - 0.1);
  EXPECT_LT(mean_cross_entropy(iso.apply(f), y), raw - 0.1);
  EXPECT_LT(rms_error(platt.apply(f), y), rms_error(f, y));
}
