// Multi-class and regression metrics on hand-worked cases and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backprop/eval/multiclass.hpp"

using namespace bp::eval;

namespace {
// 4 cases, 3 classes, rows sum to 1.
//   case 0: true 0, probs .7 .2 .1 -> pred 0
//   case 1: true 1, probs .1 .3 .6 -> pred 2
//   case 2: true 2, probs .2 .2 .6 -> pred 2
//   case 3: true 1, probs .4 .4 .2 -> pred 0 (tie between 0 and 1: the first wins)
const std::vector<int> kY = {0, 1, 2, 1};
const std::vector<double> kP = {.7, .2, .1, .1, .3, .6, .2, .2, .6, .4, .4, .2};
}  // namespace

TEST(EvalMulticlass, ArgmaxAccuracyConfusionByHand) {
  const auto pred = argmax_rows(kP, 3);
  EXPECT_EQ(pred, (std::vector<int>{0, 2, 2, 0}));
  EXPECT_DOUBLE_EQ(multiclass_accuracy(kY, pred), 0.5);
  EXPECT_DOUBLE_EQ(multiclass_accuracy(kY, kP, 3), 0.5);
  // rows = true, cols = predicted: true 0 -> 0; true 1 -> 2 and 0; true 2 -> 2.
  const std::vector<std::vector<int64_t>> expected = {{1, 0, 0}, {1, 0, 1}, {0, 0, 1}};
  EXPECT_EQ(confusion_matrix(kY, pred, 3), expected);
  const std::string text = format_confusion_matrix(expected, {"a", "b", "c"});
  EXPECT_NE(text.find("true\\pred"), std::string::npos) << text;
  EXPECT_NE(text.find("b"), std::string::npos) << text;
}

TEST(EvalMulticlass, LogLossByHand) {
  // -(ln .7 + ln .3 + ln .6 + ln .4) / 4
  EXPECT_NEAR(log_loss(kY, kP, 3), -(std::log(.7) + std::log(.3) + std::log(.6) + std::log(.4)) / 4, 1e-15);
  // Rows not summing to 1 are renormalized: halving every probability changes nothing
  // (doubling would not do: values above 1 - eps are clipped before the renormalization).
  std::vector<double> halved = kP;
  for (double& v : halved) v *= 0.5;
  EXPECT_NEAR(log_loss(kY, halved, 3), log_loss(kY, kP, 3), 1e-15);
  // A zero probability for the true class is clipped: one case, row (0, 1) with eps = 1e-15:
  // clipped row (1e-15, 1 - 1e-15) sums to 1 -> -ln(1e-15) = 34.54.
  EXPECT_NEAR(log_loss({0}, {0.0, 1.0}, 2), -std::log(1e-15), 1e-9);
}

TEST(EvalMulticlass, MacroF1ByHand) {
  // pred 0 2 2 0 vs true 0 1 2 1:
  //   class 0: TP 1, FP 1, FN 0 -> 2/3;  class 1: TP 0 -> 0;  class 2: TP 1, FP 1, FN 0 -> 2/3.
  EXPECT_NEAR(macro_f1(kY, {0, 2, 2, 0}, 3), (2.0 / 3 + 0 + 2.0 / 3) / 3, 1e-15);
  // A fourth class that never occurs is left out of the mean.
  EXPECT_NEAR(macro_f1(kY, {0, 2, 2, 0}, 4), (2.0 / 3 + 0 + 2.0 / 3) / 3, 1e-15);
  EXPECT_DOUBLE_EQ(macro_f1({0, 1}, {0, 1}, 2), 1.0);
}

TEST(EvalMulticlass, OneVsRestAucByHand) {
  // Class 0 column .7 .1 .2 .4 with case 0 the only positive: it has the top score -> 1.
  // Class 1 column .2 .3 .2 .4, positives cases 1, 3 (.3, .4), negatives .2, .2 -> 1.
  // Class 2 column .1 .6 .6 .2, positive case 2 (.6) vs .1, .6, .2 -> (1 + .5 + 1)/3.
  const auto auc = one_vs_rest_auc(kY, kP, 3);
  ASSERT_EQ(auc.size(), 3u);
  EXPECT_DOUBLE_EQ(auc[0], 1.0);
  EXPECT_DOUBLE_EQ(auc[1], 1.0);
  EXPECT_NEAR(auc[2], 2.5 / 3, 1e-15);
  // A class without cases has no AUC.
  EXPECT_THROW(one_vs_rest_auc(kY, {.7, .2, .1, .0, .1, .3, .6, .0, .2, .2, .6, .0, .4, .4, .2, .0}, 4),
               std::invalid_argument);
}

TEST(EvalMulticlass, BadInputThrows) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(log_loss({}, {}, 3), std::invalid_argument);
  EXPECT_THROW(log_loss(kY, {0.5, 0.5}, 3), std::invalid_argument);             // N*K mismatch
  EXPECT_THROW(log_loss({0, 3}, {.5, .5, 0, .5, .5, 0}, 3), std::invalid_argument);  // label 3 of K=3
  EXPECT_THROW(log_loss({0}, {nan, .5, .5}, 3), std::invalid_argument);
  EXPECT_THROW(log_loss({0}, {-.1, .6, .5}, 3), std::invalid_argument);
  EXPECT_THROW(log_loss({0}, {1.0}, 1), std::invalid_argument);                   // K < 2
  EXPECT_THROW(argmax_rows({1, 2, 3}, 2), std::invalid_argument);
  EXPECT_THROW(argmax_rows({1, nan}, 2), std::invalid_argument);
  EXPECT_THROW(confusion_matrix({0, 1}, {0}, 2), std::invalid_argument);
  EXPECT_THROW(confusion_matrix({0, 1}, {0, 2}, 2), std::invalid_argument);
  EXPECT_THROW(multiclass_accuracy(std::vector<int>{}, std::vector<int>{}), std::invalid_argument);
  EXPECT_THROW(macro_f1({0, 5}, {0, 1}, 2), std::invalid_argument);
}

TEST(EvalRegression, ByHandAndDegenerate) {
  // errors 1, -1, 2 -> RMSE sqrt(6/3), MAE 4/3; mean y = 2, SS_tot = 2, SS_res = 6 -> R2 = -2.
  const std::vector<double> y = {1, 2, 3}, yhat = {0, 3, 1};
  EXPECT_NEAR(rmse(y, yhat), std::sqrt(2.0), 1e-15);
  EXPECT_NEAR(mae(y, yhat), 4.0 / 3, 1e-15);
  EXPECT_NEAR(r2_score(y, yhat), -2.0, 1e-15);
  EXPECT_DOUBLE_EQ(r2_score(y, y), 1.0);
  // Constant targets (SS_tot = 0): 1 if perfect, else 0 (sklearn's convention).
  EXPECT_DOUBLE_EQ(r2_score({2, 2}, {2, 2}), 1.0);
  EXPECT_DOUBLE_EQ(r2_score({2, 2}, {2, 3}), 0.0);
  EXPECT_THROW(rmse({}, {}), std::invalid_argument);
  EXPECT_THROW(mae({1}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(r2_score({1, std::numeric_limits<double>::quiet_NaN()}, {1, 2}), std::invalid_argument);
}
