#include <gtest/gtest.h>

#include <algorithm>
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
