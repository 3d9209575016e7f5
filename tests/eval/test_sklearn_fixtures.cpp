// Metrics against scikit-learn 1.2 values written by tests/fixtures/eval/gen_eval_fixtures.py.
// Tolerance 1e-12 (absolute, values of order 1): the same formulas summed in another order over
// at most 200 terms, i.e. rounding of a few 1e-16 per term; any real difference (a tie rule, a
// clip, a log base) shows up far above it.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/eval/metrics.hpp"
#include "backprop/eval/multiclass.hpp"
#include "backprop/eval/plots.hpp"
#include "eval_test_util.hpp"

using namespace bp::eval;
using bp::eval::testing::doubles;
using bp::eval::testing::ints;
using bp::eval::testing::load_fixture;

namespace {
constexpr double kTol = 1e-12;
}

TEST(EvalSklearn, BinaryWithoutTies) {
  const auto j = load_fixture("binary_sklearn.json").at("no_ties");
  const auto p = doubles(j.at("predictions"));
  const auto y = ints(j.at("labels"));
  const BinaryMetrics m = binary_metrics(p, y);
  EXPECT_NEAR(m.roc, j.at("roc").get<double>(), kTol);
  EXPECT_NEAR(m.apr, j.at("apr_sklearn").get<double>(), kTol);  // equal without ties
  EXPECT_NEAR(m.acc, j.at("acc").get<double>(), kTol);
  EXPECT_NEAR(m.fsc, j.at("fsc").get<double>(), kTol);
  EXPECT_NEAR(m.rms, j.at("rms").get<double>(), kTol);
  EXPECT_NEAR(m.mxe, j.at("mxe").get<double>(), kTol);
}

TEST(EvalSklearn, BinaryWithTies) {
  const auto j = load_fixture("binary_sklearn.json").at("ties");
  const auto p = doubles(j.at("predictions"));
  const auto y = ints(j.at("labels"));
  const BinaryMetrics m = binary_metrics(p, y);
  // ROC: sklearn's trapezoids count a tie as 1/2, as Mann-Whitney does.
  EXPECT_NEAR(m.roc, j.at("roc").get<double>(), kTol);
  EXPECT_NEAR(m.acc, j.at("acc").get<double>(), kTol);
  EXPECT_NEAR(m.fsc, j.at("fsc").get<double>(), kTol);
  EXPECT_NEAR(m.rms, j.at("rms").get<double>(), kTol);
  EXPECT_NEAR(m.mxe, j.at("mxe").get<double>(), kTol);
  // With ties the expected AP is not sklearn's (which scores a tie group at its end); the
  // difference here is well above rounding. Exactness is checked by brute force elsewhere.
  EXPECT_GT(std::abs(m.apr - j.at("apr_sklearn").get<double>()), 1e-3);
}

TEST(EvalSklearn, MxeWithExactZerosAndOnes) {
  const auto j = load_fixture("binary_sklearn.json").at("zero_one");
  const auto p = doubles(j.at("predictions"));
  const auto y = ints(j.at("labels"));
  // sklearn clips each class probability to [1e-15, 1 - 1e-15] and renormalizes (a change of
  // at most 2e-15 relative), as bp::eval clips the observed class probability.
  EXPECT_NEAR(mean_cross_entropy(p, y), j.at("mxe").get<double>(), kTol);
  EXPECT_NEAR(roc_auc(p, y), j.at("roc").get<double>(), kTol);
  EXPECT_NEAR(rms_error(p, y), j.at("rms").get<double>(), kTol);
}

TEST(EvalSklearn, Multiclass) {
  const auto j = load_fixture("multiclass_sklearn.json");
  const int k = j.at("num_classes").get<int>();
  const auto y = ints(j.at("labels"));
  const auto prob = doubles(j.at("probabilities"));
  const auto pred = argmax_rows(prob, k);
  EXPECT_EQ(pred, ints(j.at("predicted")));
  EXPECT_DOUBLE_EQ(multiclass_accuracy(y, pred), j.at("accuracy").get<double>());
  EXPECT_DOUBLE_EQ(multiclass_accuracy(y, prob, k), j.at("accuracy").get<double>());
  EXPECT_NEAR(log_loss(y, prob, k), j.at("log_loss").get<double>(), kTol);
  EXPECT_NEAR(log_loss(y, doubles(j.at("probabilities_edge")), k), j.at("log_loss_edge").get<double>(), kTol);
  EXPECT_NEAR(macro_f1(y, pred, k), j.at("macro_f1").get<double>(), kTol);
  const auto auc = one_vs_rest_auc(y, prob, k);
  const auto auc_ref = doubles(j.at("ovr_auc"));
  ASSERT_EQ(auc.size(), auc_ref.size());
  for (size_t c = 0; c < auc.size(); ++c) EXPECT_NEAR(auc[c], auc_ref[c], kTol) << "class " << c;
  const auto cm = confusion_matrix(y, pred, k);
  const auto cm_ref = j.at("confusion").get<std::vector<std::vector<int64_t>>>();
  EXPECT_EQ(cm, cm_ref);
}

TEST(EvalSklearn, MacroF1SkipsClassAbsentEverywhere) {
  const auto j = load_fixture("multiclass_sklearn.json").at("absent");
  // K = 4 but class 3 occurs in neither list: averaged over classes 0..2 as sklearn does.
  EXPECT_NEAR(macro_f1(ints(j.at("labels")), ints(j.at("predicted")), 4), j.at("macro_f1").get<double>(), kTol);
}

TEST(EvalSklearn, Regression) {
  const auto j = load_fixture("multiclass_sklearn.json").at("regression");
  const auto t = doubles(j.at("targets")), p = doubles(j.at("predictions"));
  EXPECT_NEAR(rmse(t, p), j.at("rmse").get<double>(), kTol);
  EXPECT_NEAR(mae(t, p), j.at("mae").get<double>(), kTol);
  EXPECT_NEAR(r2_score(t, p), j.at("r2").get<double>(), kTol);
}

TEST(EvalSklearn, CalibrationCurveUniformBins) {
  const auto j = load_fixture("curves_sklearn.json").at("reliability");
  const auto bins = reliability_curve(doubles(j.at("probabilities")), ints(j.at("labels")), j.at("num_bins").get<int>());
  const auto frac = doubles(j.at("fraction_positive")), mean = doubles(j.at("mean_predicted"));
  const auto counts = j.at("counts").get<std::vector<int64_t>>();
  ASSERT_EQ(bins.size(), frac.size());
  for (size_t b = 0; b < bins.size(); ++b) {
    EXPECT_NEAR(bins[b].fraction_positive, frac[b], kTol) << "bin " << b;
    EXPECT_NEAR(bins[b].mean_predicted, mean[b], kTol) << "bin " << b;
    EXPECT_EQ(bins[b].count, counts[b]) << "bin " << b;
  }
}

TEST(EvalSklearn, RocCurveWithTies) {
  const auto j = load_fixture("curves_sklearn.json").at("roc");
  const RocCurve c = roc_curve(doubles(j.at("scores")), ints(j.at("labels")));
  const auto fpr = doubles(j.at("fpr")), tpr = doubles(j.at("tpr")), thr = doubles(j.at("thresholds"));
  ASSERT_EQ(c.fpr.size(), fpr.size());
  for (size_t i = 0; i < fpr.size(); ++i) {
    EXPECT_NEAR(c.fpr[i], fpr[i], kTol) << i;
    EXPECT_NEAR(c.tpr[i], tpr[i], kTol) << i;
  }
  // Thresholds are the input scores themselves: exactly equal. The first is +inf here.
  EXPECT_TRUE(std::isinf(c.thresholds[0]));
  for (size_t i = 0; i < thr.size(); ++i) EXPECT_EQ(c.thresholds[i + 1], thr[i]) << i;
}
