#include "backprop/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "backprop/util/rng.hpp"

namespace bp::data {

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  if (n < 0) throw DataError("permutation: negative size " + std::to_string(n));
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), int64_t{0});
  Rng(seed).shuffle(p);
  return p;
}

namespace {

void check_fractions(double validation_fraction, double test_fraction) {
  auto ok = [](double f) { return std::isfinite(f) && f >= 0 && f < 1; };
  if (!ok(validation_fraction) || !ok(test_fraction) || validation_fraction + test_fraction >= 1)
    throw DataError("split: validation fraction " + std::to_string(validation_fraction) + " and test fraction " +
                    std::to_string(test_fraction) + " must each be in [0, 1) with a sum below 1");
}

int64_t share(int64_t n, double fraction) { return static_cast<int64_t>(std::llround(static_cast<double>(n) * fraction)); }

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Row indices of each class, in ascending class order and ascending row order.
std::map<int32_t, std::vector<int64_t>> rows_by_class(std::span<const int32_t> labels) {
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw DataError("split: label " + std::to_string(labels[i]) + " of row " + std::to_string(i) + " is negative");
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }
  return by_class;
}

std::vector<int64_t> complement(int64_t n, const std::vector<int64_t>& sorted_subset) {
  std::vector<int64_t> out;
  out.reserve(n - sorted_subset.size());
  size_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (k < sorted_subset.size() && sorted_subset[k] == i)
      ++k;
    else
      out.push_back(i);
  }
  return out;
}

}  // namespace

Split train_validation_test_split(int64_t n, double validation_fraction, double test_fraction, uint64_t seed) {
  check_fractions(validation_fraction, test_fraction);
  const int64_t n_test = share(n, test_fraction), n_val = share(n, validation_fraction);
  if (n - n_test - n_val < 1)
    throw DataError("split: " + std::to_string(n) + " rows leave no training rows");
  const std::vector<int64_t> p = permutation(n, seed);
  Split s;
  s.test = sorted({p.begin(), p.begin() + n_test});
  s.validation = sorted({p.begin() + n_test, p.begin() + n_test + n_val});
  s.train = sorted({p.begin() + n_test + n_val, p.end()});
  return s;
}

Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction, uint64_t seed) {
  check_fractions(validation_fraction, test_fraction);
  Rng rng(seed);
  Split s;
  for (auto& [label, rows] : rows_by_class(labels)) {
    rng.shuffle(rows);
    const auto n = static_cast<int64_t>(rows.size());
    const int64_t n_test = share(n, test_fraction);
    const int64_t n_val = std::min(share(n, validation_fraction), n - n_test);
    s.test.insert(s.test.end(), rows.begin(), rows.begin() + n_test);
    s.validation.insert(s.validation.end(), rows.begin() + n_test, rows.begin() + n_test + n_val);
    s.train.insert(s.train.end(), rows.begin() + n_test + n_val, rows.end());
  }
  if (s.train.empty()) throw DataError("split: " + std::to_string(labels.size()) + " rows leave no training rows");
  s.train = sorted(std::move(s.train));
  s.validation = sorted(std::move(s.validation));
  s.test = sorted(std::move(s.test));
  return s;
}

std::vector<Fold> kfold(int64_t n, int k, uint64_t seed) {
  if (k < 2 || k > n)
    throw DataError("k-fold: k = " + std::to_string(k) + " must be between 2 and the number of rows (" + std::to_string(n) + ")");
  const std::vector<int64_t> p = permutation(n, seed);
  std::vector<Fold> folds(k);
  for (int64_t i = 0; i < n; ++i) folds[i % k].test.push_back(p[i]);
  for (Fold& f : folds) {
    f.test = sorted(std::move(f.test));
    f.train = complement(n, f.test);
  }
  return folds;
}

std::vector<Fold> stratified_kfold(std::span<const int32_t> labels, int k, uint64_t seed) {
  const auto n = static_cast<int64_t>(labels.size());
  if (k < 2 || k > n)
    throw DataError("k-fold: k = " + std::to_string(k) + " must be between 2 and the number of rows (" + std::to_string(n) + ")");
  Rng rng(seed);
  std::vector<Fold> folds(k);
  int64_t next = 0;  // the fold the next row goes to, continuing across classes
  for (auto& [label, rows] : rows_by_class(labels)) {
    rng.shuffle(rows);
    for (int64_t r : rows) {
      folds[next].test.push_back(r);
      next = (next + 1) % k;
    }
  }
  for (Fold& f : folds) {
    f.test = sorted(std::move(f.test));
    f.train = complement(n, f.test);
  }
  return folds;
}

}  // namespace bp::data
