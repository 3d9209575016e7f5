#include "backprop/learners/learner.hpp"

#include <cmath>

#include "backprop/learners/ensemble.hpp"
#include "backprop/learners/knn.hpp"
#include "backprop/learners/naive_bayes.hpp"
#include "backprop/learners/svm.hpp"
#include "backprop/learners/xgboost.hpp"

namespace bp::learners {

Tensor Learner::predict_proba_at(const MatrixView&, int) const {
  throw LearnerError(kind() + " has no boosting steps to choose from");
}

Tensor Learner::decision_function(const MatrixView& X) const {
  const Tensor p = predict_proba(X);
  if (p.ndim() != 2 || p.dim(1) != 2) throw LearnerError(kind() + ": a decision function is defined for two classes only");
  Tensor s({p.dim(0)});
  for (int64_t i = 0; i < p.dim(0); ++i) s[i] = p[i * 2 + 1];
  return s;
}

namespace {

using json = nlohmann::json;

constexpr int kFormat = 1;  // version of the stored layout below

// ---------------------------------------------------------------------------------------------
// Options

const json& tree_keys() {
  static const json j = {{"criterion", "gini"},  {"max_depth", 0},       {"min_samples_leaf", 1}, {"min_samples_split", 2},
                         {"min_weight_leaf", 0.0}, {"min_gain", 0.0},     {"max_features", 0},     {"max_bins", 65535},
                         {"pruning", "none"},     {"ccp_alpha", 0.0},     {"ccp_folds", 0},        {"ccp_holdout", 0.0},
                         {"confidence", 0.25},    {"laplace", false},     {"seed", 1},             {"threads", 0}};
  return j;
}

json defaults(const std::string& kind) {
  json d = tree_keys();
  // Ensembles bin numeric features into 255 quantile bins (measured ~15-20% faster to fit on
  // Adult at the same ROC area, docs/trees.md); a single tree splits on exact values by default.
  if (kind != "tree") d["max_bins"] = 255;
  if (kind == "tree") {
    d["preset"] = "cart";
    d["pruning"] = "ccp";
    d["ccp_folds"] = 10;
  } else if (kind == "bagged-trees") {
    d["trees"] = 100;
    d["bootstrap"] = true;
    d["oob"] = true;
  } else if (kind == "random-forest") {
    d["trees"] = 1024;
    d["bootstrap"] = true;
    d["oob"] = true;  // max_features 0 = ⌊√d⌋ here
  } else if (kind == "boosted-trees" || kind == "boosted-stumps") {
    d["steps"] = kind == "boosted-trees" ? 2048 : 8192;
    d["max_depth"] = kind == "boosted-trees" ? 6 : 1;
    d["learning_rate"] = 1.0;
  } else if (kind == "xgboost") {
    d = {{"trees", 300},         {"max_depth", 6},        {"eta", 0.3},    {"tree_method", "hist"},
         {"subsample", 1.0},     {"colsample_bytree", 1.0}, {"min_child_weight", 1.0}, {"lambda", 1.0},
         {"seed", 0},            {"threads", 0}};
  } else if (kind == "svm") {
    d = svm_default_options();
  } else if (kind == "knn") {
    d = knn_default_options();
  } else if (kind == "naive-bayes") {
    d = naive_bayes_default_options();
  } else {
    throw LearnerError("unknown learner '" + kind +
                       "' (expected tree, bagged-trees, random-forest, boosted-trees, boosted-stumps, xgboost, svm, knn or naive-bayes)");
  }
  return d;
}

// The tree presets: the paper's styles (Caruana & Niculescu-Mizil 2006, from Buntine's IND).
json preset(const std::string& p) {
  if (p == "cart") return {{"criterion", "gini"}, {"pruning", "ccp"}, {"ccp_folds", 10}, {"min_samples_leaf", 1}};
  if (p == "c4.5") return {{"criterion", "gain-ratio"}, {"pruning", "pessimistic"}, {"confidence", 0.25}, {"min_samples_leaf", 2}};
  if (p == "id3") return {{"criterion", "entropy"}, {"pruning", "none"}, {"min_samples_leaf", 1}};
  throw LearnerError("unknown tree preset '" + p + "' (expected cart, c4.5 or id3)");
}

// Defaults, then the preset (tree), then the given options; unknown keys and wrong types are errors.
json complete(const std::string& kind, const json& given) {
  if (!given.is_object()) throw LearnerError(kind + ": options must be a JSON object");
  json o = defaults(kind);
  if (kind == "tree" && given.contains("preset")) {
    if (!given["preset"].is_string()) throw LearnerError("tree: option 'preset' must be a string");
    o["preset"] = given["preset"];
  }
  if (kind == "tree") {
    const json p = preset(o["preset"]);
    for (const auto& [k, v] : p.items()) o[k] = v;
  }
  for (const auto& [k, v] : given.items()) {
    if (!o.contains(k)) throw LearnerError(kind + ": unknown option '" + k + "'");
    const json& d = o[k];
    const bool ok = (d.is_boolean() && v.is_boolean()) || (d.is_string() && v.is_string()) ||
                    (d.is_number_integer() && v.is_number_integer()) || (d.is_number_float() && v.is_number());
    if (!ok) throw LearnerError(kind + ": option '" + k + "' has the wrong type (expected like " + d.dump() + ")");
    o[k] = v;
  }
  return o;
}

int get_int(const json& o, const char* k, int lo, int hi, const std::string& kind) {
  const int64_t v = o.at(k).get<int64_t>();
  if (v < lo || v > hi) throw LearnerError(kind + ": option '" + k + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
  return static_cast<int>(v);
}

double get_num(const json& o, const char* k, double lo, double hi, const std::string& kind) {
  const double v = o.at(k).get<double>();
  if (!(v >= lo && v <= hi)) throw LearnerError(kind + ": option '" + k + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

TreeOptions tree_options(const json& o, const std::string& kind) {
  TreeOptions t;
  t.criterion = parse_criterion(o.at("criterion"));
  t.max_depth = get_int(o, "max_depth", 0, 100000, kind);
  t.min_samples_leaf = get_int(o, "min_samples_leaf", 1, 1 << 30, kind);
  t.min_samples_split = get_int(o, "min_samples_split", 2, 1 << 30, kind);
  t.min_weight_leaf = get_num(o, "min_weight_leaf", 0, 1e300, kind);
  t.min_gain = get_num(o, "min_gain", 0, 1e300, kind);
  t.max_features = get_int(o, "max_features", 0, 1 << 30, kind);
  t.max_bins = get_int(o, "max_bins", 2, 65535, kind);
  t.pruning = parse_pruning(o.at("pruning"));
  t.ccp_alpha = get_num(o, "ccp_alpha", 0, 1e300, kind);
  t.ccp_folds = get_int(o, "ccp_folds", 0, 1000, kind);
  if (t.ccp_folds == 1) throw LearnerError(kind + ": option 'ccp_folds' must be 0 (off) or at least 2");
  t.ccp_holdout = get_num(o, "ccp_holdout", 0, 0.99, kind);
  t.confidence = get_num(o, "confidence", 1e-6, 0.999, kind);
  t.laplace = o.at("laplace").get<bool>();
  t.seed = o.at("seed").get<uint64_t>();
  t.threads = get_int(o, "threads", 0, 4096, kind);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Storage of a list of trees: every tree's arrays concatenated, with offsets.
//   tree_nodes (T+1): tree i's nodes are [tree_nodes[i], tree_nodes[i+1]) of the node arrays
//   tree_cats  (T+1): its category masks are [tree_cats[i], tree_cats[i+1]) of cat_left
// Child indices and cat_offset stay relative to the tree.

const char* kNodeArrays[] = {"feature", "threshold", "left", "right", "default_left", "cat_offset", "counts", "value"};

void put_trees(const std::vector<Tree>& trees, FlatArrays& out) {
  std::vector<float> node_off{0}, cat_off{0};
  std::vector<std::vector<float>> parts(9);
  int K = trees.empty() ? 1 : trees[0].n_classes;
  for (const Tree& t : trees) {
    FlatArrays a;
    t.append_arrays("", a);
    for (size_t i = 0; i < a.size(); ++i) {
      const auto v = a[i].second.to_vector();
      parts[i].insert(parts[i].end(), v.begin(), v.end());
    }
    node_off.push_back(node_off.back() + static_cast<float>(t.size()));
    cat_off.push_back(cat_off.back() + static_cast<float>(t.cat_left.size()));
  }
  if (node_off.back() >= 16777216.f || cat_off.back() >= 16777216.f)
    throw LearnerError("the ensemble is too large to store (2^24 nodes at most)");
  const int64_t n = static_cast<int64_t>(node_off.back());
  out.emplace_back("tree_nodes", Tensor({static_cast<int64_t>(node_off.size())}, node_off));
  out.emplace_back("tree_cats", Tensor({static_cast<int64_t>(cat_off.size())}, cat_off));
  // append_arrays' order: feature threshold left right default_left cat_offset cat_left counts value
  const char* names[] = {"feature", "threshold", "left", "right", "default_left", "cat_offset", "cat_left", "counts", "value"};
  for (int i = 0; i < 9; ++i) {
    Shape s{static_cast<int64_t>(parts[i].size())};
    if (i >= 7) s = {n, K};
    out.emplace_back(names[i], Tensor(s, parts[i]));
  }
}

const Tensor& array(const FlatArrays& in, const std::string& name) {
  for (const auto& [k, t] : in)
    if (k == name) return t;
  throw LearnerError("corrupt model: array '" + name + "' is missing");
}

std::vector<Tree> get_trees(const FlatArrays& in, int n_features, int n_classes, const std::vector<int>& cats, bool laplace,
                            int64_t expect_trees) {
  const Tensor& no = array(in, "tree_nodes");
  const Tensor& co = array(in, "tree_cats");
  if (no.numel() != expect_trees + 1 || co.numel() != expect_trees + 1)
    throw LearnerError("corrupt model: tree_nodes/tree_cats must have one entry per tree plus one");
  const Tensor& cat_left = array(in, "cat_left");
  const Tensor& feature = array(in, "feature");
  const int64_t n = feature.numel();
  auto offset = [](const Tensor& t, int64_t i, int64_t hi, const char* name) {
    const float v = t[i];
    if (!(v >= 0 && v <= static_cast<float>(hi) && v == std::floor(v)))
      throw LearnerError(std::string("corrupt model: ") + name + " offsets out of range");
    return static_cast<int64_t>(v);
  };
  if (offset(no, 0, 0, "tree_nodes") != 0 || offset(co, 0, 0, "tree_cats") != 0 || offset(no, expect_trees, n, "tree_nodes") != n ||
      offset(co, expect_trees, cat_left.numel(), "tree_cats") != cat_left.numel())
    throw LearnerError("corrupt model: tree offsets do not cover the arrays");
  for (const char* name : kNodeArrays) {
    const int64_t want = (std::string(name) == "counts" || std::string(name) == "value") ? n * n_classes : n;
    if (array(in, name).numel() != want) throw LearnerError(std::string("corrupt model: array '") + name + "' has the wrong length");
  }
  std::vector<Tree> trees;
  trees.reserve(expect_trees);
  for (int64_t i = 0; i < expect_trees; ++i) {
    const int64_t a = offset(no, i, n, "tree_nodes"), b = offset(no, i + 1, n, "tree_nodes");
    const int64_t ca = offset(co, i, cat_left.numel(), "tree_cats"), cb = offset(co, i + 1, cat_left.numel(), "tree_cats");
    if (b <= a || cb < ca) throw LearnerError("corrupt model: tree offsets must increase (every tree has a node)");
    FlatArrays one;
    for (const char* name : kNodeArrays) {
      const Tensor& t = array(in, name);
      const int64_t w = t.numel() / n;
      one.emplace_back(name, Tensor({(b - a) * w}, std::vector<float>(t.data() + a * w, t.data() + b * w)));
    }
    one.emplace_back("cat_left", Tensor({cb - ca}, std::vector<float>(cat_left.data() + ca, cat_left.data() + cb)));
    try {
      trees.push_back(Tree::from_arrays("", one, n_features, n_classes, cats, laplace));
    } catch (const LearnerError& e) {
      throw LearnerError("tree " + std::to_string(i) + ": " + e.what());
    }
  }
  return trees;
}

json arrays_to_json(const FlatArrays& a) {
  json j = json::object();
  for (const auto& [k, t] : a) j[k] = {{"shape", t.shape()}, {"data", t.to_vector()}};
  return j;
}

FlatArrays arrays_from_json(const json& j) {
  FlatArrays a;
  if (!j.is_object()) throw LearnerError("corrupt model: 'arrays' must be an object");
  try {
    for (const auto& [k, v] : j.items()) {
      const Shape s = v.at("shape").get<Shape>();
      const auto d = v.at("data").get<std::vector<float>>();
      int64_t n = 1;
      for (int64_t x : s) {
        if (x < 0 || x > (int64_t{1} << 31)) throw LearnerError("corrupt model: array '" + k + "' has a bad shape");
        n *= x;
      }
      if (n != static_cast<int64_t>(d.size())) throw LearnerError("corrupt model: array '" + k + "' does not match its shape");
      a.emplace_back(k, Tensor(s, d));
    }
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: ") + e.what());
  }
  return a;
}

// Fields every stored learner has.
json base_meta(const std::string& kind, const json& options, int d, int K, const std::vector<int>& cats) {
  return {{"format", kFormat}, {"kind", kind}, {"options", options}, {"n_features", d}, {"n_classes", K}, {"categories", cats}};
}

struct MetaCommon {
  int d = 0, K = 0;
  std::vector<int> cats;
};
MetaCommon read_meta(const json& m) {
  MetaCommon c;
  try {
    if (m.at("format").get<int>() != kFormat) throw LearnerError("unsupported learner format " + m.at("format").dump());
    c.d = m.at("n_features").get<int>();
    c.K = m.at("n_classes").get<int>();
    c.cats = m.at("categories").get<std::vector<int>>();
  } catch (const json::exception& e) {
    throw LearnerError(std::string("corrupt model: ") + e.what());
  }
  if (c.d < 1 || c.K < 2 || c.K > 65535 || static_cast<int>(c.cats.size()) != c.d)
    throw LearnerError("corrupt model: bad n_features, n_classes or categories");
  return c;
}

// ---------------------------------------------------------------------------------------------
// The learners

// What every learner below shares: its kind, its options (completed with their defaults), and
// whether it has been fitted or loaded.
class LearnerBase : public Learner {
 public:
  LearnerBase(std::string kind, json o) : kind_(std::move(kind)), o_(std::move(o)) {}
  std::string kind() const override { return kind_; }
  const json& options() const override { return o_; }
  bool fitted() const override { return fitted_; }

 protected:
  void need() const {
    if (!fitted_) throw LearnerError(kind_ + ": the model is not fitted");
  }
  std::string kind_;
  json o_;
  bool fitted_ = false;
};

class TreeLearner : public LearnerBase {
 public:
  explicit TreeLearner(json o) : LearnerBase("tree", std::move(o)), to_(tree_options(o_, "tree")) {}
  void fit(const TrainSet& t) override {
    tree_ = fit_tree(t, to_);
    fitted_ = true;
  }
  Tensor predict_proba(const MatrixView& X) const override {
    need();
    return tree_.predict_proba(X);
  }
  json summary() const override {
    need();
    return {{"nodes", tree_.size()}, {"leaves", tree_.n_leaves()}, {"depth", tree_.depth()}};
  }
  Stored save() const override {
    need();
    Stored s{base_meta(kind(), o_, tree_.n_features, tree_.n_classes, tree_.categories), {}};
    s.meta["trees"] = 1;
    put_trees({tree_}, s.arrays);
    return s;
  }
  void validate() const override {
    need();
    tree_.validate();
  }
  void load(const json& meta, const FlatArrays& a) {
    const MetaCommon c = read_meta(meta);
    tree_ = std::move(get_trees(a, c.d, c.K, c.cats, to_.laplace, 1)[0]);
    fitted_ = true;
  }

 private:
  TreeOptions to_;
  Tree tree_;
};

class ForestLearner : public LearnerBase {
 public:
  ForestLearner(std::string kind, json o) : LearnerBase(std::move(kind), std::move(o)) {
    fo_.tree = tree_options(o_, kind_);
    if (fo_.tree.pruning != Pruning::none) throw LearnerError(kind_ + ": ensemble trees are grown unpruned (pruning must be none)");
    fo_.n_trees = get_int(o_, "trees", 1, 1 << 20, kind_);
    fo_.bootstrap = o_.at("bootstrap").get<bool>();
    fo_.oob = o_.at("oob").get<bool>();
    fo_.seed = fo_.tree.seed;
    fo_.threads = fo_.tree.threads;
  }
  void fit(const TrainSet& t) override {
    ForestOptions fo = fo_;
    if (kind_ == "random-forest" && fo.tree.max_features == 0)
      fo.tree.max_features = std::max(1, static_cast<int>(std::floor(std::sqrt(static_cast<double>(t.X.cols)))));
    f_ = fit_forest(t, fo);
    fitted_ = true;
  }
  Tensor predict_proba(const MatrixView& X) const override {
    need();
    return f_.predict_proba(X, fo_.threads);
  }
  json summary() const override {
    need();
    int64_t nodes = 0;
    for (const Tree& t : f_.trees) nodes += t.size();
    json s = {{"trees", f_.trees.size()}, {"nodes", nodes}, {"oob_rows", f_.oob_rows}};
    s["oob_error"] = std::isnan(f_.oob_error) ? json(nullptr) : json(f_.oob_error);
    return s;
  }
  Stored save() const override {
    need();
    Stored s{base_meta(kind_, o_, f_.n_features, f_.n_classes, f_.categories), {}};
    s.meta["trees"] = f_.trees.size();
    s.meta["oob_error"] = std::isnan(f_.oob_error) ? json(nullptr) : json(f_.oob_error);
    s.meta["oob_rows"] = f_.oob_rows;
    put_trees(f_.trees, s.arrays);
    return s;
  }
  void validate() const override {
    need();
    f_.validate();
  }
  void load(const json& meta, const FlatArrays& a) {
    const MetaCommon c = read_meta(meta);
    int64_t T = 0;
    try {
      T = meta.at("trees").get<int64_t>();
      if (!meta.at("oob_error").is_null()) f_.oob_error = meta.at("oob_error").get<double>();
      f_.oob_rows = meta.at("oob_rows").get<int64_t>();
    } catch (const json::exception& e) {
      throw LearnerError(std::string("corrupt model: ") + e.what());
    }
    if (T < 1 || T > (1 << 20)) throw LearnerError("corrupt model: bad number of trees");
    f_.n_features = c.d;
    f_.n_classes = c.K;
    f_.categories = c.cats;
    f_.trees = get_trees(a, c.d, c.K, c.cats, fo_.tree.laplace, T);
    f_.validate();
    fitted_ = true;
  }

 private:
  ForestOptions fo_;
  Forest f_;
};

class BoostLearner : public LearnerBase {
 public:
  BoostLearner(std::string kind, json o) : LearnerBase(std::move(kind), std::move(o)) {
    bo_.tree = tree_options(o_, kind_);
    if (bo_.tree.pruning != Pruning::none) throw LearnerError(kind_ + ": boosted trees are grown unpruned (pruning must be none)");
    if (kind_ == "boosted-stumps" && bo_.tree.max_depth != 1) throw LearnerError("boosted-stumps: max_depth is 1 (use boosted-trees for deeper trees)");
    bo_.steps = get_int(o_, "steps", 1, 1 << 20, kind_);
    bo_.learning_rate = get_num(o_, "learning_rate", 1e-9, 1e9, kind_);
    bo_.seed = bo_.tree.seed;
    bo_.threads = bo_.tree.threads;
  }
  void fit(const TrainSet& t) override {
    b_ = fit_adaboost(t, bo_);
    fitted_ = true;
  }
  int steps() const override { return fitted_ ? b_.steps() : 0; }
  Tensor predict_proba(const MatrixView& X) const override { return predict_proba_at(X, 0); }
  Tensor predict_proba_at(const MatrixView& X, int steps) const override {
    need();
    if (steps < 0) throw LearnerError(kind_ + ": steps must be >= 0");
    return b_.predict_proba(X, steps, bo_.threads);
  }
  json summary() const override {
    need();
    return {{"steps", b_.steps()}, {"steps_asked", bo_.steps}, {"last_error", b_.error.back()}};
  }
  Stored save() const override {
    need();
    Stored s{base_meta(kind_, o_, b_.n_features, b_.n_classes, b_.categories), {}};
    s.meta["trees"] = b_.trees.size();
    put_trees(b_.trees, s.arrays);
    // the estimator weights in double, in the JSON (float32 arrays would round the scores)
    s.meta["alpha"] = b_.alpha;
    s.meta["error"] = b_.error;
    return s;
  }
  void validate() const override {
    need();
    b_.validate();
  }
  void load(const json& meta, const FlatArrays& a) {
    const MetaCommon c = read_meta(meta);
    int64_t T = 0;
    try {
      T = meta.at("trees").get<int64_t>();
      b_.alpha = meta.at("alpha").get<std::vector<double>>();
      b_.error = meta.at("error").get<std::vector<double>>();
    } catch (const json::exception& e) {
      throw LearnerError(std::string("corrupt model: ") + e.what());
    }
    if (T < 1 || T > (1 << 20)) throw LearnerError("corrupt model: bad number of trees");
    if (static_cast<int64_t>(b_.alpha.size()) != T || static_cast<int64_t>(b_.error.size()) != T)
      throw LearnerError("corrupt model: one alpha and one error per tree expected");
    b_.n_features = c.d;
    b_.n_classes = c.K;
    b_.categories = c.cats;
    b_.trees = get_trees(a, c.d, c.K, c.cats, bo_.tree.laplace, T);
    b_.validate();
    fitted_ = true;
  }

 private:
  BoostOptions bo_;
  Boosted b_;
};

class XgbLearner : public LearnerBase {
 public:
  explicit XgbLearner(json o) : LearnerBase("xgboost", std::move(o)) {
    xo_.n_trees = get_int(o_, "trees", 1, 1 << 20, "xgboost");
    xo_.max_depth = get_int(o_, "max_depth", 0, 64, "xgboost");
    xo_.eta = get_num(o_, "eta", 1e-9, 1e9, "xgboost");
    xo_.tree_method = o_.at("tree_method").get<std::string>();
    if (xo_.tree_method != "hist" && xo_.tree_method != "exact" && xo_.tree_method != "approx")
      throw LearnerError("xgboost: tree_method must be hist, exact or approx");
    xo_.subsample = get_num(o_, "subsample", 1e-9, 1, "xgboost");
    xo_.colsample_bytree = get_num(o_, "colsample_bytree", 1e-9, 1, "xgboost");
    xo_.min_child_weight = get_num(o_, "min_child_weight", 0, 1e300, "xgboost");
    xo_.lambda = get_num(o_, "lambda", 0, 1e300, "xgboost");
    xo_.seed = o_.at("seed").get<uint64_t>();
    xo_.threads = get_int(o_, "threads", 0, 4096, "xgboost");
  }
  void fit(const TrainSet& t) override {
    m_ = XgbModel::fit(t, xo_);
    cats_ = t.categories.empty() ? std::vector<int>(t.X.cols, 0) : t.categories;
    fitted_ = true;
  }
  Tensor predict_proba(const MatrixView& X) const override {
    need();
    return m_.predict_proba(X, xo_.threads);
  }
  json summary() const override {
    need();
    return {{"rounds", m_.rounds()}, {"xgboost", xgboost_version()}};
  }
  Stored save() const override {
    need();
    Stored s{base_meta("xgboost", o_, m_.n_features(), m_.n_classes(), cats_), {}};
    s.meta["xgboost_version"] = xgboost_version();
    s.meta["xgboost_model"] = json::parse(m_.save_json());
    return s;
  }
  void validate() const override {
    need();
    if (m_.rounds() < 1) throw LearnerError("corrupt model: the xgboost model has no rounds");
  }
  void load(const json& meta) {
    const MetaCommon c = read_meta(meta);
    if (!meta.contains("xgboost_model")) throw LearnerError("corrupt model: 'xgboost_model' is missing");
    m_ = XgbModel::load_json(meta["xgboost_model"].dump(), c.d, c.K);
    cats_ = c.cats;
    fitted_ = true;
  }

 private:
  XgbOptions xo_;
  XgbModel m_;
  std::vector<int> cats_;
};

}  // namespace

std::vector<std::string> learner_kinds() {
  return {"tree", "bagged-trees", "random-forest", "boosted-trees", "boosted-stumps", "xgboost", "svm", "knn", "naive-bayes"};
}

json default_options(const std::string& kind) { return complete(kind, json::object()); }

std::unique_ptr<Learner> make_learner(const std::string& kind, const json& given) {
  json o = complete(kind, given);
  if (kind == "tree") return std::make_unique<TreeLearner>(std::move(o));
  if (kind == "bagged-trees" || kind == "random-forest") return std::make_unique<ForestLearner>(kind, std::move(o));
  if (kind == "boosted-trees" || kind == "boosted-stumps") return std::make_unique<BoostLearner>(kind, std::move(o));
  if (kind == "svm") return make_svm_learner(std::move(o));
  if (kind == "knn") return make_knn_learner(std::move(o));
  if (kind == "naive-bayes") return make_naive_bayes_learner(std::move(o));
  return std::make_unique<XgbLearner>(std::move(o));
}

json Learner::to_json() const {
  Stored s = save();
  json j = s.meta;
  j["arrays"] = arrays_to_json(s.arrays);
  return j;
}

std::unique_ptr<Learner> load_learner(const json& meta, const FlatArrays& arrays) {
  if (!meta.is_object() || !meta.contains("kind") || !meta["kind"].is_string() || !meta.contains("options"))
    throw LearnerError("corrupt model: no learner kind or options");
  const std::string kind = meta["kind"];
  if (kind == "svm") return load_svm_learner(meta, arrays);
  if (kind == "knn") return load_knn_learner(meta, arrays);
  if (kind == "naive-bayes") return load_naive_bayes_learner(meta, arrays);
  auto l = make_learner(kind, meta["options"]);
  if (auto* t = dynamic_cast<TreeLearner*>(l.get())) t->load(meta, arrays);
  else if (auto* f = dynamic_cast<ForestLearner*>(l.get())) f->load(meta, arrays);
  else if (auto* b = dynamic_cast<BoostLearner*>(l.get())) b->load(meta, arrays);
  else dynamic_cast<XgbLearner*>(l.get())->load(meta);
  return l;
}

json stored_meta(const std::string& kind, const json& options, int n_features, int n_classes, const std::vector<int>& categories) {
  return base_meta(kind, options, n_features, n_classes, categories);
}

StoredShape read_stored_meta(const json& meta) {
  const MetaCommon c = read_meta(meta);
  return {c.d, c.K, c.cats};
}

const Tensor& stored_array(const FlatArrays& arrays, const std::string& name) { return array(arrays, name); }

std::unique_ptr<Learner> learner_from_json(const json& j) {
  if (!j.is_object()) throw LearnerError("corrupt model: not a JSON object");
  json meta = j;
  FlatArrays arrays;
  if (meta.contains("arrays")) {
    arrays = arrays_from_json(meta["arrays"]);
    meta.erase("arrays");
  }
  return load_learner(meta, arrays);
}

}  // namespace bp::learners
