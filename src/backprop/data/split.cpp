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

namespace {

// Rows per class for one part: floor(n_c * fraction) each, then one more to each of the
// classes with the largest remainders until the part holds round(n * fraction) rows; never
// more than room[c]. `order` breaks ties between equal remainders (a shuffled 0..k-1).
std::vector<int64_t> largest_remainder(const std::vector<int64_t>& sizes, const std::vector<int64_t>& room,
                                       double fraction, const std::vector<int64_t>& order) {
  const size_t k = sizes.size();
  int64_t n = 0;
  for (int64_t s : sizes) n += s;
  std::vector<int64_t> quota(k);
  std::vector<double> remainder(k);
  int64_t given = 0;
  for (size_t c = 0; c < k; ++c) {
    const double exact = static_cast<double>(sizes[c]) * fraction;
    quota[c] = std::min(static_cast<int64_t>(std::floor(exact)), room[c]);
    remainder[c] = exact - std::floor(exact);
    given += quota[c];
  }
  std::vector<size_t> by_remainder(k);
  for (size_t i = 0; i < k; ++i) by_remainder[i] = static_cast<size_t>(order[i]);
  std::stable_sort(by_remainder.begin(), by_remainder.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  int64_t missing = share(n, fraction) - given;
  for (size_t i = 0; i < k && missing > 0; ++i) {
    const size_t c = by_remainder[i];
    if (quota[c] < room[c]) {
      ++quota[c];
      --missing;
    }
  }
  return quota;
}

}  // namespace

Split stratified_split(std::span<const int32_t> labels, double validation_fraction, double test_fraction, uint64_t seed,
                       StratifiedRounding rounding) {
  check_fractions(validation_fraction, test_fraction);
  Rng rng(seed);
  std::vector<std::vector<int64_t>> classes;
  for (auto& [label, rows] : rows_by_class(labels)) {
    rng.shuffle(rows);  // the draws of the rule before LargestRemainder, in the same order
    classes.push_back(std::move(rows));
  }
  const size_t k = classes.size();
  std::vector<int64_t> sizes(k), n_test(k), n_val(k);
  for (size_t c = 0; c < k; ++c) sizes[c] = static_cast<int64_t>(classes[c].size());
  if (rounding == StratifiedRounding::PerClass) {
    for (size_t c = 0; c < k; ++c) {
      n_test[c] = share(sizes[c], test_fraction);
      n_val[c] = std::min(share(sizes[c], validation_fraction), sizes[c] - n_test[c]);
    }
  } else {
    std::vector<int64_t> order(k);
    std::iota(order.begin(), order.end(), int64_t{0});
    rng.shuffle(order);  // after every class's shuffle, so the rows within a class are as before
    n_test = largest_remainder(sizes, sizes, test_fraction, order);
    std::vector<int64_t> left(k);
    for (size_t c = 0; c < k; ++c) left[c] = sizes[c] - n_test[c];
    n_val = largest_remainder(sizes, left, validation_fraction, order);
  }
  Split s;
  for (size_t c = 0; c < k; ++c) {
    const auto& rows = classes[c];
    s.test.insert(s.test.end(), rows.begin(), rows.begin() + n_test[c]);
    s.validation.insert(s.validation.end(), rows.begin() + n_test[c], rows.begin() + n_test[c] + n_val[c]);
    s.train.insert(s.train.end(), rows.begin() + n_test[c] + n_val[c], rows.end());
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
