#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "backprop/data/preprocess.hpp"
#include "backprop/data/split.hpp"
#include "data_test_util.hpp"

using namespace bp::data;
using bp::data::testing::repo_data;

namespace {

// True if the parts are disjoint and together exactly 0..n-1.
bool partition_of(int64_t n, const std::vector<std::vector<int64_t>>& parts) {
  std::vector<int64_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expect(n);
  std::iota(expect.begin(), expect.end(), int64_t{0});
  return all == expect;
}

}  // namespace

TEST(DataSplit, PermutationIsPinnedAcrossPlatforms) {
  // mt19937_64 output is fixed by the standard and the shuffle is bp::Rng's: these numbers
  // must be the same with every compiler and standard library.
  EXPECT_EQ(permutation(10, 42), (std::vector<int64_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));  // as before the draw moved into Rng
  EXPECT_TRUE(permutation(0, 1).empty());
  EXPECT_DATA_ERROR(permutation(-1, 1), "negative size -1");
}

TEST(DataSplit, TrainValidationTest) {
  const Split s = train_validation_test_split(1000, 0.15, 0.2, 9);
  EXPECT_EQ(s.test.size(), 200u);
  EXPECT_EQ(s.validation.size(), 150u);
  EXPECT_EQ(s.train.size(), 650u);
  EXPECT_TRUE(partition_of(1000, {s.train, s.validation, s.test}));
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  const Split again = train_validation_test_split(1000, 0.15, 0.2, 9);
  EXPECT_EQ(again.test, s.test);
  EXPECT_NE(train_validation_test_split(1000, 0.15, 0.2, 10).test, s.test);
  EXPECT_DATA_ERROR(train_validation_test_split(10, 0.5, 0.5, 1), "sum below 1");
  EXPECT_DATA_ERROR(train_validation_test_split(10, -0.1, 0.5, 1), "must each be in [0, 1)");
  EXPECT_DATA_ERROR(train_validation_test_split(2, 0.5, 0.4, 1), "2 rows leave no training rows");
}

TEST(DataSplit, StratifiedSplitKeepsProportions) {
  std::vector<int32_t> labels(1000, 0);
  for (int i = 0; i < 100; ++i) labels[i * 10] = 1;  // 10 % positive
  const Split s = stratified_split(labels, 0.2, 0.3, 5);
  EXPECT_TRUE(partition_of(1000, {s.train, s.validation, s.test}));
  auto positives = [&](const std::vector<int64_t>& rows) {
    return std::count_if(rows.begin(), rows.end(), [&](int64_t r) { return labels[r] == 1; });
  };
  EXPECT_EQ(positives(s.test), 30);
  EXPECT_EQ(positives(s.validation), 20);
  EXPECT_EQ(positives(s.train), 50);
  EXPECT_EQ(s.test.size(), 300u);
}

TEST(DataSplit, KFoldCoversEveryRowOnce) {
  const auto folds = kfold(103, 5, 1);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<std::vector<int64_t>> tests;
  for (const Fold& f : folds) {
    tests.push_back(f.test);
    EXPECT_TRUE(f.test.size() == 20 || f.test.size() == 21);
    EXPECT_TRUE(partition_of(103, {f.train, f.test}));
  }
  EXPECT_TRUE(partition_of(103, tests));
  EXPECT_DATA_ERROR(kfold(3, 4, 1), "k = 4 must be between 2 and the number of rows (3)");
  EXPECT_DATA_ERROR(kfold(3, 1, 1), "k = 1");
}

TEST(DataSplit, StratifiedKFoldOnLetters) {
  const Table t = read_csv(repo_data("LetterRecognition.csv.gz"));
  const TargetColumn codes = scan_target(t, "lettr");
  ASSERT_EQ(codes.values.size(), 26u);
  const int k = 10;
  const auto folds = stratified_kfold(codes.codes, k, 2024);
  std::vector<int64_t> class_total(26, 0);
  for (int32_t c : codes.codes) ++class_total[c];
  std::vector<std::vector<int64_t>> tests;
  for (const Fold& f : folds) {
    tests.push_back(f.test);
    EXPECT_TRUE(partition_of(20000, {f.train, f.test}));
    EXPECT_EQ(f.test.size(), 2000u);
    std::vector<int64_t> in_fold(26, 0);
    for (int64_t r : f.test) ++in_fold[codes.codes[r]];
    for (int c = 0; c < 26; ++c) {
      // floor or ceil of n_c / k: proportions match within one case per class.
      EXPECT_GE(in_fold[c], class_total[c] / k);
      EXPECT_LE(in_fold[c], (class_total[c] + k - 1) / k);
    }
  }
  EXPECT_TRUE(partition_of(20000, tests));
  const auto again = stratified_kfold(codes.codes, k, 2024);
  for (int i = 0; i < k; ++i) EXPECT_EQ(again[i].test, folds[i].test);
  EXPECT_NE(stratified_kfold(codes.codes, k, 2025)[0].test, folds[0].test);
}

TEST(DataSplit, StratifiedKFoldRareClass) {
  // LETTER.P1-like: 3 positives in 20 rows, 5 folds.
  std::vector<int32_t> labels(20, 0);
  labels[2] = labels[11] = labels[17] = 1;
  for (const Fold& f : stratified_kfold(labels, 5, 3)) {
    int pos = 0;
    for (int64_t r : f.test) pos += labels[r];
    EXPECT_LE(pos, 1);
    EXPECT_EQ(f.test.size(), 4u);
  }
  EXPECT_DATA_ERROR(stratified_kfold(std::vector<int32_t>{0, -1}, 2, 1), "label -1 of row 1 is negative");
}

// Issue 9, B7: a stratified test part holds exactly round(n · fraction) rows, as the
// unstratified one does. Rounding each class on its own gave 4002 test rows of the 20000
// letters for 20 %, and none at all for a continuous target (one row per value).
TEST(DataSplit, StratifiedSplitIsExactToARow) {
  const Table t = read_csv(repo_data("LetterRecognition.csv.gz"));
  const TargetColumn y = scan_target(t, "lettr");
  const Split s = stratified_split(y.codes, 0.0, 0.2, 1);
  EXPECT_EQ(s.test.size(), 4000u);
  EXPECT_TRUE(partition_of(20000, {s.train, s.validation, s.test}));
  std::vector<int64_t> total(26, 0), in_test(26, 0);
  for (int32_t c : y.codes) ++total[c];
  for (int64_t r : s.test) ++in_test[y.codes[r]];
  for (int c = 0; c < 26; ++c) {  // each class: floor or ceil of its share
    EXPECT_GE(in_test[c], static_cast<int64_t>(std::floor(total[c] * 0.2))) << c;
    EXPECT_LE(in_test[c], static_cast<int64_t>(std::ceil(total[c] * 0.2))) << c;
  }
  // The rule before (still cutting old model files' test parts) gave 4002.
  EXPECT_EQ(stratified_split(y.codes, 0.0, 0.2, 1, StratifiedRounding::PerClass).test.size(), 4002u);

  // One row per value: 101 of 506 rows, spread over the values, not the first ones.
  std::vector<int32_t> singletons(506);
  std::iota(singletons.begin(), singletons.end(), 0);
  const Split one = stratified_split(singletons, 0.0, 0.2, 3);
  EXPECT_EQ(one.test.size(), 101u);
  EXPECT_GT(one.test.back(), 400);
  EXPECT_LT(one.test.front(), 100);
  EXPECT_NE(stratified_split(singletons, 0.0, 0.2, 4).test, one.test);
  EXPECT_TRUE(stratified_split(singletons, 0.0, 0.2, 3, StratifiedRounding::PerClass).test.empty());

  // Validation and test together, exact, disjoint.
  const Split both = stratified_split(y.codes, 0.15, 0.2, 9);
  EXPECT_EQ(both.test.size(), 4000u);
  EXPECT_EQ(both.validation.size(), 3000u);
  EXPECT_TRUE(partition_of(20000, {both.train, both.validation, both.test}));
}

// Where rounding each class on its own already gives the exact total, both rules cut the same
// rows (so models trained before keep their test part where nothing was wrong with it).
TEST(DataSplit, BothRulesAgreeWhereTheOldOneWasExact) {
  std::vector<int32_t> labels(699, 0);
  for (int i = 0; i < 241; ++i) labels[i * 2] = 1;  // 458 and 241: 91.6 + 48.2 rounds to 92 + 48 = 140
  for (uint64_t seed : {1, 2, 3}) {
    const Split a = stratified_split(labels, 0.0, 0.2, seed);
    const Split b = stratified_split(labels, 0.0, 0.2, seed, StratifiedRounding::PerClass);
    EXPECT_EQ(a.test, b.test) << seed;
    EXPECT_EQ(a.test.size(), 140u);
  }
}
