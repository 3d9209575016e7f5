#include "backprop/learners/ensemble.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>

#include "backprop/backend/backend.hpp"
#include "backprop/util/rng.hpp"

namespace bp::learners {

uint64_t tree_seed(uint64_t seed, int64_t i) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

int resolve_threads(int t) { return t > 0 ? t : std::max(1, backend::num_threads()); }

// Runs job(i) for i in [0, n) on `threads` workers, dynamically scheduled. The first exception
// (by index, so the same at any thread count) is rethrown.
void parallel_jobs(int64_t n, int threads, const std::function<void(int64_t)>& job) {
  std::atomic<int64_t> next{0};
  std::mutex m;
  int64_t bad = -1;
  std::exception_ptr err;
  const int nt = static_cast<int>(std::min<int64_t>(threads, n));
  auto body = [&](int) {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m);
        if (bad < 0 || i < bad) {
          bad = i;
          err = std::current_exception();
        }
      }
    }
  };
  if (nt <= 1) body(0);
  else backend::run_threads(nt, body);
  if (err) std::rethrow_exception(err);
}

constexpr int64_t kRowBlock = 256;
// Forest scoring: each tree walks this many rows per call (measured: 1024 rows took 0.64× the
// CPU time of 256, Adult, 256 trees; 4096 no better than 1024).
constexpr int64_t kScoreBlock = 1024;

void check_cols(const MatrixView& X, int d) {
  if (X.cols != d) throw LearnerError("the model expects " + std::to_string(d) + " features, got " + std::to_string(X.cols));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Forests

Forest fit_forest(const TrainSet& t, const ForestOptions& o) {
  check_train_set(t);
  if (o.n_trees < 1) throw LearnerError("the number of trees must be at least 1, got " + std::to_string(o.n_trees));
  if (o.tree.pruning != Pruning::none) throw LearnerError("forest trees are grown unpruned");
  const BinnedFeatures bf = bin_features(t.X, t.categories, o.tree.max_bins);
  const int64_t n = t.X.rows;
  Forest f;
  f.n_features = static_cast<int>(t.X.cols);
  f.n_classes = t.n_classes;
  f.categories = bf.categories;
  f.trees.resize(o.n_trees);
  const bool oob = o.bootstrap && o.oob;
  const int64_t words = (n + 63) / 64;
  std::vector<uint64_t> inbag(oob ? static_cast<size_t>(o.n_trees * words) : 0);
  parallel_jobs(o.n_trees, resolve_threads(o.threads), [&](int64_t i) {
    Rng rng(tree_seed(o.seed, i));
    TreeOptions to = o.tree;
    to.threads = 1;
    std::vector<float> w;
    if (o.bootstrap) {
      w.assign(n, 0.f);
      for (int64_t j = 0; j < n; ++j) w[rng.below(n)] += 1.f;
      if (t.w)
        for (int64_t j = 0; j < n; ++j) w[j] *= t.w[j];
      if (oob)
        for (int64_t j = 0; j < n; ++j)
          if (w[j] > 0) inbag[i * words + j / 64] |= uint64_t{1} << (j % 64);
    }
    to.seed = rng.next_u64();
    f.trees[i] = grow_tree(bf, t.y, o.bootstrap ? w.data() : t.w, t.n_classes, to);
  });
  if (oob) {
    const int K = t.n_classes;
    std::vector<double> wrong(n, 0.0);
    std::vector<uint8_t> has(n, 0);
    std::vector<FastTree> fast;
    fast.reserve(f.trees.size());
    for (const Tree& tr : f.trees) fast.emplace_back(tr);
    // Per block of rows, each tree's out-of-bag rows find their leaves together; each row's sum
    // runs over the trees in index order.
    parallel_jobs((n + kScoreBlock - 1) / kScoreBlock, resolve_threads(o.threads), [&](int64_t blk) {
      const int64_t r0 = blk * kScoreBlock, r1 = std::min(n, r0 + kScoreBlock);
      std::vector<uint8_t> nan(r1 - r0);
      const MatrixView part{t.X.row(r0), r1 - r0, t.X.cols};
      const bool any_nan = rows_with_nan(part, nan.data());
      std::vector<double> p(static_cast<size_t>((r1 - r0) * K), 0.0);
      std::vector<int64_t> rows;
      std::vector<int32_t> leaf(r1 - r0);
      for (int i = 0; i < o.n_trees; ++i) {
        rows.clear();
        for (int64_t r = r0; r < r1; ++r)
          if (!(inbag[i * words + r / 64] >> (r % 64) & 1)) rows.push_back(r - r0);
        fast[i].leaves(part, rows.data(), static_cast<int64_t>(rows.size()), any_nan ? nan.data() : nullptr, leaf.data());
        const float* value = f.trees[i].value.data();
        for (size_t j = 0; j < rows.size(); ++j) {
          has[r0 + rows[j]] = 1;
          for (int k = 0; k < K; ++k) p[rows[j] * K + k] += value[static_cast<size_t>(leaf[j]) * K + k];
        }
      }
      for (int64_t r = r0; r < r1; ++r)
        if (has[r]) {
          const double* pr = &p[(r - r0) * K];
          wrong[r] = (std::max_element(pr, pr + K) - pr) != t.y[r];
        }
    });
    double W = 0, E = 0;
    for (int64_t r = 0; r < n; ++r)
      if (has[r]) {
        const double w = t.w ? t.w[r] : 1.0;
        W += w;
        E += w * wrong[r];
        ++f.oob_rows;
      }
    if (W > 0) f.oob_error = E / W;
  }
  return f;
}

Tensor Forest::predict_proba(const MatrixView& X, int threads) const {
  check_cols(X, n_features);
  const int K = n_classes;
  Tensor out({X.rows, static_cast<int64_t>(K)});
  const float scale = 1.0f / static_cast<float>(trees.size());
  std::vector<FastTree> fast;
  fast.reserve(trees.size());
  for (const Tree& t : trees) fast.emplace_back(t);
  // Per block of rows, each tree finds every row's leaf, then the leaves' probabilities are added
  // row by row in tree order (the same sums, in the same order, at any thread count).
  parallel_jobs((X.rows + kScoreBlock - 1) / kScoreBlock, resolve_threads(threads), [&](int64_t blk) {
    const int64_t r0 = blk * kScoreBlock, r1 = std::min(X.rows, r0 + kScoreBlock), nr = r1 - r0;
    const MatrixView part{X.row(r0), nr, X.cols};
    uint8_t nan[kScoreBlock];
    const bool any_nan = rows_with_nan(part, nan);
    int32_t leaf[kScoreBlock];
    std::vector<float> acc(static_cast<size_t>(nr * K), 0.f);
    for (size_t i = 0; i < trees.size(); ++i) {
      fast[i].leaves(part, any_nan ? nan : nullptr, leaf);
      const float* value = trees[i].value.data();
      if (K == 2) {
        for (int64_t r = 0; r < nr; ++r) {
          acc[r * 2] += value[leaf[r] * 2];
          acc[r * 2 + 1] += value[leaf[r] * 2 + 1];
        }
      } else {
        for (int64_t r = 0; r < nr; ++r)
          for (int k = 0; k < K; ++k) acc[r * K + k] += value[static_cast<size_t>(leaf[r]) * K + k];
      }
    }
    for (size_t i = 0; i < acc.size(); ++i) out[r0 * K + static_cast<int64_t>(i)] = acc[i] * scale;
  });
  return out;
}

void Forest::validate() const {
  if (trees.empty()) throw LearnerError("corrupt model: the forest has no trees");
  for (size_t i = 0; i < trees.size(); ++i) {
    const Tree& t = trees[i];
    if (t.n_features != n_features || t.n_classes != n_classes || t.categories != categories)
      throw LearnerError("corrupt model: tree " + std::to_string(i) + " does not match the forest's features or classes");
    t.validate();
  }
}

// ---------------------------------------------------------------------------------------------
// AdaBoost (SAMME)

namespace {
// The class a tree predicts at each node: argmax of the leaf's probabilities (first on ties).
std::vector<int> leaf_classes(const Tree& t) {
  const int K = t.n_classes;
  std::vector<int> c(t.size());
  for (int64_t i = 0; i < t.size(); ++i) {
    const float* v = &t.value[i * K];
    c[i] = static_cast<int>(std::max_element(v, v + K) - v);
  }
  return c;
}
}  // namespace

Boosted fit_adaboost(const TrainSet& t, const BoostOptions& o) {
  check_train_set(t);
  if (o.steps < 1) throw LearnerError("the number of boosting steps must be at least 1, got " + std::to_string(o.steps));
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) throw LearnerError("the learning rate must be positive");
  const BinnedFeatures bf = bin_features(t.X, t.categories, o.tree.max_bins);
  const int64_t n = t.X.rows;
  const int K = t.n_classes;
  Boosted b;
  b.n_features = static_cast<int>(t.X.cols);
  b.n_classes = K;
  b.categories = bf.categories;
  // Weights in double, normalised to sum 1 (as scikit-learn); the trees see them as floats.
  std::vector<double> w(n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += w[i] = t.w ? t.w[i] : 1.0;
  for (auto& v : w) v /= s;
  std::vector<float> wf(n);
  std::vector<uint8_t> wrong(n), row_nan(n);
  std::vector<int32_t> leaf(n);
  const bool any_nan = rows_with_nan(t.X, row_nan.data());
  TreeOptions to = o.tree;
  to.threads = resolve_threads(o.threads);
  for (int step = 0; step < o.steps; ++step) {
    for (int64_t i = 0; i < n; ++i) wf[i] = static_cast<float>(w[i]);
    to.seed = tree_seed(o.seed, step);
    Tree tr = grow_tree(bf, t.y, wf.data(), K, to);
    const auto cls = leaf_classes(tr);
    FastTree(tr).leaves(t.X, any_nan ? row_nan.data() : nullptr, leaf.data());
    double err = 0;
    for (int64_t i = 0; i < n; ++i) {
      wrong[i] = cls[leaf[i]] != t.y[i];
      if (wrong[i]) err += w[i];
    }
    if (err <= 0) {  // perfect: kept with weight 1, and nothing is left to boost
      b.trees.push_back(std::move(tr));
      b.alpha.push_back(1.0);
      b.error.push_back(0.0);
      break;
    }
    if (err >= 1.0 - 1.0 / K) {
      if (b.trees.empty()) throw LearnerError("the first boosted tree is no better than chance; boosting cannot start");
      break;
    }
    const double a = o.learning_rate * (std::log((1.0 - err) / err) + std::log(K - 1.0));
    b.trees.push_back(std::move(tr));
    b.alpha.push_back(a);
    b.error.push_back(err);
    if (step + 1 == o.steps) break;
    const double boost = std::exp(a);
    s = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (wrong[i] && w[i] > 0) w[i] *= boost;
      s += w[i];
    }
    if (!(s > 0) || !std::isfinite(s)) break;
    for (auto& v : w) v /= s;
  }
  return b;
}

Tensor Boosted::decision(const MatrixView& X, int steps, int threads) const {
  check_cols(X, n_features);
  const int m = steps <= 0 || steps > this->steps() ? this->steps() : steps;
  const int K = n_classes;
  std::vector<std::vector<int>> cls(m);
  double asum = 0;
  for (int i = 0; i < m; ++i) {
    cls[i] = leaf_classes(trees[i]);
    asum += alpha[i];
  }
  const int64_t cols = K == 2 ? 1 : K;
  Tensor out({X.rows, cols});
  std::vector<FastTree> fast;
  fast.reserve(m);
  for (int i = 0; i < m; ++i) fast.emplace_back(trees[i]);
  parallel_jobs((X.rows + kScoreBlock - 1) / kScoreBlock, resolve_threads(threads), [&](int64_t blk) {
    const int64_t r0 = blk * kScoreBlock, r1 = std::min(X.rows, r0 + kScoreBlock);
    std::vector<double> f(static_cast<size_t>((r1 - r0) * K), 0.0);
    const MatrixView part{X.row(r0), r1 - r0, X.cols};
    uint8_t nan[kScoreBlock];
    int32_t leaf[kScoreBlock];
    const bool any_nan = rows_with_nan(part, nan);
    for (int i = 0; i < m; ++i) {
      fast[i].leaves(part, any_nan ? nan : nullptr, leaf);
      for (int64_t r = r0; r < r1; ++r) f[(r - r0) * K + cls[i][leaf[r - r0]]] += alpha[i];
    }
    for (int64_t r = r0; r < r1; ++r) {
      if (K == 2) out[r] = static_cast<float>((f[(r - r0) * 2 + 1] - f[(r - r0) * 2]) / asum);
      else
        for (int k = 0; k < K; ++k) out[r * K + k] = static_cast<float>(f[(r - r0) * K + k] / asum);
    }
  });
  return out;
}

Tensor Boosted::predict_proba(const MatrixView& X, int steps, int threads) const {
  const Tensor d = decision(X, steps, threads);
  const int K = n_classes;
  Tensor p({X.rows, static_cast<int64_t>(K)});
  std::vector<double> z(K);
  for (int64_t r = 0; r < X.rows; ++r) {
    if (K == 2) {
      z[0] = -d[r] / 2.0;
      z[1] = d[r] / 2.0;
    } else {
      for (int k = 0; k < K; ++k) z[k] = d[r * K + k] / (K - 1.0);
    }
    const double mx = *std::max_element(z.begin(), z.end());
    double s = 0;
    for (int k = 0; k < K; ++k) s += z[k] = std::exp(z[k] - mx);
    for (int k = 0; k < K; ++k) p[r * K + k] = static_cast<float>(z[k] / s);
  }
  return p;
}

void Boosted::validate() const {
  if (trees.empty()) throw LearnerError("corrupt model: the boosted ensemble has no trees");
  if (alpha.size() != trees.size()) throw LearnerError("corrupt model: one estimator weight per tree expected");
  for (size_t i = 0; i < trees.size(); ++i) {
    const Tree& t = trees[i];
    if (t.n_features != n_features || t.n_classes != n_classes || t.categories != categories)
      throw LearnerError("corrupt model: tree " + std::to_string(i) + " does not match the ensemble's features or classes");
    if (!std::isfinite(alpha[i]) || alpha[i] <= 0) throw LearnerError("corrupt model: estimator weight " + std::to_string(i) + " is not finite and positive");
    t.validate();
  }
}

}  // namespace bp::learners
