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

// The same cut made within every class (labels[i] >= 0), so that each part keeps the class
// proportions: per class c with n_c rows, round(n_c * fraction) go to test and validation.
Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction,
                       uint64_t seed);

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
