// The one generator: its bounded draw is exact, its shuffle is Fisher–Yates, and both are the
// same on every platform for a given seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backprop/util/rng.hpp"

namespace {

using bp::bounded_draw;
using bp::Rng;

// A scripted source of 64-bit words that counts how many it gave.
struct Script {
  std::vector<uint64_t> words;
  size_t used = 0;
  uint64_t operator()() { return words.at(used++); }
};

// Pearson's χ² of observed counts against equal expected counts.
double chi_square(const std::vector<int64_t>& counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double expected = total / static_cast<double>(counts.size());
  double chi2 = 0;
  for (int64_t c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return chi2;
}

TEST(Rng, BoundedDrawRejectsTheWordsThatWouldBiasIt) {
  // n = 3: 2^64 = 3·q + 1, so one of the 2^64 words must go: r = 0, the only word below
  // 2^64 mod 3 = 1 (with it, 0 would have one preimage too many). It is redrawn.
  Script s{{0, uint64_t{1} << 63}};
  EXPECT_EQ(bounded_draw(3, s), 2u);  // 2^63 mod 3 = 2
  EXPECT_EQ(s.used, 2u);

  // Every other word is accepted at once, and the result is r mod n.
  Script t{{uint64_t{1} << 63, ~uint64_t{0}}};
  EXPECT_EQ(bounded_draw(3, t), 2u);
  EXPECT_EQ(bounded_draw(3, t), 0u);  // 2^64 − 1 = 3·q
  EXPECT_EQ(t.used, 2u);

  // n = 3·2^62: 2^64 mod n = 2^62, so a quarter of the words are redrawn: r = 0 and r = 1
  // are rejected, r = 2^62 gives 2^62.
  const uint64_t n = uint64_t{3} << 62;
  Script u{{0, 1, uint64_t{1} << 62}};
  EXPECT_EQ(bounded_draw(n, u), uint64_t{1} << 62);
  EXPECT_EQ(u.used, 3u);

  Script none{{}};
  EXPECT_THROW(bounded_draw(0, none), std::invalid_argument);
}

TEST(Rng, BelowIsUniformWherePlainModuloIsNot) {
  // With n = 3·2^62 plain r mod n gives results below 2^62 two preimages (r and r + n) and
  // the others one, so P(k < 2^62) = 1/2 instead of 1/3. Counted in thirds of [0, n) over
  // the same generator words, the plain map shows it and the exact draw does not.
  const uint64_t n = uint64_t{3} << 62;
  const int draws = 30000;
  std::vector<int64_t> exact(3, 0), plain(3, 0);
  Rng rng(2026);
  std::mt19937_64 words(2026);
  for (int i = 0; i < draws; ++i) {
    ++exact[rng.below(n) >> 62];
    ++plain[(words() % n) >> 62];
  }
  EXPECT_LT(chi_square(exact), 13.82);   // χ²(2 degrees of freedom), p = 0.001
  EXPECT_GT(chi_square(plain), 1000.0);  // ≈ draws / 4 expected
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(exact[k], draws / 3, 500);
}

TEST(Rng, BelowIsUniformForASmallBound) {
  Rng rng(17);
  std::vector<int64_t> counts(6, 0);
  for (int i = 0; i < 60000; ++i) {
    const uint64_t k = rng.below(6);
    ASSERT_LT(k, 6u);
    ++counts[k];
  }
  EXPECT_LT(chi_square(counts), 20.52);  // χ²(5), p = 0.001
  EXPECT_EQ(Rng(3).below(1), 0u);
}

TEST(Rng, DrawsArePinnedAcrossPlatforms) {
  // mt19937_64's output is fixed by the standard and the bounded draw and the shuffle are
  // ours: these numbers must be the same with every compiler and standard library.
  Rng rng(7);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 5; ++i) draws.push_back(rng.below(1000));
  EXPECT_EQ(draws, (std::vector<uint64_t>{15, 250, 878, 46, 421}));
  std::vector<int64_t> v(10);
  std::iota(v.begin(), v.end(), int64_t{0});
  Rng(42).shuffle(v);
  EXPECT_EQ(v, (std::vector<int64_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
}

TEST(Rng, ShuffleIsAPermutationOfAnyElementType) {
  std::vector<int64_t> ints(1000);
  std::iota(ints.begin(), ints.end(), int64_t{0});
  Rng rng(5);
  rng.shuffle(ints);
  std::vector<int64_t> sorted = ints;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_FALSE(std::is_sorted(ints.begin(), ints.end()));

  std::vector<std::string> words{"a", "b", "c", "d", "e"};
  rng.shuffle(words);
  std::multiset<std::string> seen(words.begin(), words.end());
  EXPECT_EQ(seen, (std::multiset<std::string>{"a", "b", "c", "d", "e"}));

  // A span shuffles in place, leaving the rest of the buffer alone.
  std::vector<double> buffer{9, 1, 2, 3, 4, 9};
  rng.shuffle(std::span<double>(buffer).subspan(1, 4));
  EXPECT_EQ(buffer.front(), 9.0);
  EXPECT_EQ(buffer.back(), 9.0);
  std::multiset<double> middle(buffer.begin() + 1, buffer.end() - 1);
  EXPECT_EQ(middle, (std::multiset<double>{1, 2, 3, 4}));

  std::vector<int> empty, one{7};
  rng.shuffle(empty);
  rng.shuffle(one);
  EXPECT_EQ(one, std::vector<int>{7});
}

TEST(Rng, ShuffleIsDeterminedByTheSeed) {
  auto order = [](uint64_t seed) {
    std::vector<int64_t> v(50);
    std::iota(v.begin(), v.end(), int64_t{0});
    Rng(seed).shuffle(v);
    return v;
  };
  EXPECT_EQ(order(9), order(9));
  EXPECT_NE(order(9), order(10));
}

TEST(Rng, ShuffleMakesEveryOrderEquallyLikely) {
  // All 4! = 24 orders of four elements, 24000 shuffles: about 1000 each.
  Rng rng(3);
  std::map<std::vector<int>, int64_t> seen;
  for (int t = 0; t < 24000; ++t) {
    std::vector<int> v{0, 1, 2, 3};
    rng.shuffle(v);
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 24u);
  std::vector<int64_t> counts;
  for (const auto& [order, c] : seen) counts.push_back(c);
  EXPECT_LT(chi_square(counts), 49.73);  // χ²(23), p = 0.001
}

}  // namespace
