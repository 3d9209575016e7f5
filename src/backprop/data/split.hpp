// Row-index splits: train/validation/test and k-fold (plain and stratified). Everything is a
// deterministic function of the seed on every platform: the draws are bp::Rng's (its exact
// bounded draw and Fisher–Yates shuffle over std::mt19937_64, whose output the standard
// fixes), never std::shuffle or std::uniform_int_distribution (whose results differ between
// standard libraries). Index lists are returned sorted ascending unless they are a shuffled
// order. The shuffled mini-batches of training are train::Batches.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backprop/data/error.hpp"

namespace bp::data {

// A random permutation of 0..n-1: Rng(seed).shuffle of 0, 1, …, n-1.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

struct Split {
  std::vector<int64_t> train, validation, test;  // disjoint, together 0..n-1, each sorted
};

// Shuffles 0..n-1 and cuts it: round(n * test_fraction) test rows, round(n *
// validation_fraction) validation rows, the rest train. Fractions in [0, 1) with a sum
// below 1; DataError otherwise (or if train would be empty).
Split train_validation_test_split(int64_t n, double validation_fraction, double test_fraction, uint64_t seed);

// How a stratified split turns each class's share n_c * fraction into a whole number of rows.
enum class StratifiedRounding {
  // The part holds exactly round(n * fraction) rows, as the unstratified split does: every
  // class gets floor(n_c * fraction), and the rows still missing go one each to the classes
  // with the largest remainders (equal remainders in a seeded random order, so that many
  // classes of one row each — a continuous target — still give a random part, not the first
  // classes). Where rounding each class on its own already sums to the total, both rules
  // give the same rows.
  LargestRemainder,
  // round(n_c * fraction) per class, whatever the total (the rule before format 2 of the data
  // description: 26 letters of 20000 rows gave 4002 test rows for 20 %, a continuous target
  // of one row per value gave none). Kept to cut the test part of old model files as their
  // training did.
  PerClass,
};

// The same cut made within every class (labels[i] >= 0), so that each part keeps the class
// proportions. Each class's rows are shuffled (one Rng(seed), classes in ascending order);
// the first of them go to test, the next to validation, as `rounding` allots them (test
// first, then validation out of what is left).
Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction,
                       uint64_t seed, StratifiedRounding rounding = StratifiedRounding::LargestRemainder);

struct Fold {
  std::vector<int64_t> train, test;  // disjoint, together 0..n-1, each sorted
};

// k folds over n rows: each row is in exactly one test fold; fold sizes differ by at most 1.
std::vector<Fold> kfold(int64_t n, int k, uint64_t seed);

// Stratified k folds: each class's rows are shuffled and dealt to the folds in turn
// (continuing where the previous class stopped), so each fold holds floor or ceil of
// n_c / k rows of class c (proportions match within one case per class) and fold sizes
// differ by at most 1. 2 <= k <= n; labels >= 0.
std::vector<Fold> stratified_kfold(std::span<const int32_t> labels, int k, uint64_t seed);

}  // namespace bp::data
