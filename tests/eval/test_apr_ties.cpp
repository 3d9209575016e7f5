// APR with ties: the closed form in metrics.cpp against brute force, the plain average of the
// ordinary (untied) average precision over every order of the cases inside each tie group.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>

#include "backprop/eval/metrics.hpp"

using namespace bp::eval;

namespace {

// Average precision of labels already in rank order (no ties): (1/N+) sum_k [y_k] hits_k / k.
double ap_of_order(const std::vector<int>& ranked) {
  double sum = 0;
  int hits = 0, positives = 0;
  for (size_t k = 0; k < ranked.size(); ++k)
    if (ranked[k]) {
      ++hits;
      ++positives;
      sum += static_cast<double>(hits) / static_cast<double>(k + 1);
    }
  return sum / positives;
}

// Enumerates every order of the case indices inside each tie group (all m! orders of a group of
// m, distinct cases counted separately, so each order of the whole list is equally likely) and
// returns the mean AP. Exponential: only for small inputs.
double brute_force_apr(const std::vector<double>& s, const std::vector<int>& y) {
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  std::vector<std::pair<size_t, size_t>> groups;  // [begin, end) in idx
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && s[idx[j]] == s[idx[i]]) ++j;
    groups.push_back({i, j});
    i = j;
  }
  double total = 0;
  long orders = 0;
  std::vector<int> ranked(s.size());
  std::function<void(size_t)> recurse = [&](size_t g) {
    if (g == groups.size()) {
      for (size_t k = 0; k < idx.size(); ++k) ranked[k] = y[idx[k]];
      total += ap_of_order(ranked);
      ++orders;
      return;
    }
    auto first = idx.begin() + static_cast<long>(groups[g].first), last = idx.begin() + static_cast<long>(groups[g].second);
    std::sort(first, last);
    do recurse(g + 1);
    while (std::next_permutation(first, last));
  };
  recurse(0);
  return total / static_cast<double>(orders);
}

}  // namespace

// Tolerance 1e-12: the brute force averages at most 8! = 40320 values of AP in [0, 1]; its
// rounding error is at most ~40320 * 1.1e-16 = 4.5e-12 relative in the worst case and in
// practice below 1e-13; the closed form adds O(N) terms (~1e-15).
TEST(EvalAprTies, HandCaseMatchesBruteForce) {
  const std::vector<double> s = {0.9, 0.8, 0.8, 0.6, 0.4, 0.4, 0.4, 0.1};
  const std::vector<int> y = {1, 1, 0, 1, 0, 1, 0, 0};
  EXPECT_NEAR(average_precision(s, y), brute_force_apr(s, y), 1e-12);
}

TEST(EvalAprTies, OneBigGroupMatchesBruteForce) {
  // Everything tied: 3 positives among 7.
  const std::vector<double> s(7, 0.5);
  const std::vector<int> y = {0, 1, 0, 0, 1, 1, 0};
  EXPECT_NEAR(average_precision(s, y), brute_force_apr(s, y), 1e-12);
  // All tied with 1 positive among m: E[1/rank] = (1/m) H_m. For m = 4: (1 + 1/2 + 1/3 + 1/4)/4.
  EXPECT_NEAR(average_precision({2, 2, 2, 2}, {0, 0, 1, 0}), (1 + 0.5 + 1.0 / 3 + 0.25) / 4, 1e-15);
}

TEST(EvalAprTies, RandomSmallCasesMatchBruteForce) {
  std::mt19937 rng(2006);
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 7);     // 2..8 cases
    const int levels = 1 + static_cast<int>(rng() % 4);  // 1..4 distinct scores: many ties
    std::vector<double> s(n);
    std::vector<int> y(n);
    for (int i = 0; i < n; ++i) {
      s[i] = static_cast<double>(rng() % levels) / 4.0;
      y[i] = static_cast<int>(rng() % 2);
    }
    if (std::count(y.begin(), y.end(), 1) == 0) continue;
    SCOPED_TRACE(trial);
    EXPECT_NEAR(average_precision(s, y), brute_force_apr(s, y), 1e-12);
    ++checked;
  }
  EXPECT_GT(checked, 40);  // the skip above must not hollow the test out
}

TEST(EvalAprTies, DiffersFromTieGroupAsOneThreshold) {
  // sklearn's average_precision_score scores a tie group once at its end: here one group of 2
  // with 1 positive gives recall 1 at precision 1/2 -> 0.5; the expected value over the two
  // orders is (1/1 + 1/2)/2 = 0.75.
  EXPECT_DOUBLE_EQ(average_precision({0.3, 0.3}, {1, 0}), 0.75);
  EXPECT_DOUBLE_EQ(brute_force_apr({0.3, 0.3}, {1, 0}), 0.75);
}
