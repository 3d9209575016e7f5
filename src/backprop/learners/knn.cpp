#include "backprop/learners/knn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "backprop/backend/backend.hpp"
#include "backprop/learners/naive_bayes.hpp"

namespace bp::learners {

namespace {

using json = nlohmann::json;

double entropy(const std::vector<double>& counts) {
  double t = 0, e = 0;
  for (double c : counts) t += c;
  if (t <= 0) return 0;
  for (double c : counts)
    if (c > 0) e -= c / t * std::log2(c / t);
  return e;
}

}  // namespace

std::vector<double> gain_ratios(const TrainSet& t) {
  check_train_set(t);
  const int64_t n = t.X.rows, d = t.X.cols;
  const int K = t.n_classes;
  std::vector<double> out(static_cast<size_t>(d), 0.0);
  for (int64_t j = 0; j < d; ++j) {
    const int cat = t.categories.empty() ? 0 : t.categories[j];
    std::vector<float> cuts;
    if (cat == 0) cuts = mdl_cuts(t.X.data + j, t.y, t.w, n, d, K);
    const int64_t bins = cat > 0 ? cat : static_cast<int64_t>(cuts.size()) + 1;
    std::vector<double> joint(static_cast<size_t>(bins * K), 0.0), cls(K, 0.0), bin(static_cast<size_t>(bins), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const float v = t.X.row(i)[j];
      if (std::isnan(v)) continue;
      const double w = t.w ? t.w[i] : 1.0;
      const int64_t b = cat > 0 ? static_cast<int64_t>(v) : std::lower_bound(cuts.begin(), cuts.end(), v) - cuts.begin();
      joint[b * K + t.y[i]] += w;
      cls[t.y[i]] += w;
      bin[b] += w;
    }
    const double total = std::accumulate(bin.begin(), bin.end(), 0.0);
    if (total <= 0) continue;
    double cond = 0;
    for (int64_t b = 0; b < bins; ++b) {
      if (bin[b] <= 0) continue;
      std::vector<double> row(joint.begin() + b * K, joint.begin() + (b + 1) * K);
      cond += bin[b] / total * entropy(row);
    }
    const double split = entropy(bin);
    out[j] = split > 1e-12 ? std::max(0.0, entropy(cls) - cond) / split : 0.0;
  }
  return out;
}

KnnModel KnnModel::fit(const TrainSet& t, const KnnOptions& o) {
  check_train_set(t);
  require_unweighted(t, "knn");
  KnnModel m;
  m.opt = o;
  m.n_classes = t.n_classes;
  m.n_ = t.X.rows;
  if (o.k > m.n_)
    throw LearnerError("knn: k = " + std::to_string(o.k) + " is more than the " + std::to_string(m.n_) + " training rows");
  m.enc = DenseEncoding::fit(t, o.standardize);
  const int64_t d = t.X.cols;
  m.feature_weight.assign(static_cast<size_t>(d), 1.0);
  if (o.metric == "gain-ratio") {
    m.feature_weight = gain_ratios(t);
    // No feature informative by this measure: plain Euclidean rather than all distances 0.
    if (*std::max_element(m.feature_weight.begin(), m.feature_weight.end()) <= 0) m.feature_weight.assign(static_cast<size_t>(d), 1.0);
    for (int64_t j = 0; j < d; ++j) m.enc.scale[j] = static_cast<float>(m.enc.scale[j] * std::sqrt(m.feature_weight[j]));
  }
  m.x_ = m.enc.encode(t.X, "knn");
  m.width_ = m.enc.width();
  m.y_.assign(t.y, t.y + m.n_);
  m.sq_.resize(static_cast<size_t>(m.n_));
  for (int64_t i = 0; i < m.n_; ++i) {
    double s = 0;
    for (int64_t c = 0; c < m.width_; ++c) s += static_cast<double>(m.x_[i * m.width_ + c]) * m.x_[i * m.width_ + c];
    m.sq_[i] = static_cast<float>(s);
  }
  return m;
}

void KnnModel::neighbours(const MatrixView& X, int kmax, std::vector<int64_t>& index, std::vector<double>& dist) const {
  if (kmax < 1 || kmax > n_)
    throw LearnerError("knn: k = " + std::to_string(kmax) + " must be in [1, " + std::to_string(n_) + "] (the training rows)");
  const std::vector<float> q = enc.encode(X, "knn");
  const int64_t m = X.rows, w = width_;
  index.assign(static_cast<size_t>(m * kmax), 0);
  dist.assign(static_cast<size_t>(m * kmax), 0.0);
  if (m == 0) return;
  // Queries per block: the block's distance matrix (block, n) stays within ~16 MB.
  const int64_t block = std::clamp<int64_t>((int64_t{4} << 20) / std::max<int64_t>(n_, 1), 1, 256);
  const int64_t nblocks = (m + block - 1) / block;
  backend::parallel_for(nblocks, m * n_ * std::max<int64_t>(w, 1), [&](int64_t b0, int64_t b1) {
    std::vector<float> D(static_cast<size_t>(block * n_));
    std::vector<int64_t> order(static_cast<size_t>(n_));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * block, rows = std::min(block, m - r0);
      const float* qb = q.data() + r0 * w;
      // D (rows, n) = −2 Q Xᵀ, then + ‖q‖² + ‖x‖²
      backend::gemm(false, true, rows, n_, w, -2.f, qb, w, x_.data(), w, 0.f, D.data(), n_);
      for (int64_t r = 0; r < rows; ++r) {
        double qs = 0;
        for (int64_t c = 0; c < w; ++c) qs += static_cast<double>(qb[r * w + c]) * qb[r * w + c];
        float* dr = D.data() + r * n_;
        for (int64_t i = 0; i < n_; ++i) dr[i] = std::max(0.f, dr[i] + static_cast<float>(qs) + sq_[i]);
        std::iota(order.begin(), order.end(), int64_t{0});
        auto closer = [dr](int64_t a, int64_t c) { return dr[a] < dr[c] || (dr[a] == dr[c] && a < c); };
        std::partial_sort(order.begin(), order.begin() + kmax, order.end(), closer);
        // Exact distances of the chosen rows, in double: the weights and the order use these.
        std::vector<std::pair<double, int64_t>> best(static_cast<size_t>(kmax));
        for (int k = 0; k < kmax; ++k) {
          const float* xi = x_.data() + order[k] * w;
          double s = 0;
          for (int64_t c = 0; c < w; ++c) {
            const double e = static_cast<double>(qb[r * w + c]) - xi[c];
            s += e * e;
          }
          best[k] = {std::sqrt(s), order[k]};
        }
        std::sort(best.begin(), best.end());
        for (int k = 0; k < kmax; ++k) {
          index[(r0 + r) * kmax + k] = best[k].second;
          dist[(r0 + r) * kmax + k] = best[k].first;
        }
      }
    }
  });
}

std::vector<Tensor> KnnModel::predict_proba_grid(const MatrixView& X, const std::vector<int>& ks) const {
  if (ks.empty()) throw LearnerError("knn: the grid of k is empty");
  const int kmax = *std::max_element(ks.begin(), ks.end());
  for (int k : ks)
    if (k < 1 || k > n_) throw LearnerError("knn: k = " + std::to_string(k) + " must be in [1, " + std::to_string(n_) + "] (the training rows)");
  std::vector<int64_t> idx;
  std::vector<double> dist;
  neighbours(X, kmax, idx, dist);
  const int K = n_classes;
  const bool by_distance = opt.weights == "distance";
  std::vector<Tensor> out;
  std::vector<double> votes(K);
  for (int k : ks) {
    Tensor p({X.rows, static_cast<int64_t>(K)}, 0.f);
    for (int64_t r = 0; r < X.rows; ++r) {
      std::fill(votes.begin(), votes.end(), 0.0);
      const int64_t* ir = idx.data() + r * kmax;
      const double* dr = dist.data() + r * kmax;
      const bool exact_match = by_distance && dr[0] == 0.0;
      double total = 0;
      for (int j = 0; j < k; ++j) {
        const double v = !by_distance ? 1.0 : exact_match ? (dr[j] == 0.0 ? 1.0 : 0.0) : 1.0 / dr[j];
        votes[y_[ir[j]]] += v;
        total += v;
      }
      for (int c = 0; c < K; ++c) p[r * K + c] = static_cast<float>(votes[c] / total);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Tensor KnnModel::predict_proba(const MatrixView& X) const { return predict_proba_grid(X, {opt.k})[0]; }

void KnnModel::validate() const {
  auto bad = [](const std::string& what) { throw LearnerError("corrupt model: knn " + what); };
  enc.validate("knn");
  if (n_ < 1 || n_classes < 2 || width_ != enc.width()) bad("sizes");
  if (static_cast<int64_t>(x_.size()) != n_ * width_ || static_cast<int64_t>(y_.size()) != n_ ||
      static_cast<int64_t>(sq_.size()) != n_ || static_cast<int64_t>(feature_weight.size()) != enc.n_features())
    bad("array sizes disagree");
  if (opt.k > n_) bad("k = " + std::to_string(opt.k) + " is more than its " + std::to_string(n_) + " rows");
  for (float v : x_)
    if (!std::isfinite(v)) bad("training value is not finite");
  for (int32_t c : y_)
    if (c < 0 || c >= n_classes) bad("label out of range");
  for (double v : feature_weight)
    if (!(v >= 0 && v <= 1)) bad("feature weight out of [0, 1]");
}

void KnnModel::save(json& meta, FlatArrays& arrays) const {
  meta["rows"] = n_;
  meta["shift"] = enc.shift;
  meta["scale"] = enc.scale;
  meta["feature_weight"] = feature_weight;
  arrays.emplace_back("knn_x", Tensor({n_, width_}, x_));
  std::vector<float> y(y_.begin(), y_.end());
  arrays.emplace_back("knn_y", Tensor({n_}, y));
}

KnnModel KnnModel::load(const json& meta, const FlatArrays& arrays, const KnnOptions& o, int d, int K,
                        const std::vector<int>& categories) {
  KnnModel m;
  m.opt = o;
  m.n_classes = K;
  m.enc.categories = categories;
  try {
    m.n_ = meta.at("rows").get<int64_t>();
    m.enc.shift = meta.at("shift").get<std::vector<float>>();
    m.enc.scale = meta.at("scale").get<std::vector<float>>();
    m.feature_weight = meta.at("feature_weight").get<std::vector<double>>();
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: knn: ") + e.what());
  }
  m.enc.validate("knn");
  m.width_ = m.enc.width();
  const Tensor& x = stored_array(arrays, "knn_x");
  const Tensor& y = stored_array(arrays, "knn_y");
  if (x.numel() != m.n_ * m.width_ || y.numel() != m.n_) throw LearnerError("corrupt model: knn arrays have the wrong size");
  m.x_ = x.to_vector();
  m.y_.resize(static_cast<size_t>(m.n_));
  for (int64_t i = 0; i < m.n_; ++i) {
    const float v = y[i];
    if (!(v >= 0 && v < K && v == std::floor(v))) throw LearnerError("corrupt model: knn label out of range");
    m.y_[i] = static_cast<int32_t>(v);
  }
  m.sq_.resize(static_cast<size_t>(m.n_));
  for (int64_t i = 0; i < m.n_; ++i) {
    double s = 0;
    for (int64_t c = 0; c < m.width_; ++c) s += static_cast<double>(m.x_[i * m.width_ + c]) * m.x_[i * m.width_ + c];
    m.sq_[i] = static_cast<float>(s);
  }
  (void)d;
  m.validate();
  return m;
}

// ---------------------------------------------------------------------------------------------

json knn_default_options() { return {{"k", 5}, {"weights", "uniform"}, {"metric", "euclidean"}, {"standardize", true}}; }

namespace {

class KnnLearner : public ModelLearner<KnnModel, KnnOptions> {
 public:
  explicit KnnLearner(json o) : ModelLearner("knn", std::move(o)) {
    opt_.k = option_int(o_, "k", 1, 1 << 30, "knn");
    opt_.weights = option_choice(o_, "weights", {"uniform", "distance"}, "knn");
    opt_.metric = option_choice(o_, "metric", {"euclidean", "gain-ratio"}, "knn");
    opt_.standardize = o_.at("standardize").get<bool>();
  }
  json summary() const override {
    need();
    return {{"rows", m_.rows()}, {"k", opt_.k}, {"weights", opt_.weights}, {"metric", opt_.metric}};
  }
  Stored save() const override {
    need();
    Stored s{stored_meta("knn", o_, static_cast<int>(m_.enc.n_features()), m_.n_classes, m_.enc.categories), {}};
    m_.save(s.meta, s.arrays);
    return s;
  }
  void load(const json& meta, const FlatArrays& a) {
    const StoredShape c = read_stored_meta(meta);
    set_model(KnnModel::load(meta, a, opt_, c.n_features, c.n_classes, c.categories));
  }
};

}  // namespace

std::vector<Tensor> knn_predict_proba_grid(const Learner& knn, const MatrixView& X, const std::vector<int>& ks) {
  const auto* l = dynamic_cast<const KnnLearner*>(&knn);
  if (!l) throw LearnerError("knn_predict_proba_grid: the learner is a " + knn.kind() + ", not a knn");
  return l->model().predict_proba_grid(X, ks);
}

std::unique_ptr<Learner> make_knn_learner(json options) { return std::make_unique<KnnLearner>(std::move(options)); }

std::unique_ptr<Learner> load_knn_learner(const json& meta, const FlatArrays& arrays) {
  return load_model_learner<KnnLearner>("knn", meta, arrays);
}

}  // namespace bp::learners
