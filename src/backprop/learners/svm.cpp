#include "backprop/learners/svm.hpp"

#include <libsvm/svm.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "backprop/backend/backend.hpp"

namespace bp::learners {

namespace {

using json = nlohmann::json;

void quiet(const char*) {}

int kernel_code(const std::string& k) { return k == "linear" ? LINEAR : k == "poly" ? POLY : RBF; }

svm_parameter parameters(const SvmOptions& o, double gamma) {
  svm_parameter p{};
  p.svm_type = C_SVC;
  p.kernel_type = kernel_code(o.kernel);
  p.degree = o.degree;
  p.gamma = gamma;
  p.coef0 = o.coef0;
  p.cache_size = o.cache_mb;
  p.eps = o.tolerance;
  p.C = o.C;
  p.nr_weight = 0;
  p.shrinking = 1;
  p.probability = 0;
  return p;
}

// libsvm's sparse rows (zeros left out, 1-based indices, index −1 ends a row) over one buffer.
struct SparseRows {
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  SparseRows(const float* x, int64_t n, int64_t w) {
    std::vector<size_t> start;
    for (int64_t i = 0; i < n; ++i) {
      start.push_back(nodes.size());
      for (int64_t c = 0; c < w; ++c)
        if (x[i * w + c] != 0.f) nodes.push_back({static_cast<int>(c + 1), static_cast<double>(x[i * w + c])});
      nodes.push_back({-1, 0.0});
    }
    for (size_t s : start) rows.push_back(nodes.data() + s);
  }
};

// libsvm's global state (its print function and rand()) is shared by every fit.
std::mutex& libsvm_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string libsvm_version_string() { return std::to_string(libsvm_version / 100) + "." + std::to_string(libsvm_version % 100); }

SvmModel SvmModel::fit(const TrainSet& t, const SvmOptions& o) {
  check_train_set(t);
  require_unweighted(t, "svm");
  if (t.n_classes != 2)
    throw LearnerError("svm: two classes only (this training set has " + std::to_string(t.n_classes) +
                       "); for more, train one model per class");
  int64_t ones = 0;
  for (int64_t i = 0; i < t.X.rows; ++i) ones += t.y[i] == 1;
  if (ones == 0 || ones == t.X.rows) throw LearnerError("svm: the training set has one class only");
  SvmModel m;
  m.opt = o;
  m.enc = DenseEncoding::fit(t, false);
  const int64_t n = t.X.rows, w = m.enc.width();
  const std::vector<float> x = m.enc.encode(t.X, "svm");
  m.gamma = o.gamma > 0 ? o.gamma : 1.0 / static_cast<double>(w);
  SparseRows rows(x.data(), n, w);
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[i] = t.y[i];
  svm_problem prob{static_cast<int>(n), y.data(), rows.rows.data()};
  const svm_parameter param = parameters(o, m.gamma);
  if (const char* err = svm_check_parameter(&prob, &param)) throw LearnerError(std::string("svm: libsvm refuses the parameters: ") + err);
  svm_model* model = nullptr;
  {
    std::lock_guard<std::mutex> lock(libsvm_mutex());
    svm_set_print_string_function(&quiet);
    std::srand(static_cast<unsigned>(o.seed));
    model = svm_train(&prob, &param);
  }
  if (!model || model->nr_class != 2) {
    if (model) svm_free_and_destroy_model(&model);
    throw LearnerError("svm: libsvm did not return a two-class model");
  }
  // libsvm's f is positive for its label[0], the class of the first training row.
  const double sign = model->label[0] == 1 ? 1.0 : -1.0;
  const int64_t l = model->l;
  m.sv.assign(static_cast<size_t>(l * w), 0.f);
  m.coef.resize(static_cast<size_t>(l));
  for (int64_t i = 0; i < l; ++i) {
    for (const svm_node* p = model->SV[i]; p->index != -1; ++p) m.sv[i * w + (p->index - 1)] = static_cast<float>(p->value);
    m.coef[i] = sign * model->sv_coef[0][i];
  }
  m.rho = sign * model->rho[0];
  svm_free_and_destroy_model(&model);
  m.prepare();
  const std::vector<double> f = m.decision(t.X);
  m.score_min = *std::min_element(f.begin(), f.end());
  m.score_max = *std::max_element(f.begin(), f.end());
  m.validate();
  return m;
}

void SvmModel::prepare() {
  width_ = enc.width();
  const int64_t l = n_sv();
  w_.assign(static_cast<size_t>(width_), 0.0);
  sv_sq_.assign(static_cast<size_t>(l), 0.f);
  for (int64_t i = 0; i < l; ++i) {
    double s = 0;
    for (int64_t c = 0; c < width_; ++c) {
      const double v = sv[i * width_ + c];
      w_[c] += coef[i] * v;
      s += v * v;
    }
    sv_sq_[i] = static_cast<float>(s);
  }
}

std::vector<double> SvmModel::decision(const MatrixView& X) const {
  const std::vector<float> q = enc.encode(X, "svm");
  const int64_t m = X.rows, w = width_, l = n_sv();
  std::vector<double> f(static_cast<size_t>(m), 0.0);
  if (m == 0) return f;
  if (opt.kernel == "linear") {
    for (int64_t r = 0; r < m; ++r) {
      double s = 0;
      for (int64_t c = 0; c < w; ++c) s += w_[c] * q[r * w + c];
      f[r] = s - rho;
    }
    return f;
  }
  const int64_t block = std::clamp<int64_t>((int64_t{4} << 20) / std::max<int64_t>(l, 1), 1, 256);
  const int64_t nblocks = (m + block - 1) / block;
  const bool rbf = opt.kernel == "rbf";
  backend::parallel_for(nblocks, m * l * std::max<int64_t>(w, 1), [&](int64_t b0, int64_t b1) {
    std::vector<float> G(static_cast<size_t>(block * l));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * block, rows = std::min(block, m - r0);
      const float* qb = q.data() + r0 * w;
      backend::gemm(false, true, rows, l, w, 1.f, qb, w, sv.data(), w, 0.f, G.data(), l);  // (rows, l) u·v
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = G.data() + r * l;
        double s = 0;
        if (rbf) {
          double qs = 0;
          for (int64_t c = 0; c < w; ++c) qs += static_cast<double>(qb[r * w + c]) * qb[r * w + c];
          for (int64_t i = 0; i < l; ++i) s += coef[i] * std::exp(-gamma * std::max(0.0, qs + sv_sq_[i] - 2.0 * g[i]));
        } else {
          for (int64_t i = 0; i < l; ++i) s += coef[i] * std::pow(gamma * g[i] + opt.coef0, opt.degree);
        }
        f[r0 + r] = s - rho;
      }
    }
  });
  return f;
}

std::vector<double> SvmModel::decision_libsvm(const MatrixView& X) const {
  const int64_t l = n_sv(), w = width_;
  SparseRows svs(sv.data(), l, w);
  std::vector<double> coef_copy = coef;
  double* sv_coef[1] = {coef_copy.data()};
  double rho_copy[1] = {rho};
  int label[2] = {1, 0}, nsv[2] = {static_cast<int>(l), 0};
  svm_model model{};
  model.param = parameters(opt, gamma);
  model.nr_class = 2;
  model.l = static_cast<int>(l);
  model.SV = svs.rows.data();
  model.sv_coef = sv_coef;
  model.rho = rho_copy;
  model.label = label;
  model.nSV = nsv;
  model.free_sv = 0;
  const std::vector<float> q = enc.encode(X, "svm");
  SparseRows rows(q.data(), X.rows, w);
  std::vector<double> f(static_cast<size_t>(X.rows));
  for (int64_t r = 0; r < X.rows; ++r) svm_predict_values(&model, rows.rows[r], &f[r]);
  return f;
}

Tensor SvmModel::predict_proba(const MatrixView& X) const {
  const std::vector<double> f = decision(X);
  Tensor p({X.rows, 2});
  const double span = score_max - score_min;
  for (int64_t r = 0; r < X.rows; ++r) {
    const double p1 = span > 0 ? std::clamp((f[r] - score_min) / span, 0.0, 1.0) : 0.5;
    p[r * 2] = static_cast<float>(1 - p1);
    p[r * 2 + 1] = static_cast<float>(p1);
  }
  return p;
}

void SvmModel::validate() const {
  auto bad = [](const std::string& what) { throw LearnerError("corrupt model: svm " + what); };
  enc.validate("svm");
  if (static_cast<int64_t>(sv.size()) != n_sv() * enc.width()) bad("support vectors and coefficients disagree in number");
  if (n_sv() < 1) bad("has no support vector");
  for (float v : sv)
    if (!std::isfinite(v)) bad("support vector value is not finite");
  for (double c : coef)
    if (!std::isfinite(c)) bad("coefficient is not finite");
  if (!std::isfinite(rho) || !std::isfinite(score_min) || !std::isfinite(score_max) || score_min > score_max)
    bad("rho or score range is not finite");
  if (!(gamma > 0) || !std::isfinite(gamma)) bad("gamma is not positive");
}

void SvmModel::save(json& meta, FlatArrays& arrays) const {
  meta["libsvm_version"] = libsvm_version_string();
  meta["support_vectors"] = n_sv();
  meta["gamma_used"] = gamma;
  meta["rho"] = rho;
  meta["coef"] = coef;  // double, in the JSON: float32 would round the decision values
  meta["score_min"] = score_min;
  meta["score_max"] = score_max;
  arrays.emplace_back("svm_sv", Tensor({n_sv(), enc.width()}, sv));
}

SvmModel SvmModel::load(const json& meta, const FlatArrays& arrays, const SvmOptions& o, int d, const std::vector<int>& categories) {
  SvmModel m;
  m.opt = o;
  m.enc.categories = categories;
  m.enc.shift.assign(static_cast<size_t>(d), 0.f);
  m.enc.scale.assign(static_cast<size_t>(d), 1.f);
  int64_t l = 0;
  try {
    l = meta.at("support_vectors").get<int64_t>();
    m.gamma = meta.at("gamma_used").get<double>();
    m.rho = meta.at("rho").get<double>();
    m.coef = meta.at("coef").get<std::vector<double>>();
    m.score_min = meta.at("score_min").get<double>();
    m.score_max = meta.at("score_max").get<double>();
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: svm: ") + e.what());
  }
  if (l < 1 || static_cast<int64_t>(m.coef.size()) != l) throw LearnerError("corrupt model: svm: one coefficient per support vector expected");
  const Tensor& s = stored_array(arrays, "svm_sv");
  if (s.numel() != l * m.enc.width()) throw LearnerError("corrupt model: svm: 'svm_sv' has the wrong size");
  m.sv = s.to_vector();
  m.validate();
  m.prepare();
  return m;
}

// ---------------------------------------------------------------------------------------------

json svm_default_options() {
  return {{"kernel", "rbf"}, {"degree", 3}, {"C", 1.0}, {"gamma", 0.0}, {"coef0", 0.0},
          {"tolerance", 1e-3}, {"cache_mb", 200.0}, {"seed", 1}};
}

namespace {

class SvmLearner : public ModelLearner<SvmModel, SvmOptions> {
 public:
  explicit SvmLearner(json o) : ModelLearner("svm", std::move(o)) {
    opt_.kernel = option_choice(o_, "kernel", {"linear", "poly", "rbf"}, "svm");
    opt_.degree = option_int(o_, "degree", 1, 10, "svm");
    opt_.C = option_num(o_, "C", 1e-12, 1e12, "svm");
    opt_.gamma = option_num(o_, "gamma", 0, 1e12, "svm");
    opt_.coef0 = option_num(o_, "coef0", -1e12, 1e12, "svm");
    opt_.tolerance = option_num(o_, "tolerance", 1e-12, 1, "svm");
    opt_.cache_mb = option_num(o_, "cache_mb", 1, 1 << 20, "svm");
    const json& s = o_.at("seed");
    if (!s.is_number_unsigned() && !(s.is_number_integer() && s.get<int64_t>() >= 0))
      throw LearnerError("svm: option 'seed' must be a non-negative integer");
    opt_.seed = s.get<uint64_t>();
  }
  Tensor decision_function(const MatrixView& X) const override {
    need();
    const std::vector<double> f = m_.decision(X);
    Tensor s({X.rows});
    for (int64_t i = 0; i < X.rows; ++i) s[i] = static_cast<float>(f[i]);
    return s;
  }
  json summary() const override {
    need();
    return {{"kernel", opt_.kernel}, {"support_vectors", m_.n_sv()}, {"gamma", m_.gamma}, {"libsvm", libsvm_version_string()}};
  }
  Stored save() const override {
    need();
    Stored s{stored_meta("svm", o_, static_cast<int>(m_.enc.n_features()), 2, m_.enc.categories), {}};
    m_.save(s.meta, s.arrays);
    return s;
  }
  void load(const json& meta, const FlatArrays& a) {
    const StoredShape c = read_stored_meta(meta);
    if (c.n_classes != 2) throw LearnerError("corrupt model: svm: two classes expected");
    set_model(SvmModel::load(meta, a, opt_, c.n_features, c.categories));
  }
};

}  // namespace

std::unique_ptr<Learner> make_svm_learner(json options) { return std::make_unique<SvmLearner>(std::move(options)); }

std::unique_ptr<Learner> load_svm_learner(const json& meta, const FlatArrays& arrays) {
  return load_model_learner<SvmLearner>("svm", meta, arrays);
}

}  // namespace bp::learners
