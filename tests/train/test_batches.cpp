// The one batching of training: an epoch covers every row once, in an order that depends
// only on (seed, epoch).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "backprop/train/batches.hpp"

namespace {

using bp::train::Batches;

// Row indices of one epoch, batch by batch.
std::vector<std::vector<int64_t>> epoch(Batches& b, int64_t e) {
  b.start_epoch(e);
  std::vector<std::vector<int64_t>> out;
  for (auto rows = b.next(); !rows.empty(); rows = b.next()) out.emplace_back(rows.begin(), rows.end());
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

bool is_permutation_of_rows(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  std::vector<int64_t> expect(static_cast<size_t>(n));
  std::iota(expect.begin(), expect.end(), int64_t{0});
  return v == expect;
}

TEST(Batches, EveryEpochCoversEveryRowOnce) {
  Batches b(10, 4, 77);
  EXPECT_EQ(b.batches_per_epoch(), 3);
  EXPECT_FALSE(b.whole());
  const auto e0 = epoch(b, 0);
  ASSERT_EQ(e0.size(), 3u);
  EXPECT_EQ(e0[0].size(), 4u);
  EXPECT_EQ(e0[1].size(), 4u);
  EXPECT_EQ(e0[2].size(), 2u);  // the last batch of an epoch is smaller
  EXPECT_TRUE(is_permutation_of_rows(flat(e0), 10));
  const auto e1 = epoch(b, 1);
  EXPECT_TRUE(is_permutation_of_rows(flat(e1), 10));
  EXPECT_NE(flat(e1), flat(e0));
}

TEST(Batches, AnEpochsOrderDependsOnlyOnSeedAndEpoch) {
  Batches a(100, 16, 5), b(100, 16, 5), c(100, 16, 6);
  const auto a3 = flat(epoch(a, 3));
  epoch(b, 0);
  epoch(b, 1);
  EXPECT_EQ(flat(epoch(b, 3)), a3);  // the same after other epochs: training can resume at epoch 3
  EXPECT_EQ(flat(epoch(a, 3)), a3);
  EXPECT_NE(flat(epoch(c, 3)), a3);
  EXPECT_NE(flat(epoch(a, 4)), a3);
}

TEST(Batches, FullBatchAndInOrder) {
  Batches full(7, 0, 1);  // 0: full batch
  EXPECT_TRUE(full.whole());
  EXPECT_EQ(full.batch_size(), 7);
  EXPECT_EQ(epoch(full, 3), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3, 4, 5, 6}}));
  EXPECT_TRUE(Batches(7, 50, 1).whole());  // a batch larger than the data is the full batch

  Batches in_order(5, 2, 1, /*shuffle=*/false);
  EXPECT_FALSE(in_order.whole());
  EXPECT_EQ(epoch(in_order, 9), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}}));

  Batches none(0, 4, 1);
  EXPECT_EQ(none.batches_per_epoch(), 0);
  EXPECT_TRUE(epoch(none, 0).empty());

  EXPECT_THROW(Batches(5, -1, 1), std::invalid_argument);
  EXPECT_THROW(Batches(-1, 2, 1), std::invalid_argument);
}

}  // namespace
