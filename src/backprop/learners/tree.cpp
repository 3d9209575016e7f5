// The tree core: binning, growing, pruning, scoring and the flat storage (see tree.hpp).
#include "backprop/learners/tree.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include <nlohmann/json.hpp>

#include "backprop/backend/backend.hpp"
#include "backprop/util/rng.hpp"

namespace bp::learners {

namespace {

std::string row_str(int64_t i) { return "row " + std::to_string(i); }

// Impurity of a node with class weights c (K) and total W. Entropy in bits, as scikit-learn.
double impurity(const double* c, int K, double W, Criterion cr) {
  if (W <= 0) return 0;
  double s = 0;
  if (cr == Criterion::gini) {
    for (int k = 0; k < K; ++k) s += c[k] * c[k];
    return 1.0 - s / (W * W);
  }
  for (int k = 0; k < K; ++k)
    if (c[k] > 0) {
      const double p = c[k] / W;
      s -= p * std::log2(p);
    }
  return s;
}

double impurity_f(const float* c, int K, Criterion cr) {
  double d[256];
  std::vector<double> big;
  double* p = d;
  if (K > 256) {
    big.resize(K);
    p = big.data();
  }
  double W = 0;
  for (int k = 0; k < K; ++k) W += p[k] = c[k];
  return impurity(p, K, W, cr);
}

// float midpoint of a < b that stays strictly below b (scikit-learn's rule).
float midpoint(float a, float b) {
  const float t = static_cast<float>((static_cast<double>(a) + static_cast<double>(b)) / 2.0);
  if (!(t < b)) return a;
  return t;
}

bool valid_code(float v, int c) { return v >= 0 && v < static_cast<float>(c) && v == std::floor(v); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options and input checks

Criterion parse_criterion(const std::string& s) {
  if (s == "gini") return Criterion::gini;
  if (s == "entropy") return Criterion::entropy;
  if (s == "gain-ratio" || s == "gain_ratio") return Criterion::gain_ratio;
  throw LearnerError("unknown split criterion '" + s + "' (expected gini, entropy or gain-ratio)");
}
Pruning parse_pruning(const std::string& s) {
  if (s == "none") return Pruning::none;
  if (s == "ccp" || s == "cost-complexity") return Pruning::cost_complexity;
  if (s == "pessimistic" || s == "c4.5") return Pruning::pessimistic;
  throw LearnerError("unknown pruning '" + s + "' (expected none, ccp or pessimistic)");
}
std::string to_string(Criterion c) {
  return c == Criterion::gini ? "gini" : c == Criterion::entropy ? "entropy" : "gain-ratio";
}
std::string to_string(Pruning p) {
  return p == Pruning::none ? "none" : p == Pruning::cost_complexity ? "ccp" : "pessimistic";
}

void check_train_set(const TrainSet& t) {
  if (t.X.rows <= 0) throw LearnerError("no training rows");
  if (t.X.cols <= 0) throw LearnerError("no features");
  if (!t.X.data || !t.y) throw LearnerError("missing feature matrix or labels");
  if (t.n_classes < 2) throw LearnerError("need at least 2 classes, got " + std::to_string(t.n_classes));
  if (t.n_classes > 65535) throw LearnerError("too many classes (" + std::to_string(t.n_classes) + ")");
  if (!t.categories.empty() && static_cast<int64_t>(t.categories.size()) != t.X.cols)
    throw LearnerError("feature kinds given for " + std::to_string(t.categories.size()) + " features, but the matrix has " +
                       std::to_string(t.X.cols) + " columns");
  for (size_t f = 0; f < t.categories.size(); ++f)
    if (t.categories[f] < 0 || t.categories[f] > 65535)
      throw LearnerError("feature " + std::to_string(f) + ": bad number of categories " + std::to_string(t.categories[f]));
  double wsum = 0;
  for (int64_t i = 0; i < t.X.rows; ++i) {
    if (t.y[i] < 0 || t.y[i] >= t.n_classes)
      throw LearnerError(row_str(i) + ": label " + std::to_string(t.y[i]) + " is not in [0, " + std::to_string(t.n_classes) + ")");
    if (t.w) {
      if (!std::isfinite(t.w[i]) || t.w[i] < 0) throw LearnerError(row_str(i) + ": sample weight must be finite and >= 0");
      wsum += t.w[i];
    }
  }
  if (t.w && !(wsum > 0)) throw LearnerError("the sample weights sum to 0");
}

std::vector<int32_t> labels_from_floats(const float* y, int64_t n, int n_classes) {
  std::vector<int32_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const float v = y[i];
    if (!(v >= 0 && v < n_classes && v == std::floor(v)))
      throw LearnerError(row_str(i) + ": label " + std::to_string(v) + " is not a class code in [0, " + std::to_string(n_classes) + ")");
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Binning

BinnedFeatures bin_features(const MatrixView& X, const std::vector<int>& categories, int max_bins) {
  if (max_bins < 2 || max_bins > 65535) throw LearnerError("max_bins must be in [2, 65535], got " + std::to_string(max_bins));
  BinnedFeatures b;
  b.n = X.rows;
  b.d = X.cols;
  b.codes.assign(static_cast<size_t>(b.n * b.d), 0);
  b.n_bins.assign(b.d, 0);
  b.categories = categories.empty() ? std::vector<int>(b.d, 0) : categories;
  b.cut.resize(b.d);
  b.lo.resize(b.d);
  b.hi.resize(b.d);
  std::vector<float> vals;
  for (int64_t f = 0; f < b.d; ++f) {
    uint16_t* code = &b.codes[f * b.n];
    const int c = b.categories[f];
    if (c > 0) {
      b.n_bins[f] = c;
      for (int64_t i = 0; i < b.n; ++i) {
        const float v = X.row(i)[f];
        if (std::isnan(v)) {
          b.has_missing = true;
          continue;
        }
        if (!valid_code(v, c))
          throw LearnerError(row_str(i) + ": feature " + std::to_string(f) + " is categorical with codes 0.." + std::to_string(c - 1) +
                             ", got " + std::to_string(v));
        code[i] = static_cast<uint16_t>(v + 1);
      }
      continue;
    }
    vals.clear();
    for (int64_t i = 0; i < b.n; ++i) {
      const float v = X.row(i)[f];
      if (std::isnan(v)) b.has_missing = true;
      else vals.push_back(v);
    }
    std::sort(vals.begin(), vals.end());
    // Distinct values; with too many, bin edges at evenly spaced ranks.
    std::vector<float> uniq;
    for (float v : vals)
      if (uniq.empty() || v != uniq.back()) uniq.push_back(v);
    auto& cut = b.cut[f];
    if (static_cast<int64_t>(uniq.size()) <= max_bins) {
      for (size_t j = 0; j + 1 < uniq.size(); ++j) cut.push_back(midpoint(uniq[j], uniq[j + 1]));
    } else {
      for (int q = 1; q < max_bins; ++q) {
        const float v = vals[static_cast<size_t>(static_cast<double>(q) * vals.size() / max_bins)];
        // the edge sits just below v: between v and the value before it
        auto it = std::lower_bound(uniq.begin(), uniq.end(), v);
        if (it == uniq.begin()) continue;
        const float e = midpoint(*(it - 1), *it);
        if (cut.empty() || e > cut.back()) cut.push_back(e);
      }
    }
    const int nb = static_cast<int>(cut.size()) + 1;
    b.n_bins[f] = uniq.empty() ? 0 : nb;
    b.lo[f].assign(nb, std::numeric_limits<float>::infinity());
    b.hi[f].assign(nb, -std::numeric_limits<float>::infinity());
    for (int64_t i = 0; i < b.n; ++i) {
      const float v = X.row(i)[f];
      if (std::isnan(v)) continue;
      const int bin = static_cast<int>(std::lower_bound(cut.begin(), cut.end(), v) - cut.begin());
      code[i] = static_cast<uint16_t>(bin + 1);
      b.lo[f][bin] = std::min(b.lo[f][bin], v);
      b.hi[f][bin] = std::max(b.hi[f][bin], v);
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Growing

namespace {

constexpr double kEps = 1e-14;  // scikit-learn's EPSILON-sized slack for gain comparisons

struct Split {
  int feature = -1;
  double gain = -std::numeric_limits<double>::infinity();  // impurity decrease at the node
  double split_info = 0;                                   // for the gain ratio
  float threshold = 0;
  bool default_left = false;
  std::vector<uint8_t> mask;  // categorical: 1 = goes left (by category)
  bool valid() const { return feature >= 0; }
};

// Per-thread scratch for evaluating one feature at one node.
struct Scratch {
  std::vector<double> hist;    // (n_bins + 1, K)
  std::vector<int64_t> hcnt;   // (n_bins + 1)
  std::vector<uint64_t> keys;  // sort path
  // compact histogram: m present bins
  std::vector<int> code;
  std::vector<double> cw;  // (m, K)
  std::vector<int64_t> cn;
  std::vector<double> left, right, tmp, miss;
  std::vector<int> order;
};

class Grower {
 public:
  Grower(const BinnedFeatures& bf, const int32_t* y, const float* w, int K, const TreeOptions& o)
      : bf_(bf), y_(y), w_(w), K_(K), o_(o), rng_(o.seed) {}

  Tree grow(const std::vector<int64_t>* rows) {
    if (o_.min_samples_leaf < 1) throw LearnerError("min_samples_leaf must be at least 1");
    if (o_.min_samples_split < 2) throw LearnerError("min_samples_split must be at least 2");
    if (o_.max_depth < 0) throw LearnerError("max_depth must be >= 0 (0 = unlimited)");
    if (o_.min_weight_leaf < 0 || o_.min_gain < 0) throw LearnerError("min_weight_leaf and min_gain must be >= 0");
    if (o_.max_features < 0) throw LearnerError("max_features must be >= 0 (0 = all)");
    // Rows with weight 0 take no part (as in scikit-learn); repeats are kept.
    if (rows) {
      for (int64_t r : *rows)
        if (weight(r) > 0) idx_.push_back(r);
    } else {
      for (int64_t r = 0; r < bf_.n; ++r)
        if (weight(r) > 0) idx_.push_back(r);
    }
    if (idx_.empty()) throw LearnerError("no training rows with positive weight");
    ny_.resize(idx_.size());
    nw_.resize(idx_.size());
    if (K_ == 2) {
      nw0_.resize(idx_.size());
      nw1_.resize(idx_.size());
    }
    tree_.n_features = static_cast<int>(bf_.d);
    tree_.n_classes = K_;
    tree_.categories = bf_.categories;
    const int nt = std::max(1, o_.threads);
    scratch_.resize(nt);
    feat_split_.resize(bf_.d);
    crit_ = o_.criterion == Criterion::gini ? Criterion::gini : Criterion::entropy;

    // `live`: the features not yet found constant on the way down (a feature constant at a node
    // is constant below it; one-hot columns mostly are, deep in a tree).
    struct Item {
      int64_t b, e;
      int depth;
      int32_t parent;
      bool is_left;
      std::vector<int> live;
      std::vector<double> stats;  // subtract_: (d, kStats) binary_sums, inherited; empty = not yet
    };
    subtract_ = o_.subtract && K_ == 2 && (o_.max_features == 0 || o_.max_features >= bf_.d);
    const size_t stats_size = static_cast<size_t>(bf_.d) * kStats;
    std::vector<int> all;
    for (int f = 0; f < static_cast<int>(bf_.d); ++f)
      if (bf_.n_bins[f] > 1) all.push_back(f);
    const_.assign(bf_.d, 0);
    std::vector<Item> stack;
    stack.push_back({0, static_cast<int64_t>(idx_.size()), 0, -1, false, std::move(all), {}});
    std::vector<double> tot(K_);
    double W_root = 0;
    while (!stack.empty()) {
      Item it = std::move(stack.back());
      stack.pop_back();
      const int32_t id = static_cast<int32_t>(tree_.nodes.size());
      tree_.nodes.emplace_back();
      if (it.parent >= 0) (it.is_left ? tree_.nodes[it.parent].left : tree_.nodes[it.parent].right) = id;
      std::fill(tot.begin(), tot.end(), 0.0);
      for (int64_t i = it.b; i < it.e; ++i) tot[y_[idx_[i]]] += weight(idx_[i]);
      double W = 0;
      for (int k = 0; k < K_; ++k) {
        W += tot[k];
        tree_.counts.push_back(static_cast<float>(tot[k]));
      }
      if (id == 0) W_root = W;
      const int64_t n = it.e - it.b;
      const double imp = impurity(tot.data(), K_, W, crit_);
      bool leaf = (o_.max_depth > 0 && it.depth >= o_.max_depth) || n < o_.min_samples_split || n < 2 * o_.min_samples_leaf ||
                  W < 2 * o_.min_weight_leaf || imp <= 1e-7;
      Split s;
      if (!leaf) {
        stats_ready_ = !it.stats.empty();
        if (subtract_ && !stats_ready_) it.stats.assign(stats_size, 0.0);
        stats_ = subtract_ ? it.stats.data() : nullptr;
        s = best_split(it.b, it.e, tot.data(), W, imp, it.live);
        stats_ = nullptr;
        if (!s.valid() || (W / W_root) * s.gain + kEps < o_.min_gain) leaf = true;
      }
      if (leaf) continue;
      Tree::Node& nd = tree_.nodes[id];
      nd.feature = s.feature;
      nd.default_left = s.default_left;
      if (bf_.categories[s.feature] > 0) {
        nd.cat_offset = static_cast<int32_t>(tree_.cat_left.size());
        tree_.cat_left.insert(tree_.cat_left.end(), s.mask.begin(), s.mask.end());
      } else {
        nd.threshold = s.threshold;
      }
      const int64_t mid = partition(it.b, it.e, s);
      std::vector<double> lstats, rstats;
      // (not when the children are leaves by depth or size: stumps, the last level of a depth-limited tree)
      const bool children_split = (o_.max_depth == 0 || it.depth + 1 < o_.max_depth) &&
                                  std::max(mid - it.b, it.e - mid) >= std::max<int64_t>(o_.min_samples_split, 2 * o_.min_samples_leaf);
      if (subtract_ && children_split) {
        // The smaller child's sums of the 0/1 features still live, directly; the larger's by
        // subtraction (exact for integer weights such as bootstrap counts).
        const bool left_small = mid - it.b <= it.e - mid;
        const int64_t sb = left_small ? it.b : mid, se = left_small ? mid : it.e;
        for (int64_t i = sb; i < se; ++i) {
          const double w = weight(idx_[i]);
          const bool one = y_[idx_[i]] != 0;
          nw1_[i] = one ? w : 0.0;
          nw0_[i] = one ? 0.0 : w;
        }
        std::vector<double> small(stats_size, 0.0), large(stats_size, 0.0);
        for (int f : it.live) {
          if (bf_.n_bins[f] != 2) continue;
          double* sm = &small[static_cast<size_t>(f) * kStats];
          binary_sums(f, sb, se, sm);
          const double* pa = &it.stats[static_cast<size_t>(f) * kStats];
          double* lg = &large[static_cast<size_t>(f) * kStats];
          for (int q = 0; q < kStats; ++q) lg[q] = pa[q] - sm[q];
        }
        lstats = left_small ? std::move(small) : std::move(large);
        rstats = left_small ? std::move(large) : std::move(small);
      }
      // right pushed first so the left subtree is numbered next (preorder, as scikit-learn)
      stack.push_back({mid, it.e, it.depth + 1, id, false, it.live, std::move(rstats)});
      stack.push_back({it.b, mid, it.depth + 1, id, true, std::move(it.live), std::move(lstats)});
    }
    tree_.set_values(o_.laplace);
    return std::move(tree_);
  }

 private:
  double weight(int64_t r) const { return w_ ? static_cast<double>(w_[r]) : 1.0; }

  // Does row r go left under split s?
  bool goes_left(int64_t r, const Split& s) const {
    const uint16_t c = bf_.codes[s.feature * bf_.n + r];
    if (c == 0) return s.default_left;
    if (bf_.categories[s.feature] > 0) return s.mask[c - 1] != 0;
    return bf_.hi[s.feature][c - 1] <= s.threshold;
  }

  // Stable (rows keep their order on each side), through a scratch buffer: no allocation per node.
  int64_t partition(int64_t b, int64_t e, const Split& s) {
    part_.resize(e - b);
    int64_t l = b, rr = 0;
    for (int64_t i = b; i < e; ++i) {
      const int64_t r = idx_[i];
      if (goes_left(r, s)) idx_[l++] = r;
      else part_[rr++] = r;
    }
    std::copy(part_.begin(), part_.begin() + rr, idx_.begin() + l);
    return l;
  }

  Split best_split(int64_t b, int64_t e, const double* tot, double W, double imp, std::vector<int>& live) {
    const int64_t d = bf_.d;
    const int64_t n = e - b;
    // the node's labels and weights, gathered once for all its features
    for (int64_t i = b; i < e; ++i) {
      ny_[i] = y_[idx_[i]];
      nw_[i] = weight(idx_[i]);
    }
    if (K_ == 2)
      for (int64_t i = b; i < e; ++i) {
        nw1_[i] = ny_[i] ? nw_[i] : 0.0;
        nw0_[i] = ny_[i] ? 0.0 : nw_[i];
      }
    std::vector<int> cand;
    const int64_t nl = static_cast<int64_t>(live.size());
    for (int f : live) const_[f] = 0;
    if (o_.max_features == 0 || o_.max_features >= d) {
      // Every live feature, in order; at large nodes in parallel (each feature's best split is
      // found on its own and the choice below runs in feature order: the thread count cannot matter).
      cand = live;
      const int nt = std::max(1, o_.threads);
      if (nt > 1 && n * nl >= (int64_t{1} << 16)) {
        std::atomic<int64_t> next{0};
        backend::run_threads(nt, [&](int t) {
          for (int64_t j; (j = next.fetch_add(1)) < nl;) {
            const int f = cand[j];
            bool c = false;
            feat_split_[f] = eval_feature(f, b, e, tot, W, imp, scratch_[t], &c);
            const_[f] = c;
          }
        });
      } else {
        for (int f : cand) {
          bool c = false;
          feat_split_[f] = eval_feature(f, b, e, tot, W, imp, scratch_[0], &c);
          const_[f] = c;
        }
      }
    } else {
      // scikit-learn's draw: live features without replacement until max_features non-constant
      // ones were tried (constant features do not count).
      perm_ = live;
      int64_t left = nl;
      int tried = 0;
      while (left > 0 && tried < o_.max_features) {
        const int64_t r = static_cast<int64_t>(rng_.below(left));
        std::swap(perm_[r], perm_[left - 1]);
        const int f = perm_[--left];
        bool c = false;
        feat_split_[f] = eval_feature(f, b, e, tot, W, imp, scratch_[0], &c);
        const_[f] = c;
        cand.push_back(f);
        if (!c) ++tried;
      }
    }
    // Features found constant here stay constant below.
    bool any = false;
    for (int f : cand) any |= const_[f] != 0;
    if (any) {
      std::vector<int> keep;
      keep.reserve(live.size());
      for (int f : live)
        if (!const_[f]) keep.push_back(f);
      live = std::move(keep);
    }
    // Choose.
    if (o_.criterion != Criterion::gain_ratio) {
      int best = -1;
      for (int f : cand)
        if (feat_split_[f].valid() && (best < 0 || feat_split_[f].gain > feat_split_[best].gain)) best = f;
      return best < 0 ? Split{} : std::move(feat_split_[best]);
    }
    // C4.5: the best gain ratio among the candidates whose gain is at least the average.
    double sum = 0;
    int cnt = 0;
    for (int f : cand)
      if (feat_split_[f].valid()) {
        sum += feat_split_[f].gain;
        ++cnt;
      }
    if (cnt == 0) return Split{};
    const double avg = sum / cnt;
    int best = -1;
    double best_ratio = -1;
    for (int f : cand) {
      const Split& s = feat_split_[f];
      if (!s.valid() || s.gain < avg - 1e-12) continue;
      const double ratio = s.split_info > 1e-12 ? s.gain / s.split_info : 0.0;
      if (best < 0 || ratio > best_ratio) {
        best = f;
        best_ratio = ratio;
      }
    }
    return std::move(feat_split_[best]);
  }

  // The sums of a two-class 0/1 feature over idx_[b, e): weights of classes 0 and 1 with code 1
  // (o[0], o[1]) and code 2 (o[2], o[3]), the row counts of codes 1 and 2 (o[4], o[5]), and the
  // missing rows' class weights and count (o[6..8]). They live in registers, each row adding its
  // weight under a mask (no read-modify-write of a histogram slot, whose next update would wait
  // on the last); nw0_/nw1_ must hold the rows' class-split weights. Products by 0 or 1 are exact.
  void binary_sums(int f, int64_t b, int64_t e, double* o) const {
    static constexpr double is1[3] = {0, 1, 0}, is2[3] = {0, 0, 1};
    const uint16_t* code = &bf_.codes[static_cast<int64_t>(f) * bf_.n];
    const double* w0 = nw0_.data();
    const double* w1 = nw1_.data();
    // two sets of accumulators (even and odd rows) halve the chains' latency per row
    double a10 = 0, a11 = 0, a20 = 0, a21 = 0, b10 = 0, b11 = 0, b20 = 0, b21 = 0;
    int64_t c1 = 0, c2 = 0;
    int64_t i = b;
    for (; i + 2 <= e; i += 2) {
      const unsigned c = code[idx_[i]], d = code[idx_[i + 1]];
      const double m1 = is1[c], m2 = is2[c], q1 = is1[d], q2 = is2[d];
      a10 += m1 * w0[i];
      a11 += m1 * w1[i];
      a20 += m2 * w0[i];
      a21 += m2 * w1[i];
      b10 += q1 * w0[i + 1];
      b11 += q1 * w1[i + 1];
      b20 += q2 * w0[i + 1];
      b21 += q2 * w1[i + 1];
      c1 += (c == 1) + (d == 1);
      c2 += (c == 2) + (d == 2);
    }
    for (; i < e; ++i) {
      const unsigned c = code[idx_[i]];
      const double m1 = is1[c], m2 = is2[c];
      a10 += m1 * w0[i];
      a11 += m1 * w1[i];
      a20 += m2 * w0[i];
      a21 += m2 * w1[i];
      c1 += c == 1;
      c2 += c == 2;
    }
    a10 += b10, a11 += b11, a20 += b20, a21 += b21;
    const double n1 = static_cast<double>(c1), n2 = static_cast<double>(c2);
    double m0 = 0, mw1 = 0, mn = 0;
    if (bf_.has_missing)
      for (int64_t i = b; i < e; ++i)
        if (code[idx_[i]] == 0) {
          m0 += w0[i];
          mw1 += w1[i];
          mn += 1;
        }
    o[0] = a10, o[1] = a11, o[2] = a20, o[3] = a21, o[4] = n1, o[5] = n2, o[6] = m0, o[7] = mw1, o[8] = mn;
  }

  // binary_sums of feature f at the node: inherited, or computed (into st) and kept for the children.
  const double* node_binary_sums(int f, int64_t b, int64_t e, double* st) const {
    if (stats_ && stats_ready_) return stats_ + static_cast<size_t>(f) * kStats;
    binary_sums(f, b, e, st);
    if (stats_) std::copy(st, st + kStats, stats_ + static_cast<size_t>(f) * kStats);
    return st;
  }

  // The compact class histogram of feature f over the node: m present bins in ascending order.
  // Dense (one slot per bin) when the node has rows enough; else sort the rows by bin.
  void histogram(int f, int64_t b, int64_t e, Scratch& s, double* miss, int64_t& miss_n) const {
    const int K = K_;
    const int nb = bf_.n_bins[f];
    const uint16_t* code = &bf_.codes[static_cast<int64_t>(f) * bf_.n];
    const int64_t n = e - b;
    s.code.clear();
    s.cw.clear();
    s.cn.clear();
    std::fill(miss, miss + K, 0.0);
    miss_n = 0;
    if (K == 2 && nb == 2) {
      // A 0/1 feature (one-hot columns) with two classes: its nine sums (binary_sums), taken
      // from the node's inherited ones when its sibling's were subtracted from its parent's.
      double st[kStats];
      const double* src = node_binary_sums(f, b, e, st);
      miss[0] = src[6];
      miss[1] = src[7];
      miss_n = static_cast<int64_t>(src[8]);
      for (int c = 1; c <= 2; ++c)
        if (src[3 + c] > 0) {
          s.code.push_back(c);
          s.cn.push_back(static_cast<int64_t>(src[3 + c]));
          s.cw.push_back(src[2 * (c - 1)]);
          s.cw.push_back(src[2 * (c - 1) + 1]);
        }
      return;
    }
    if (n * 4 >= nb) {
      // Slot c holds K class weights and the row count. Small histograms (one-hot features have
      // two bins) get four interleaved copies: consecutive rows then add to different slots
      // instead of waiting on the same one.
      const int S = K + 1;
      const int copies = nb <= 16 && n >= 256 ? 4 : 1;
      const size_t stride = static_cast<size_t>(nb + 1) * S;
      s.hist.assign(stride * copies, 0.0);
      double* h = s.hist.data();
      const int32_t* ny = ny_.data();
      const double* nw = nw_.data();
      int64_t i = b;
      if (copies == 4) {
        for (; i + 4 <= e; i += 4)
          for (int j = 0; j < 4; ++j) {
            double* slot = h + j * stride + static_cast<size_t>(code[idx_[i + j]]) * S;
            slot[ny[i + j]] += nw[i + j];
            slot[K] += 1.0;
          }
        for (; i < e; ++i) {
          double* slot = h + static_cast<size_t>(code[idx_[i]]) * S;
          slot[ny[i]] += nw[i];
          slot[K] += 1.0;
        }
        for (int j = 1; j < 4; ++j)
          for (size_t q = 0; q < stride; ++q) h[q] += h[j * stride + q];
      } else {
        for (; i < e; ++i) {
          double* slot = h + static_cast<size_t>(code[idx_[i]]) * S;
          slot[ny[i]] += nw[i];
          slot[K] += 1.0;
        }
      }
      for (int k = 0; k < K; ++k) miss[k] = h[k];
      miss_n = static_cast<int64_t>(h[K]);
      for (int c = 1; c <= nb; ++c)
        if (h[c * S + K] > 0) {
          s.code.push_back(c);
          s.cn.push_back(static_cast<int64_t>(h[c * S + K]));
          s.cw.insert(s.cw.end(), h + c * S, h + c * S + K);
        }
      return;
    }
    s.keys.resize(n);
    for (int64_t i = b; i < e; ++i) s.keys[i - b] = (static_cast<uint64_t>(code[idx_[i]]) << 40) | static_cast<uint64_t>(i);
    std::sort(s.keys.begin(), s.keys.end());
    for (uint64_t key : s.keys) {
      const int c = static_cast<int>(key >> 40);
      const int64_t i = static_cast<int64_t>(key & ((uint64_t{1} << 40) - 1));
      if (c == 0) {
        miss[ny_[i]] += nw_[i];
        ++miss_n;
        continue;
      }
      if (s.code.empty() || s.code.back() != c) {
        s.code.push_back(c);
        s.cn.push_back(0);
        s.cw.resize(s.cw.size() + K, 0.0);
      }
      ++s.cn.back();
      s.cw[(s.code.size() - 1) * K + ny_[i]] += nw_[i];
    }
  }

  // The best split of feature f at the node (invalid if none is allowed).
  Split eval_feature(int f, int64_t b, int64_t e, const double* tot, double W, double imp, Scratch& s,
                     bool* constant = nullptr) const {
    const int K = K_;
    if (K == 2 && bf_.n_bins[f] == 2) {
      // A 0/1 feature with two classes and no missing rows here: its one candidate, without the
      // general machinery (most of a forest's evaluations are of these, at small nodes). The
      // same arithmetic, in the same order, as `consider` below.
      double st[kStats];
      const double* src = node_binary_sums(f, b, e, st);
      if (src[8] == 0) {
        Split best;
        const bool cnst = !(src[4] > 0 && src[5] > 0);
        if (constant) *constant = cnst;
        if (cnst) return best;
        const int64_t nl = static_cast<int64_t>(src[4]), nr = (e - b) - nl;
        const double l[2] = {src[0], src[1]}, r[2] = {tot[0] - l[0], tot[1] - l[1]};
        const double WL = l[0] + l[1], WR = r[0] + r[1];
        if (nl < o_.min_samples_leaf || nr < o_.min_samples_leaf) return best;
        if (WL < o_.min_weight_leaf || WR < o_.min_weight_leaf || WL <= 0 || WR <= 0) return best;
        const double g = imp - (WL / W) * impurity(l, 2, WL, crit_) - (WR / W) * impurity(r, 2, WR, crit_);
        if (!(g > best.gain)) return best;
        best.gain = g;
        best.feature = f;
        best.default_left = WL >= WR;
        if (o_.criterion == Criterion::gain_ratio) {
          const double pl = WL / W, pr = WR / W;
          best.split_info = -(pl * std::log2(pl) + pr * std::log2(pr));
        }
        best.threshold = midpoint(bf_.hi[f][0], bf_.lo[f][1]);
        return best;
      }
    }
    s.miss.resize(K);
    std::vector<double>& miss = s.miss;
    int64_t miss_n = 0;
    histogram(f, b, e, s, miss.data(), miss_n);
    const int m = static_cast<int>(s.code.size());
    Split best;
    if (constant) *constant = m <= 1;
    if (m <= 1) return best;
    const bool categorical = bf_.categories[f] > 0;
    const int64_t n = e - b;
    double Wmiss = 0;
    for (int k = 0; k < K; ++k) Wmiss += miss[k];
    s.left.assign(K, 0.0);
    s.right.resize(K);
    s.tmp.resize(K);
    int best_pos = -1;
    int best_order = -1;
    // The split criterion used to rank thresholds: gain ratio ranks by information gain (C4.5).
    const Criterion cr = crit_;

    // Evaluates the boundary with left = s.left (nl rows, non-missing), for both missing sides.
    auto consider = [&](int64_t nl, int pos, int order_id) {
      const int64_t nr_nm = (n - miss_n) - nl;
      for (int side = 0; side < 2; ++side) {
        const bool dl = side == 0;
        if (miss_n == 0 && side == 1) break;
        double WL = 0, WR = 0;
        for (int k = 0; k < K; ++k) {
          const double l = s.left[k] + (dl ? miss[k] : 0.0);
          s.tmp[k] = l;
          s.right[k] = tot[k] - l;
          WL += l;
          WR += s.right[k];
        }
        const int64_t NL = nl + (dl ? miss_n : 0), NR = nr_nm + (dl ? 0 : miss_n);
        if (NL < o_.min_samples_leaf || NR < o_.min_samples_leaf) continue;
        if (WL < o_.min_weight_leaf || WR < o_.min_weight_leaf || WL <= 0 || WR <= 0) continue;
        const double g = imp - (WL / W) * impurity(s.tmp.data(), K, WL, cr) - (WR / W) * impurity(s.right.data(), K, WR, cr);
        if (g > best.gain) {
          best.gain = g;
          best.feature = f;
          best.default_left = miss_n == 0 ? WL >= WR : dl;
          if (o_.criterion == Criterion::gain_ratio) {  // (log2 only where it is used)
            const double pl = WL / W, pr = WR / W;
            best.split_info = -(pl * std::log2(pl) + pr * std::log2(pr));
          }
          best_pos = pos;
          best_order = order_id;
        }
      }
    };

    if (!categorical) {
      int64_t nl = 0;
      for (int j = 0; j + 1 < m; ++j) {
        for (int k = 0; k < K; ++k) s.left[k] += s.cw[j * K + k];
        nl += s.cn[j];
        consider(nl, j, 0);
      }
      if (best.valid()) {
        const int cl = s.code[best_pos] - 1, cr2 = s.code[best_pos + 1] - 1;
        best.threshold = midpoint(bf_.hi[f][cl], bf_.lo[f][cr2]);
      }
      return best;
    }
    // Categorical: prefixes of the categories ordered by one class's rate (class 1 for K = 2;
    // each class in turn for K > 2).
    const int n_orders = K == 2 ? 1 : K;
    std::vector<int> best_order_vec;
    for (int o = 0; o < n_orders; ++o) {
      const int cls = K == 2 ? 1 : o;
      s.order.resize(m);
      std::iota(s.order.begin(), s.order.end(), 0);
      std::stable_sort(s.order.begin(), s.order.end(), [&](int a, int c) {
        double wa = 0, wc = 0;
        for (int k = 0; k < K; ++k) {
          wa += s.cw[a * K + k];
          wc += s.cw[c * K + k];
        }
        return s.cw[a * K + cls] / wa < s.cw[c * K + cls] / wc;
      });
      std::fill(s.left.begin(), s.left.end(), 0.0);
      int64_t nl = 0;
      for (int j = 0; j + 1 < m; ++j) {
        const int a = s.order[j];
        for (int k = 0; k < K; ++k) s.left[k] += s.cw[a * K + k];
        nl += s.cn[a];
        consider(nl, j, o);
      }
      if (best_order == o) best_order_vec = s.order;  // this ordering holds the best so far
    }
    if (best.valid()) {
      best.mask.assign(bf_.categories[f], 0);
      for (int j = 0; j <= best_pos; ++j) best.mask[s.code[best_order_vec[j]] - 1] = 1;
    }
    return best;
  }

  const BinnedFeatures& bf_;
  const int32_t* y_;
  const float* w_;
  int K_;
  TreeOptions o_;
  Rng rng_;
  Criterion crit_ = Criterion::gini;
  std::vector<int64_t> idx_;
  std::vector<int64_t> part_;  // partition's scratch
  std::vector<int32_t> ny_;  // labels and weights of idx_'s rows at the node being split
  std::vector<double> nw_;
  std::vector<double> nw0_, nw1_;  // K = 2: nw_ where the label is 0 (1), else 0
  // Histogram subtraction (two classes, every feature tried at every node): the node being split
  // has binary_sums for each of its 0/1 features at stats_ (d, kStats): inherited (stats_ready_)
  // or written as they are computed. After a split only the smaller child's are computed; the
  // larger child's are its parent's minus those.
  static constexpr int kStats = 9;
  bool subtract_ = false;
  double* stats_ = nullptr;
  bool stats_ready_ = false;
  std::vector<int> perm_;
  std::vector<uint8_t> const_;  // (d) found constant at the node being split (valid for `cand` only)
  std::vector<Scratch> scratch_;
  std::vector<Split> feat_split_;
  Tree tree_;
};

}  // namespace

Tree grow_tree(const BinnedFeatures& bf, const int32_t* y, const float* w, int n_classes, const TreeOptions& o,
               const std::vector<int64_t>* rows) {
  Grower g(bf, y, w, n_classes, o);
  return g.grow(rows);
}

// ---------------------------------------------------------------------------------------------
// Scoring

int64_t Tree::n_leaves() const {
  int64_t c = 0;
  for (const Node& n : nodes) c += n.left < 0;
  return c;
}

int Tree::depth() const {
  std::vector<int> dep(nodes.size(), 0);
  int best = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    best = std::max(best, dep[i]);
    if (nodes[i].left >= 0) dep[nodes[i].left] = dep[nodes[i].right] = dep[i] + 1;
  }
  return best;
}

int32_t Tree::leaf(const float* x) const {
  const Node* nd = nodes.data();
  int32_t i = 0;
  while (nd[i].left >= 0) {
    const Node& n = nd[i];
    const float v = x[n.feature];
    bool left;
    if (n.cat_offset < 0) {
      left = v <= n.threshold || (std::isnan(v) && n.default_left);
    } else {
      const int c = categories[n.feature];
      left = valid_code(v, c) ? cat_left[n.cat_offset + static_cast<int>(v)] != 0 : n.default_left;
    }
    i = left ? n.left : n.right;
  }
  return i;
}

void Tree::accumulate_proba(const MatrixView& X, float* out, float scale) const {
  if (X.cols != n_features)
    throw LearnerError("the tree expects " + std::to_string(n_features) + " features, got " + std::to_string(X.cols));
  const int K = n_classes;
  // (Walking eight rows through the tree together, with or without branches, to overlap their
  // loads measured slower here: the rows of a forest's deep trees end at very different depths.)
  for (int64_t r = 0; r < X.rows; ++r) {
    const float* v = &value[static_cast<size_t>(leaf(X.row(r))) * K];
    float* o = out + r * K;
    for (int k = 0; k < K; ++k) o[k] += scale * v[k];
  }
}

Tensor Tree::predict_proba(const MatrixView& X) const {
  Tensor out({X.rows, static_cast<int64_t>(n_classes)});
  accumulate_proba(X, out.data(), 1.0f);
  return out;
}

FastTree::FastTree(const Tree& t) : tree_(&t) {
  for (const Tree::Node& n : t.nodes)
    if (n.left >= 0 && n.cat_offset >= 0) return;  // categorical: the reference walk
  nodes_.resize(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const Tree::Node& n = t.nodes[i];
    // preorder: the left child directly follows its parent (validate() does not require it of
    // a loaded tree, so a tree numbered otherwise takes the reference walk)
    if (n.left >= 0 && n.left != static_cast<int32_t>(i) + 1) {
      nodes_.clear();
      return;
    }
    nodes_[i] = {n.left >= 0 ? n.feature : -1, n.threshold, n.right};
  }
}

void FastTree::leaves(const MatrixView& X, const int64_t* rows, int64_t count, const uint8_t* row_nan, int32_t* out) const {
  const int64_t n = count;
  auto row_of = [&](int64_t j) { return rows ? rows[j] : j; };
  if (nodes_.empty()) {
    for (int64_t j = 0; j < n; ++j) out[j] = tree_->leaf(X.row(row_of(j)));
    return;
  }
  if (nodes_.size() == 3) {  // a stump: one compare and select per row (NaN: the reference walk)
    const Node& root = nodes_[0];
    for (int64_t j = 0; j < n; ++j) {
      const float* x = X.row(row_of(j));
      const int32_t m = -static_cast<int32_t>(x[root.feature] <= root.threshold);
      out[j] = row_nan && row_nan[row_of(j)] ? tree_->leaf(x) : (1 & m) | (2 & ~m);
    }
    return;
  }
  // kLanes rows in flight; a lane whose row reached its leaf takes the next row (rows with a NaN
  // are done on the spot by the reference walk). A lane past the last row holds −1.
  // (Measured on Adult: 16 lanes no faster than 8.)
  constexpr int kLanes = 8;
  const Node* nd = nodes_.data();
  int64_t job[kLanes];
  const float* xr[kLanes];
  int32_t cur[kLanes];
  int64_t next = 0;
  auto take = [&]() -> int64_t {
    while (next < n && row_nan && row_nan[row_of(next)]) {
      out[next] = tree_->leaf(X.row(row_of(next)));
      ++next;
    }
    return next < n ? next++ : -1;
  };
  int active = 0;
  for (int j = 0; j < kLanes; ++j) {
    job[j] = take();
    xr[j] = job[j] >= 0 ? X.row(row_of(job[j])) : X.data;
    cur[j] = 0;
    active += job[j] >= 0;
  }
  while (active > 0) {
    for (int j = 0; j < kLanes; ++j) {
      if (job[j] < 0) continue;
      const Node& nj = nd[cur[j]];
      if (nj.feature < 0) {
        out[job[j]] = cur[j];
        job[j] = take();
        cur[j] = 0;
        if (job[j] < 0) --active;
        else xr[j] = X.row(row_of(job[j]));
        continue;
      }
      // a select by mask: the compiler must not turn it into an (unpredictable) branch
      const int32_t m = -static_cast<int32_t>(xr[j][nj.feature] <= nj.threshold);
      cur[j] = ((cur[j] + 1) & m) | (nj.right & ~m);
    }
  }
}

bool rows_with_nan(const MatrixView& X, uint8_t* row_nan) {
  bool any = false;
  for (int64_t r = 0; r < X.rows; ++r) {
    const float* v = X.row(r);
    bool nan = false;
    for (int64_t j = 0; j < X.cols; ++j) nan |= std::isnan(v[j]);
    row_nan[r] = nan;
    any |= nan;
  }
  return any;
}

void Tree::set_values(bool lap) {
  laplace = lap;
  const int K = n_classes;
  value.assign(counts.size(), 0.f);
  for (size_t i = 0; i < nodes.size(); ++i) {
    double W = 0;
    for (int k = 0; k < K; ++k) W += counts[i * K + k];
    for (int k = 0; k < K; ++k) {
      const double c = counts[i * K + k];
      value[i * K + k] = static_cast<float>(lap ? (c + 1.0) / (W + K) : (W > 0 ? c / W : 1.0 / K));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation and storage

void Tree::validate() const {
  auto bad = [](const std::string& s) { throw LearnerError("corrupt tree: " + s); };
  if (n_features <= 0) bad("n_features must be positive");
  if (n_classes < 2 || n_classes > 65535) bad("n_classes must be in [2, 65535]");
  if (static_cast<int>(categories.size()) != n_features) bad("feature kinds do not match n_features");
  for (int c : categories)
    if (c < 0 || c > 65535) bad("bad number of categories");
  const int64_t n = size();
  if (n == 0) bad("no nodes");
  if (n >= (int64_t{1} << 24)) bad("too many nodes");
  if (counts.size() != static_cast<size_t>(n) * n_classes || value.size() != counts.size())
    bad("counts/value must have n_nodes x n_classes entries");
  std::vector<uint8_t> seen(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    const Node& nd = nodes[i];
    const std::string at = "node " + std::to_string(i) + ": ";
    if (nd.left < 0 || nd.right < 0) {
      if (nd.left != -1 || nd.right != -1) bad(at + "a leaf must have left = right = -1");
    } else {
      // Children after their parent and each node the child of exactly one: one tree, no cycles.
      if (nd.left <= i || nd.right <= i || nd.left >= n || nd.right >= n || nd.left == nd.right)
        bad(at + "child index out of range");
      if (seen[nd.left]++ || seen[nd.right]++) bad(at + "a node has two parents");
      if (nd.feature < 0 || nd.feature >= n_features) bad(at + "feature out of range");
      const int c = categories[nd.feature];
      if (c > 0) {
        if (nd.cat_offset < 0 || static_cast<int64_t>(nd.cat_offset) + c > static_cast<int64_t>(cat_left.size()))
          bad(at + "category mask out of range");
      } else {
        if (nd.cat_offset != -1) bad(at + "numeric split with a category mask");
        if (std::isnan(nd.threshold)) bad(at + "threshold is NaN");
      }
      if (nd.default_left > 1) bad(at + "default direction must be 0 or 1");
    }
    double s = 0;
    for (int k = 0; k < n_classes; ++k) {
      const float v = value[i * n_classes + k], c = counts[i * n_classes + k];
      if (!std::isfinite(v) || v < 0 || v > 1) bad(at + "probability not finite or not in [0, 1]");
      if (!std::isfinite(c) || c < 0) bad(at + "class count not finite or negative");
      s += v;
    }
    if (std::fabs(s - 1.0) > 1e-4) bad(at + "probabilities do not sum to 1");
  }
  for (int64_t i = 1; i < n; ++i)
    if (!seen[i]) bad("node " + std::to_string(i) + " is not reachable from the root");
  for (uint8_t m : cat_left)
    if (m > 1) bad("category mask entries must be 0 or 1");
}

nlohmann::json Tree::to_json() const {
  nlohmann::json j;
  j["n_features"] = n_features;
  j["n_classes"] = n_classes;
  j["categories"] = categories;
  j["laplace"] = laplace;
  std::vector<int32_t> feature, left, right, cat_offset;
  std::vector<float> threshold;
  std::vector<int> def;
  for (const Node& nd : nodes) {
    feature.push_back(nd.feature);
    threshold.push_back(nd.threshold);
    left.push_back(nd.left);
    right.push_back(nd.right);
    cat_offset.push_back(nd.cat_offset);
    def.push_back(nd.default_left);
  }
  j["feature"] = feature;
  j["threshold"] = threshold;
  j["left"] = left;
  j["right"] = right;
  j["default_left"] = def;
  j["cat_offset"] = cat_offset;
  j["cat_left"] = cat_left;
  j["counts"] = counts;
  j["value"] = value;
  return j;
}

Tree Tree::from_json(const nlohmann::json& j) {
  Tree t;
  try {
    t.n_features = j.at("n_features").get<int>();
    t.n_classes = j.at("n_classes").get<int>();
    t.categories = j.at("categories").get<std::vector<int>>();
    t.laplace = j.at("laplace").get<bool>();
    const auto feature = j.at("feature").get<std::vector<int32_t>>();
    const auto threshold = j.at("threshold").get<std::vector<float>>();
    const auto left = j.at("left").get<std::vector<int32_t>>();
    const auto right = j.at("right").get<std::vector<int32_t>>();
    const auto def = j.at("default_left").get<std::vector<int>>();
    const auto cat_offset = j.at("cat_offset").get<std::vector<int32_t>>();
    t.cat_left = j.at("cat_left").get<std::vector<uint8_t>>();
    t.counts = j.at("counts").get<std::vector<float>>();
    t.value = j.at("value").get<std::vector<float>>();
    const size_t n = feature.size();
    if (threshold.size() != n || left.size() != n || right.size() != n || def.size() != n || cat_offset.size() != n)
      throw LearnerError("corrupt tree: node arrays of different lengths");
    t.nodes.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (def[i] != 0 && def[i] != 1) throw LearnerError("corrupt tree: default_left must be 0 or 1");
      t.nodes[i] = {feature[i], threshold[i], left[i], right[i], cat_offset[i], static_cast<uint8_t>(def[i])};
    }
  } catch (const nlohmann::json::exception& e) {
    throw LearnerError(std::string("corrupt tree: ") + e.what());
  }
  t.validate();
  return t;
}

namespace {
Tensor vec_tensor(const std::vector<float>& v, Shape shape) { return Tensor(std::move(shape), v); }

const Tensor& find_array(const FlatArrays& in, const std::string& name) {
  for (const auto& [k, t] : in)
    if (k == name) return t;
  throw LearnerError("corrupt model: array '" + name + "' is missing");
}

// Exact float32 integers in [lo, hi].
std::vector<int32_t> int_array(const Tensor& t, const std::string& name, int64_t lo, int64_t hi) {
  std::vector<int32_t> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = t[i];
    if (!(v >= static_cast<float>(lo) && v <= static_cast<float>(hi) && v == std::floor(v)))
      throw LearnerError("corrupt model: " + name + "[" + std::to_string(i) + "] = " + std::to_string(v) + " is not an integer in [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}
}  // namespace

void Tree::append_arrays(const std::string& p, FlatArrays& out) const {
  const int64_t n = size();
  std::vector<float> feature(n), threshold(n), left(n), right(n), def(n), cat(n);
  for (int64_t i = 0; i < n; ++i) {
    feature[i] = static_cast<float>(nodes[i].feature);
    threshold[i] = nodes[i].threshold;
    left[i] = static_cast<float>(nodes[i].left);
    right[i] = static_cast<float>(nodes[i].right);
    def[i] = nodes[i].default_left;
    cat[i] = static_cast<float>(nodes[i].cat_offset);
  }
  out.emplace_back(p + "feature", vec_tensor(feature, {n}));
  out.emplace_back(p + "threshold", vec_tensor(threshold, {n}));
  out.emplace_back(p + "left", vec_tensor(left, {n}));
  out.emplace_back(p + "right", vec_tensor(right, {n}));
  out.emplace_back(p + "default_left", vec_tensor(def, {n}));
  out.emplace_back(p + "cat_offset", vec_tensor(cat, {n}));
  std::vector<float> mask(cat_left.begin(), cat_left.end());
  out.emplace_back(p + "cat_left", vec_tensor(mask, {static_cast<int64_t>(mask.size())}));
  out.emplace_back(p + "counts", vec_tensor(counts, {n, n_classes}));
  out.emplace_back(p + "value", vec_tensor(value, {n, n_classes}));
}

Tree Tree::from_arrays(const std::string& p, const FlatArrays& in, int n_features, int n_classes,
                       const std::vector<int>& categories, bool laplace) {
  Tree t;
  t.n_features = n_features;
  t.n_classes = n_classes;
  t.categories = categories;
  t.laplace = laplace;
  const Tensor& feature = find_array(in, p + "feature");
  const int64_t n = feature.numel();
  if (n <= 0 || n >= (int64_t{1} << 24)) throw LearnerError("corrupt model: " + p + "feature has a bad length");
  for (const char* name : {"threshold", "left", "right", "default_left", "cat_offset"})
    if (find_array(in, p + name).numel() != n) throw LearnerError("corrupt model: " + p + name + " does not have one entry per node");
  const Tensor& counts = find_array(in, p + "counts");
  const Tensor& value = find_array(in, p + "value");
  if (counts.numel() != n * n_classes || value.numel() != n * n_classes)
    throw LearnerError("corrupt model: " + p + "counts/value must be n_nodes x n_classes");
  const Tensor& mask = find_array(in, p + "cat_left");
  const auto f = int_array(feature, p + "feature", -1, n_features - 1);
  const auto l = int_array(find_array(in, p + "left"), p + "left", -1, n - 1);
  const auto r = int_array(find_array(in, p + "right"), p + "right", -1, n - 1);
  const auto dl = int_array(find_array(in, p + "default_left"), p + "default_left", 0, 1);
  const auto co = int_array(find_array(in, p + "cat_offset"), p + "cat_offset", -1, mask.numel());
  const auto m = int_array(mask, p + "cat_left", 0, 1);
  const Tensor& thr = find_array(in, p + "threshold");
  t.nodes.resize(n);
  for (int64_t i = 0; i < n; ++i) t.nodes[i] = {f[i], thr[i], l[i], r[i], co[i], static_cast<uint8_t>(dl[i])};
  t.cat_left.assign(m.begin(), m.end());
  t.counts = counts.to_vector();
  t.value = value.to_vector();
  t.validate();
  return t;
}

// ---------------------------------------------------------------------------------------------
// Pruning

namespace {

// Renumbers the nodes reachable from the root in preorder, dropping the rest (after pruning).
void compact(Tree& t) {
  const int K = t.n_classes;
  Tree out;
  out.n_features = t.n_features;
  out.n_classes = K;
  out.categories = t.categories;
  out.laplace = t.laplace;
  std::vector<std::pair<int32_t, int32_t>> stack{{0, -1}};  // (old id, parent slot: 2*new+side)
  while (!stack.empty()) {
    const auto [old, slot] = stack.back();
    stack.pop_back();
    const int32_t id = static_cast<int32_t>(out.nodes.size());
    Tree::Node nd = t.nodes[old];
    if (slot >= 0) (slot % 2 == 0 ? out.nodes[slot / 2].left : out.nodes[slot / 2].right) = id;
    if (nd.cat_offset >= 0 && nd.left >= 0) {
      const int c = t.categories[nd.feature];
      const int32_t off = static_cast<int32_t>(out.cat_left.size());
      out.cat_left.insert(out.cat_left.end(), t.cat_left.begin() + nd.cat_offset, t.cat_left.begin() + nd.cat_offset + c);
      nd.cat_offset = off;
    }
    const int32_t l = nd.left, r = nd.right;
    if (l < 0) nd = Tree::Node{};
    out.nodes.push_back(nd);
    out.counts.insert(out.counts.end(), t.counts.begin() + static_cast<size_t>(old) * K, t.counts.begin() + static_cast<size_t>(old + 1) * K);
    if (l >= 0) {
      out.nodes.back().left = out.nodes.back().right = -1;
      stack.push_back({r, 2 * id + 1});
      stack.push_back({l, 2 * id});
    }
  }
  out.set_values(t.laplace);
  t = std::move(out);
}

// One weakest-link step: the smallest α_eff = (R(t) − R(T_t)) / (|leaves(T_t)| − 1) over the
// internal nodes, with R(t) = W_t / W_root · impurity(t). Returns −1 if the tree is a leaf.
double weakest_link(const Tree& t, Criterion c, int32_t* node) {
  const int64_t n = t.size();
  const int K = t.n_classes;
  double Wroot = 0;
  for (int k = 0; k < K; ++k) Wroot += t.counts[k];
  std::vector<double> R(n), Rsub(n);
  std::vector<int64_t> leaves(n);
  const Criterion cr = c == Criterion::gini ? Criterion::gini : Criterion::entropy;
  for (int64_t i = n - 1; i >= 0; --i) {
    double W = 0;
    for (int k = 0; k < K; ++k) W += t.counts[i * K + k];
    R[i] = W / Wroot * impurity_f(&t.counts[i * K], K, cr);
    const auto& nd = t.nodes[i];
    if (nd.left < 0) {
      Rsub[i] = R[i];
      leaves[i] = 1;
    } else {
      Rsub[i] = Rsub[nd.left] + Rsub[nd.right];
      leaves[i] = leaves[nd.left] + leaves[nd.right];
    }
  }
  double best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (t.nodes[i].left < 0) continue;
    const double a = (R[i] - Rsub[i]) / static_cast<double>(leaves[i] - 1);
    if (best < 0 || a < best) {
      best = std::max(a, 0.0);
      *node = static_cast<int32_t>(i);
    }
  }
  return best;
}

}  // namespace

void prune_cost_complexity(Tree& t, Criterion c, double alpha) {
  if (!(alpha >= 0)) throw LearnerError("ccp_alpha must be >= 0");
  for (;;) {
    int32_t node = -1;
    const double a = weakest_link(t, c, &node);
    if (a < 0 || a > alpha) break;
    t.nodes[node].left = t.nodes[node].right = -1;
    compact(t);
  }
}

std::vector<double> ccp_alphas(const Tree& tree, Criterion c) {
  Tree t = tree;
  std::vector<double> out{0.0};
  for (;;) {
    int32_t node = -1;
    const double a = weakest_link(t, c, &node);
    if (a < 0) break;
    if (a > out.back()) out.push_back(a);
    t.nodes[node].left = t.nodes[node].right = -1;
    compact(t);
  }
  return out;
}

double c45_added_errors(double N, double E, double cf) {
  // C4.5's normal deviate for the confidence, interpolated in its table.
  static const double val[] = {0, 0.001, 0.005, 0.01, 0.05, 0.10, 0.20, 0.40, 1.00};
  static const double dev[] = {4.0, 3.09, 2.58, 2.33, 1.65, 1.28, 0.84, 0.25, 0.00};
  if (!(cf > 0 && cf < 1)) throw LearnerError("the pruning confidence must be in (0, 1)");
  int i = 0;
  while (cf > val[i + 1]) ++i;
  const double z = dev[i] + (dev[i + 1] - dev[i]) * (cf - val[i]) / (val[i + 1] - val[i]);
  const double coeff = z * z;
  if (N <= 0) return 0;
  if (E < 1e-6) return N * (1 - std::exp(std::log(cf) / N));
  if (E < 0.9999) {
    const double v0 = N * (1 - std::exp(std::log(cf) / N));
    return v0 + E * (c45_added_errors(N, 1.0, cf) - v0);
  }
  if (E + 0.5 >= N) return 0.67 * (N - E);
  const double pr = (E + 0.5 + coeff / 2 + std::sqrt(coeff * ((E + 0.5) * (1 - (E + 0.5) / N) + coeff / 4))) / (N + coeff);
  return N * pr - E;
}

void prune_pessimistic(Tree& t, double cf) {
  const int64_t n = t.size();
  const int K = t.n_classes;
  std::vector<double> est(n);  // predicted errors of the (pruned) subtree
  for (int64_t i = n - 1; i >= 0; --i) {
    double W = 0, mx = 0;
    for (int k = 0; k < K; ++k) {
      W += t.counts[i * K + k];
      mx = std::max<double>(mx, t.counts[i * K + k]);
    }
    const double E = W - mx;
    const double as_leaf = E + c45_added_errors(W, E, cf);
    auto& nd = t.nodes[i];
    if (nd.left < 0) {
      est[i] = as_leaf;
      continue;
    }
    const double sub = est[nd.left] + est[nd.right];
    if (as_leaf <= sub + 0.1) {
      nd.left = nd.right = -1;
      est[i] = as_leaf;
    } else {
      est[i] = sub;
    }
  }
  compact(t);
}

// ---------------------------------------------------------------------------------------------
// The `tree` learner's fit

namespace {
double weighted_error(const Tree& t, const TrainSet& ts, const std::vector<int64_t>& rows) {
  double e = 0;
  const int K = t.n_classes;
  for (int64_t r : rows) {
    const float* v = &t.value[static_cast<size_t>(t.leaf(ts.X.row(r))) * K];
    const int pred = static_cast<int>(std::max_element(v, v + K) - v);
    if (pred != ts.y[r]) e += ts.w ? ts.w[r] : 1.0;
  }
  return e;
}
}  // namespace

Tree fit_tree(const TrainSet& ts, const TreeOptions& o) {
  check_train_set(ts);
  const BinnedFeatures bf = bin_features(ts.X, ts.categories, o.max_bins);
  Tree t = grow_tree(bf, ts.y, ts.w, ts.n_classes, o);
  if (o.pruning == Pruning::pessimistic) {
    prune_pessimistic(t, o.confidence);
  } else if (o.pruning == Pruning::cost_complexity) {
    double alpha = o.ccp_alpha;
    if (o.ccp_folds > 0 || o.ccp_holdout > 0) {
      if (o.ccp_folds == 1 || o.ccp_folds > ts.X.rows) throw LearnerError("ccp_folds must be >= 2 and at most the number of rows");
      if (o.ccp_folds == 0 && !(o.ccp_holdout < 1)) throw LearnerError("ccp_holdout must be in (0, 1)");
      // Candidates: geometric midpoints of the full tree's pruning sequence (CART).
      const auto seq = ccp_alphas(t, o.criterion);
      std::vector<double> cand;
      for (size_t i = 0; i < seq.size(); ++i)
        cand.push_back(i + 1 < seq.size() ? std::sqrt(seq[i] * seq[i + 1]) : seq[i]);
      std::vector<int64_t> perm(ts.X.rows);
      std::iota(perm.begin(), perm.end(), 0);
      Rng rng(o.seed ^ 0x9e3779b97f4a7c15ull);
      rng.shuffle(perm);
      const int folds = o.ccp_folds > 0 ? o.ccp_folds : 1;
      std::vector<double> err(cand.size(), 0.0);
      for (int k = 0; k < folds; ++k) {
        std::vector<int64_t> grow_rows, held;
        for (int64_t i = 0; i < ts.X.rows; ++i) {
          const bool h = o.ccp_folds > 0 ? i % folds == k : i < static_cast<int64_t>(o.ccp_holdout * ts.X.rows);
          (h ? held : grow_rows).push_back(perm[i]);
        }
        if (grow_rows.empty() || held.empty()) throw LearnerError("too few rows to choose ccp_alpha");
        const Tree tk = grow_tree(bf, ts.y, ts.w, ts.n_classes, o, &grow_rows);
        for (size_t c = 0; c < cand.size(); ++c) {
          Tree p = tk;
          prune_cost_complexity(p, o.criterion, cand[c]);
          err[c] += weighted_error(p, ts, held);
        }
      }
      // Least error; among equals the largest alpha (the smaller tree).
      size_t best = 0;
      for (size_t c = 1; c < cand.size(); ++c)
        if (err[c] <= err[best]) best = c;
      alpha = cand[best];
    }
    prune_cost_complexity(t, o.criterion, alpha);
  }
  return t;
}

}  // namespace bp::learners
