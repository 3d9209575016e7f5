#include "backprop/learners/naive_bayes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "backprop/learners/dense_features.hpp"

namespace bp::learners {

namespace {

using json = nlohmann::json;
constexpr double kLog2Pi = 1.8378770664093453;  // log(2π)

double entropy_bits(const double* counts, int K, double total) {
  if (total <= 0) return 0;
  double e = 0;
  for (int c = 0; c < K; ++c)
    if (counts[c] > 0) {
      const double p = counts[c] / total;
      e -= p * std::log2(p);
    }
  return e;
}

int present(const double* counts, int K) {
  int k = 0;
  for (int c = 0; c < K; ++c) k += counts[c] > 0;
  return k;
}

struct Point {
  float x;
  int32_t y;
  double w;
};

// Fayyad–Irani on the sorted points [lo, hi): appends the accepted cuts in ascending order.
void mdl_split(const std::vector<Point>& p, size_t lo, size_t hi, int K, std::vector<float>& cuts) {
  std::vector<double> total(K, 0.0), left(K, 0.0), best_left;
  for (size_t i = lo; i < hi; ++i) total[p[i].y] += p[i].w;
  const double N = std::accumulate(total.begin(), total.end(), 0.0);
  const double es = entropy_bits(total.data(), K, N);
  double best = std::numeric_limits<double>::infinity(), wl_best = 0;
  size_t at = 0;
  double wl = 0;
  std::vector<double> right(K);
  for (size_t i = lo + 1; i < hi; ++i) {
    left[p[i - 1].y] += p[i - 1].w;
    wl += p[i - 1].w;
    if (!(p[i - 1].x < p[i].x)) continue;  // a cut only between distinct values
    for (int c = 0; c < K; ++c) right[c] = total[c] - left[c];
    const double wr = N - wl;
    const double e = (wl * entropy_bits(left.data(), K, wl) + wr * entropy_bits(right.data(), K, wr)) / N;
    if (e < best) best = e, at = i, best_left = left, wl_best = wl;  // ties: the leftmost cut
  }
  if (at == 0 || N <= 1) return;
  for (int c = 0; c < K; ++c) right[c] = total[c] - best_left[c];
  const double e1 = entropy_bits(best_left.data(), K, wl_best), e2 = entropy_bits(right.data(), K, N - wl_best);
  const int k = present(total.data(), K), k1 = present(best_left.data(), K), k2 = present(right.data(), K);
  const double gain = es - best;
  const double delta = std::log2(std::pow(3.0, k) - 2) - (k * es - k1 * e1 - k2 * e2);
  if (!(gain > (std::log2(N - 1) + delta) / N)) return;
  mdl_split(p, lo, at, K, cuts);
  const double mid = 0.5 * (static_cast<double>(p[at - 1].x) + p[at].x);
  float cut = static_cast<float>(mid);
  if (!(cut < p[at].x)) cut = p[at - 1].x;  // rounding: keep x[at−1] ≤ cut < x[at]
  cuts.push_back(cut);
  mdl_split(p, at, hi, K, cuts);
}

int64_t interval(const std::vector<float>& cuts, float x) {
  return std::lower_bound(cuts.begin(), cuts.end(), x) - cuts.begin();  // #cuts < x
}

double logsumexp(const double* v, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  if (!std::isfinite(m)) return m;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(v[i] - m);
  return m + std::log(s);
}

template <class T>
std::vector<T> vec(const json& meta, const char* key) {
  try {
    return meta.at(key).get<std::vector<T>>();
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: naive-bayes '") + key + "': " + e.what());
  }
}

}  // namespace

std::vector<float> mdl_cuts(const float* x, const int32_t* y, const float* w, int64_t n, int64_t stride, int n_classes) {
  std::vector<Point> p;
  p.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i * stride];
    if (std::isnan(v)) continue;
    const double wi = w ? w[i] : 1.0;
    if (wi <= 0) continue;
    p.push_back({v, y[i], wi});
  }
  std::stable_sort(p.begin(), p.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  std::vector<float> cuts;
  if (p.size() >= 2) mdl_split(p, 0, p.size(), n_classes, cuts);
  return cuts;
}

NaiveBayesModel NaiveBayesModel::fit(const TrainSet& t, const NaiveBayesOptions& o) {
  check_train_set(t);
  NaiveBayesModel m;
  const int64_t n = t.X.rows, d = t.X.cols;
  const int K = t.n_classes;
  m.n_features = static_cast<int>(d);
  m.n_classes = K;
  m.categories = t.categories.empty() ? std::vector<int>(static_cast<size_t>(d), 0) : t.categories;
  m.opt = o;
  auto wt = [&](int64_t i) { return t.w ? static_cast<double>(t.w[i]) : 1.0; };
  std::vector<double> cw(K, 0.0);
  for (int64_t i = 0; i < n; ++i) cw[t.y[i]] += wt(i);
  const double W = std::accumulate(cw.begin(), cw.end(), 0.0);
  m.log_prior.resize(K);
  for (int c = 0; c < K; ++c) m.log_prior[c] = cw[c] > 0 ? std::log(cw[c] / W) : -std::numeric_limits<double>::infinity();

  const bool gaussian = o.numeric == "gaussian", kernel = o.numeric == "kernel";
  m.mean.assign(static_cast<size_t>(d * K), 0.0);
  m.var.assign(static_cast<size_t>(d * K), 1.0);
  m.cuts.assign(static_cast<size_t>(d), {});
  m.offset.assign(static_cast<size_t>(d + 1), 0);
  m.kde_offset.assign(static_cast<size_t>(d * K + 1), 0);
  m.kde_sd.assign(static_cast<size_t>(d * K), 1.0);
  // Bins of the counted features: categories, or the intervals of the MDL cuts.
  for (int64_t j = 0; j < d; ++j) {
    int64_t bins = 0;
    if (m.categories[j] > 0) bins = m.categories[j];
    else if (!gaussian && !kernel) {
      m.cuts[j] = mdl_cuts(t.X.data + j, t.y, t.w, n, d, K);
      bins = static_cast<int64_t>(m.cuts[j].size()) + 1;
    }
    m.offset[j + 1] = m.offset[j] + bins;
  }
  m.log_prob.assign(static_cast<size_t>(m.offset[d] * K), 0.0);
  double max_var = 0;
  for (int64_t j = 0; j < d; ++j) {
    const int cat = m.categories[j];
    const bool counted = cat > 0 || (!gaussian && !kernel);
    if (counted) {
      const int64_t bins = m.offset[j + 1] - m.offset[j];
      std::vector<double> cnt(static_cast<size_t>(bins * K), 0.0), tot(K, 0.0);
      for (int64_t i = 0; i < n; ++i) {
        const float v = t.X.row(i)[j];
        if (std::isnan(v)) continue;
        const int64_t b = cat > 0 ? static_cast<int64_t>(v) : interval(m.cuts[j], v);
        cnt[b * K + t.y[i]] += wt(i);
        tot[t.y[i]] += wt(i);
      }
      for (int64_t b = 0; b < bins; ++b)
        for (int c = 0; c < K; ++c)
          m.log_prob[(m.offset[j] + b) * K + c] = std::log((cnt[b * K + c] + o.alpha) / (tot[c] + o.alpha * static_cast<double>(bins)));
      continue;
    }
    if (gaussian) {
      // Two passes per class (mean, then centred squares), as numpy's var.
      std::vector<double> s(K, 0.0), sw(K, 0.0), ss(K, 0.0);
      double as = 0, aw = 0, ass = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double v = t.X.row(i)[j];
        if (std::isnan(v)) continue;
        s[t.y[i]] += wt(i) * v;
        sw[t.y[i]] += wt(i);
        as += wt(i) * v;
        aw += wt(i);
      }
      const double amean = aw > 0 ? as / aw : 0;
      for (int c = 0; c < K; ++c) m.mean[j * K + c] = sw[c] > 0 ? s[c] / sw[c] : amean;
      for (int64_t i = 0; i < n; ++i) {
        const double v = t.X.row(i)[j];
        if (std::isnan(v)) continue;
        const double e = v - m.mean[j * K + t.y[i]];
        ss[t.y[i]] += wt(i) * e * e;
        ass += wt(i) * (v - amean) * (v - amean);
      }
      const double avar = aw > 0 ? ass / aw : 0;
      max_var = std::max(max_var, avar);
      for (int c = 0; c < K; ++c) m.var[j * K + c] = sw[c] > 0 ? ss[c] / sw[c] : avar;
      continue;
    }
    // kernel: the distinct values of each class with their weights
    std::vector<std::pair<float, double>> all;
    for (int64_t i = 0; i < n; ++i) {
      const float v = t.X.row(i)[j];
      if (!std::isnan(v) && wt(i) > 0) all.push_back({v, wt(i)});
    }
    std::vector<float> distinct;
    for (const auto& pr : all) distinct.push_back(pr.first);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    // Weka's precision: the mean gap between adjacent distinct values (0.01 with fewer than two).
    const double precision =
        distinct.size() >= 2 ? (static_cast<double>(distinct.back()) - distinct.front()) / static_cast<double>(distinct.size() - 1) : 0.01;
    for (int c = 0; c < K; ++c) {
      std::vector<std::pair<float, double>> vals;
      for (int64_t i = 0; i < n; ++i) {
        const float v = t.X.row(i)[j];
        if (!std::isnan(v) && t.y[i] == c && wt(i) > 0) vals.push_back({v, wt(i)});
      }
      std::sort(vals.begin(), vals.end());
      double wc = 0;
      const size_t start = m.kde_value.size();
      for (const auto& [v, w] : vals) {
        wc += w;
        if (m.kde_value.size() > start && m.kde_value.back() == v) m.kde_weight.back() += static_cast<float>(w);
        else m.kde_value.push_back(v), m.kde_weight.push_back(static_cast<float>(w));
      }
      const double range = vals.empty() ? 0 : static_cast<double>(vals.back().first) - vals.front().first;
      m.kde_sd[j * K + c] = std::max(wc > 0 ? range / std::sqrt(wc) : 0.0, precision / 6);
      m.kde_offset[j * K + c + 1] = static_cast<int64_t>(m.kde_value.size());
    }
  }
  // Fill the offsets of features with no kernel block (categorical ones, or other modes).
  for (size_t i = 1; i < m.kde_offset.size(); ++i) m.kde_offset[i] = std::max(m.kde_offset[i], m.kde_offset[i - 1]);
  if (gaussian) {
    // scikit-learn: epsilon = var_smoothing × the largest feature variance; when every feature is
    // constant that is 0, and var_smoothing itself is used, so that no variance is 0.
    const double eps = o.var_smoothing * (max_var > 0 ? max_var : 1.0);
    for (int64_t j = 0; j < d; ++j)
      if (m.categories[j] == 0)
        for (int c = 0; c < K; ++c) m.var[j * K + c] += eps;
  }
  m.validate();
  return m;
}

std::vector<double> NaiveBayesModel::joint_log(const MatrixView& X) const {
  if (X.cols != n_features)
    throw LearnerError("naive-bayes: the data has " + std::to_string(X.cols) + " features, the model " + std::to_string(n_features));
  const int K = n_classes;
  const bool gaussian = opt.numeric == "gaussian", kernel = opt.numeric == "kernel";
  std::vector<double> out(static_cast<size_t>(X.rows * K));
  std::vector<double> terms;
  for (int64_t i = 0; i < X.rows; ++i) {
    const float* x = X.row(i);
    double* o = out.data() + i * K;
    for (int c = 0; c < K; ++c) o[c] = log_prior[c];
    for (int64_t j = 0; j < n_features; ++j) {
      const float v = x[j];
      if (std::isnan(v)) continue;
      const int cat = categories[j];
      if (cat > 0 || (!gaussian && !kernel)) {
        int64_t b = 0;
        if (cat > 0) {
          if (!(v >= 0 && v < cat && v == std::floor(v))) continue;  // an unknown category: no evidence
          b = static_cast<int64_t>(v);
        } else {
          b = interval(cuts[j], v);
        }
        const double* lp = log_prob.data() + (offset[j] + b) * K;
        for (int c = 0; c < K; ++c) o[c] += lp[c];
      } else if (gaussian) {
        for (int c = 0; c < K; ++c) {
          const double s2 = var[j * K + c], e = v - mean[j * K + c];
          o[c] += -0.5 * (kLog2Pi + std::log(s2)) - 0.5 * e * e / s2;
        }
      } else {
        for (int c = 0; c < K; ++c) {
          const int64_t a = kde_offset[j * K + c], b = kde_offset[j * K + c + 1];
          if (a == b) continue;  // no value of this feature in this class
          const double sd = kde_sd[j * K + c];
          double wsum = 0;
          terms.resize(static_cast<size_t>(b - a));
          for (int64_t q = a; q < b; ++q) {
            const double z = (v - kde_value[q]) / sd;
            terms[q - a] = std::log(static_cast<double>(kde_weight[q])) - 0.5 * z * z;
            wsum += kde_weight[q];
          }
          o[c] += logsumexp(terms.data(), b - a) - std::log(wsum * sd) - 0.5 * kLog2Pi;
        }
      }
    }
  }
  return out;
}

Tensor NaiveBayesModel::predict_proba(const MatrixView& X) const {
  const std::vector<double> jl = joint_log(X);
  const int K = n_classes;
  Tensor p({X.rows, static_cast<int64_t>(K)});
  for (int64_t i = 0; i < X.rows; ++i) {
    const double z = logsumexp(jl.data() + i * K, K);
    for (int c = 0; c < K; ++c) p[i * K + c] = static_cast<float>(std::exp(jl[i * K + c] - z));
  }
  return p;
}

void NaiveBayesModel::validate() const {
  const int64_t d = n_features, K = n_classes;
  auto bad = [](const std::string& what) { throw LearnerError("corrupt model: naive-bayes " + what); };
  if (d < 1 || K < 2 || static_cast<int64_t>(categories.size()) != d) bad("sizes");
  if (static_cast<int64_t>(log_prior.size()) != K || static_cast<int64_t>(mean.size()) != d * K ||
      static_cast<int64_t>(var.size()) != d * K || static_cast<int64_t>(cuts.size()) != d ||
      static_cast<int64_t>(offset.size()) != d + 1 || static_cast<int64_t>(kde_offset.size()) != d * K + 1 ||
      static_cast<int64_t>(kde_sd.size()) != d * K || kde_value.size() != kde_weight.size())
    bad("array sizes disagree");
  bool any_class = false;
  for (double lp : log_prior) {
    if (std::isnan(lp) || lp > 1e-9) bad("class prior is not a probability");
    any_class |= std::isfinite(lp);
  }
  if (!any_class) bad("has no class with a positive prior");
  for (int64_t i = 0; i < d * K; ++i)
    if (!std::isfinite(mean[i]) || !std::isfinite(var[i]) || !(var[i] > 0) || !std::isfinite(kde_sd[i]) || !(kde_sd[i] > 0))
      bad("mean, variance or bandwidth is not finite and positive");
  if (offset[0] != 0 || kde_offset[0] != 0) bad("offsets do not start at 0");
  const bool counted_numeric = opt.numeric == "discretize";
  for (int64_t j = 0; j < d; ++j) {
    const int64_t bins = offset[j + 1] - offset[j];
    const int64_t want = categories[j] > 0 ? categories[j] : counted_numeric ? static_cast<int64_t>(cuts[j].size()) + 1 : 0;
    if (categories[j] < 0 || bins != want) bad("bins of feature " + std::to_string(j) + " disagree with its kind or cuts");
    for (size_t q = 0; q < cuts[j].size(); ++q)
      if (!std::isfinite(cuts[j][q]) || (q > 0 && !(cuts[j][q - 1] < cuts[j][q]))) bad("cuts are not finite and ascending");
  }
  if (static_cast<int64_t>(log_prob.size()) != offset[d] * K) bad("log_prob has the wrong size");
  for (double v : log_prob)
    if (!std::isfinite(v) || v > 1e-9) bad("log probability is not finite and <= 0");
  for (size_t i = 1; i < kde_offset.size(); ++i)
    if (kde_offset[i] < kde_offset[i - 1]) bad("kernel offsets decrease");
  if (kde_offset.back() != static_cast<int64_t>(kde_value.size())) bad("kernel offsets do not cover the values");
  for (size_t q = 0; q < kde_value.size(); ++q)
    if (!std::isfinite(kde_value[q]) || !(kde_weight[q] > 0) || !std::isfinite(kde_weight[q])) bad("kernel values or weights");
}

void NaiveBayesModel::save(json& meta, FlatArrays& arrays) const {
  std::vector<double> prior(log_prior.size());
  for (size_t c = 0; c < prior.size(); ++c) prior[c] = std::exp(log_prior[c]);  // JSON has no −∞
  meta["class_prior"] = prior;
  meta["mean"] = mean;
  meta["var"] = var;
  meta["cuts"] = cuts;
  meta["offset"] = offset;
  meta["log_prob"] = log_prob;
  meta["kde_offset"] = kde_offset;
  meta["kde_sd"] = kde_sd;
  arrays.emplace_back("nb_kde_value", Tensor({static_cast<int64_t>(kde_value.size())}, kde_value));
  arrays.emplace_back("nb_kde_weight", Tensor({static_cast<int64_t>(kde_weight.size())}, kde_weight));
}

NaiveBayesModel NaiveBayesModel::load(const json& meta, const FlatArrays& arrays, const NaiveBayesOptions& o, int d, int K,
                                      const std::vector<int>& categories) {
  NaiveBayesModel m;
  m.n_features = d;
  m.n_classes = K;
  m.categories = categories;
  m.opt = o;
  const auto prior = vec<double>(meta, "class_prior");
  m.log_prior.resize(prior.size());
  for (size_t c = 0; c < prior.size(); ++c) {
    if (!(prior[c] >= 0 && prior[c] <= 1)) throw LearnerError("corrupt model: naive-bayes class prior out of [0, 1]");
    m.log_prior[c] = prior[c] > 0 ? std::log(prior[c]) : -std::numeric_limits<double>::infinity();
  }
  m.mean = vec<double>(meta, "mean");
  m.var = vec<double>(meta, "var");
  try {
    m.cuts = meta.at("cuts").get<std::vector<std::vector<float>>>();
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: naive-bayes 'cuts': ") + e.what());
  }
  m.offset = vec<int64_t>(meta, "offset");
  m.log_prob = vec<double>(meta, "log_prob");
  m.kde_offset = vec<int64_t>(meta, "kde_offset");
  m.kde_sd = vec<double>(meta, "kde_sd");
  m.kde_value = stored_array(arrays, "nb_kde_value").to_vector();
  m.kde_weight = stored_array(arrays, "nb_kde_weight").to_vector();
  m.validate();
  return m;
}

// ---------------------------------------------------------------------------------------------

json naive_bayes_default_options() { return {{"numeric", "gaussian"}, {"alpha", 1.0}, {"var_smoothing", 1e-9}}; }

namespace {

class NaiveBayesLearner : public ModelLearner<NaiveBayesModel, NaiveBayesOptions> {
 public:
  explicit NaiveBayesLearner(json o) : ModelLearner("naive-bayes", std::move(o)) {
    opt_.numeric = option_choice(o_, "numeric", {"gaussian", "kernel", "discretize"}, "naive-bayes");
    opt_.alpha = option_num(o_, "alpha", 1e-10, 1e10, "naive-bayes");
    opt_.var_smoothing = option_num(o_, "var_smoothing", 0, 1, "naive-bayes");
  }
  // The log-odds z = log P(1|x) − log P(0|x), compressed as sign(z)·ln(1 + |z|): monotone in
  // P(class 1) without its float saturation at 0 and 1 (naive Bayes' probabilities are extreme),
  // and bounded enough for Platt's fit: a one-hot column constant within a class gets a variance
  // of var_smoothing only, and |z| reaches 1e8 (Adult), where a sigmoid of z itself fits a slope
  // of ~1e-9 and calls every row negative.
  Tensor decision_function(const MatrixView& X) const override {
    need();
    if (m_.n_classes != 2) throw LearnerError("naive-bayes: a decision function is defined for two classes only");
    const std::vector<double> jl = m_.joint_log(X);
    Tensor s({X.rows});
    for (int64_t i = 0; i < X.rows; ++i) {
      const double z = std::clamp(jl[2 * i + 1] - jl[2 * i], -1e300, 1e300);
      s[i] = static_cast<float>(std::copysign(std::log1p(std::fabs(z)), z));
    }
    return s;
  }
  json summary() const override {
    need();
    int64_t cuts = 0;
    for (const auto& c : m_.cuts) cuts += static_cast<int64_t>(c.size());
    json s = {{"numeric", opt_.numeric}, {"features", m_.n_features}};
    if (opt_.numeric == "discretize") s["cuts"] = cuts;
    return s;
  }
  Stored save() const override {
    need();
    Stored s{stored_meta("naive-bayes", o_, m_.n_features, m_.n_classes, m_.categories), {}};
    m_.save(s.meta, s.arrays);
    return s;
  }
  void load(const json& meta, const FlatArrays& a) {
    const StoredShape c = read_stored_meta(meta);
    set_model(NaiveBayesModel::load(meta, a, opt_, c.n_features, c.n_classes, c.categories));
  }
};

}  // namespace

std::unique_ptr<Learner> make_naive_bayes_learner(json options) { return std::make_unique<NaiveBayesLearner>(std::move(options)); }

std::unique_ptr<Learner> load_naive_bayes_learner(const json& meta, const FlatArrays& arrays) {
  return load_model_learner<NaiveBayesLearner>("naive-bayes", meta, arrays);
}

}  // namespace bp::learners
