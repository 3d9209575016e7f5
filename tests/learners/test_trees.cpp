// Hand-worked cases for the tree core (pruning, Laplace, missing values, categories), the
// learners' thread-count independence, storage round trips, and bad input.
#include <cmath>

#include "../test_util.hpp"
#include "backprop/learners/ensemble.hpp"
#include "backprop/learners/learner.hpp"
#include "backprop/learners/tree.hpp"
#include "backprop/util/rng.hpp"

namespace bp::learners {
namespace {

using json = nlohmann::json;

struct Data {
  std::vector<float> X;
  std::vector<int32_t> y;
  int64_t n = 0, d = 0;
  int K = 2;
  std::vector<int> cats;
  TrainSet set() const {
    TrainSet t;
    t.X = {X.data(), n, d};
    t.y = y.data();
    t.n_classes = K;
    t.categories = cats;
    return t;
  }
  MatrixView view() const { return {X.data(), n, d}; }
};

// BreastCancer as the fixture holds it (683 rows, 9 features).
const Data& breast_cancer() {
  static const Data D = [] {
    const auto j = testing::load_fixture("learners/trees.json");
    const auto& ds = j["datasets"]["BreastCancer"];
    Data d;
    for (const auto& row : ds["X"]) {
      d.d = static_cast<int64_t>(row.size());
      for (const auto& v : row) d.X.push_back(v.get<float>());
    }
    d.y = ds["y"].get<std::vector<int32_t>>();
    d.n = static_cast<int64_t>(d.y.size());
    return d;
  }();
  return D;
}

double accuracy(const Tensor& p, const std::vector<int32_t>& y, int K) {
  double right = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const float* r = p.data() + i * K;
    right += (std::max_element(r, r + K) - r) == y[i];
  }
  return right / y.size();
}

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a[i], b[i]) << "at " << i;
}

// --- Laplace ---------------------------------------------------------------------------------

TEST(TreeCore, LaplaceLeavesAreKPlusOneOverNPlusK) {
  // x < 0.5: 3 rows of class 0 and 1 of class 1; x > 0.5: 2 rows of class 1.
  Data D;
  D.X = {0, 0, 0, 0, 1, 1};
  D.y = {0, 0, 0, 1, 1, 1};
  D.n = 6;
  D.d = 1;
  TreeOptions o;
  o.max_depth = 1;
  Tree raw = fit_tree(D.set(), o);
  ASSERT_EQ(raw.size(), 3);
  EXPECT_FLOAT_EQ(raw.value[1 * 2 + 0], 3.f / 4);
  EXPECT_FLOAT_EQ(raw.value[2 * 2 + 1], 1.f);
  o.laplace = true;
  Tree lap = fit_tree(D.set(), o);
  EXPECT_FLOAT_EQ(lap.value[1 * 2 + 0], (3.f + 1) / (4 + 2));  // (k+1)/(n+2)
  EXPECT_FLOAT_EQ(lap.value[1 * 2 + 1], (1.f + 1) / (4 + 2));
  EXPECT_FLOAT_EQ(lap.value[2 * 2 + 1], (2.f + 1) / (2 + 2));
  EXPECT_FLOAT_EQ(lap.value[2 * 2 + 0], 1.f / 4);
  // three classes: (k+1)/(n+3)
  D.K = 3;
  Tree lap3 = fit_tree(D.set(), o);
  EXPECT_FLOAT_EQ(lap3.value[2 * 3 + 1], 3.f / 5);
  EXPECT_FLOAT_EQ(lap3.value[2 * 3 + 2], 1.f / 5);
}

// --- C4.5 pessimistic pruning -----------------------------------------------------------------

TEST(TreeCore, C45ErrorEstimatesMatchQuinlansTable) {
  // Quinlan (1993), §4.2: U_0.25(0, 6) = 0.206, U(0, 9) = 0.143, U(0, 1) = 0.750, U(1, 16) = 0.157.
  EXPECT_NEAR(c45_added_errors(6, 0, 0.25) / 6, 0.206, 0.001);
  EXPECT_NEAR(c45_added_errors(9, 0, 0.25) / 9, 0.143, 0.001);
  EXPECT_NEAR(c45_added_errors(1, 0, 0.25) / 1, 0.750, 0.001);
  EXPECT_NEAR((1 + c45_added_errors(16, 1, 0.25)) / 16, 0.157, 0.001);
}

// Quinlan's worked example as a binary tree: root (15, 1) splits into a leaf (6, 0) and a node
// (9, 1) that splits into (9, 0) and (0, 1). The node (9, 1): as a leaf 1 + 1.44 = 2.44 errors
// predicted, as a subtree 9·0.143 + 1·0.750 = 2.04, kept. The root: as a leaf 16·0.157 = 2.51,
// as a subtree 6·0.206 + 2.04 = 3.27: pruned to one leaf.
Tree quinlan_tree() {
  Tree t;
  t.n_features = 1;
  t.n_classes = 2;
  t.categories = {0};
  t.nodes.resize(5);
  t.nodes[0] = {0, 0.5f, 1, 2, -1, 0};
  t.nodes[2] = {0, 1.5f, 3, 4, -1, 0};
  t.counts = {15, 1, 6, 0, 9, 1, 9, 0, 0, 1};
  t.set_values(false);
  t.validate();
  return t;
}

TEST(TreeCore, PessimisticPruningOnQuinlansExample) {
  Tree t = quinlan_tree();
  prune_pessimistic(t, 0.25);
  EXPECT_EQ(t.size(), 1);
  EXPECT_FLOAT_EQ(t.value[0], 15.f / 16);
  // The inner node alone survives.
  Tree sub;
  sub.n_features = 1;
  sub.n_classes = 2;
  sub.categories = {0};
  sub.nodes.resize(3);
  sub.nodes[0] = {0, 1.5f, 1, 2, -1, 0};
  sub.counts = {9, 1, 9, 0, 0, 1};
  sub.set_values(false);
  prune_pessimistic(sub, 0.25);
  EXPECT_EQ(sub.size(), 3);
}

TEST(TreeCore, CostComplexityHandWorked) {
  // Gini, R(t) = W_t/W · impurity. Root (15,1): 16/16 · (1 − (15/16)² − (1/16)²) = 0.1171875.
  // Node (9,1): 10/16 · 0.18 = 0.1125; its leaves are pure, so α(node) = 0.1125 / 1 = 0.1125;
  // root: (0.1171875 − 0) / 2 = 0.05859375 — the weakest link is the root.
  Tree t = quinlan_tree();
  const auto a = ccp_alphas(t, Criterion::gini);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_DOUBLE_EQ(a[0], 0.0);
  EXPECT_NEAR(a[1], 0.05859375, 1e-12);
  Tree keep = t;
  prune_cost_complexity(keep, Criterion::gini, 0.05);
  EXPECT_EQ(keep.size(), 5);
  prune_cost_complexity(t, Criterion::gini, 0.06);
  EXPECT_EQ(t.size(), 1);
}

TEST(TreeCore, CrossValidatedAlphaPrunesAndKeepsAccuracy) {
  const Data& D = breast_cancer();
  TreeOptions o;
  const Tree full = fit_tree(D.set(), o);
  o.pruning = Pruning::cost_complexity;
  o.ccp_folds = 5;
  const Tree cv = fit_tree(D.set(), o);
  EXPECT_LT(cv.size(), full.size());
  EXPECT_GT(accuracy(cv.predict_proba(D.view()), D.y, 2), 0.93);
  o.ccp_folds = 0;
  o.ccp_holdout = 0.3;
  const Tree ho = fit_tree(D.set(), o);
  EXPECT_LT(ho.size(), full.size());
}

// --- missing values and categories ------------------------------------------------------------

TEST(TreeCore, MissingValuesLearnADefaultDirection) {
  // Feature 0: 0 → class 0, 1 → class 1, missing → class 1 (rows 6..8).
  Data D;
  const float nan = std::nanf("");
  D.X = {0, 0, 0, 1, 1, 1, nan, nan, nan, 0};
  D.y = {0, 0, 0, 1, 1, 1, 1, 1, 1, 0};
  D.n = 10;
  D.d = 1;
  TreeOptions o;
  o.max_depth = 1;
  const Tree t = fit_tree(D.set(), o);
  ASSERT_EQ(t.size(), 3);
  EXPECT_EQ(t.nodes[0].default_left, 0);  // missing goes with the 1s (right)
  const Tensor p = t.predict_proba(D.view());
  EXPECT_EQ(accuracy(p, D.y, 2), 1.0);
  // Missing with the 0s instead: the direction flips.
  for (int i = 6; i < 9; ++i) D.y[i] = 0;
  const Tree t2 = fit_tree(D.set(), o);
  EXPECT_EQ(t2.nodes[0].default_left, 1);
}

TEST(TreeCore, CategoricalSplitsTakeASubset) {
  // Categories {0, 2} → class 1, {1, 3} → class 0: no threshold separates them, one subset does.
  Data D;
  for (int r = 0; r < 40; ++r) {
    const int c = r % 4;
    D.X.push_back(static_cast<float>(c));
    D.y.push_back(c % 2 == 0);
  }
  D.n = 40;
  D.d = 1;
  D.cats = {4};
  TreeOptions o;
  o.max_depth = 1;
  const Tree t = fit_tree(D.set(), o);
  ASSERT_EQ(t.size(), 3);
  ASSERT_GE(t.nodes[0].cat_offset, 0);
  EXPECT_EQ(accuracy(t.predict_proba(D.view()), D.y, 2), 1.0);
  // A code out of range or NaN at prediction follows the default direction (no crash).
  const float odd[] = {7.f, -1.f, 2.5f, std::nanf("")};
  const Tensor p = t.predict_proba({odd, 4, 1});
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(p[i * 2] + p[i * 2 + 1], 1.f, 1e-6);
  // As numeric, depth 1 cannot separate them.
  D.cats = {0};
  EXPECT_LT(accuracy(fit_tree(D.set(), o).predict_proba(D.view()), D.y, 2), 1.0);
  // Three classes: the one-versus-rest orderings find {1} vs the rest at the root.
  D.cats = {4};
  D.K = 3;
  for (int r = 0; r < 40; ++r) D.y[r] = r % 4 == 1 ? 2 : (r % 4 == 3 ? 1 : 0);
  o.max_depth = 2;
  EXPECT_EQ(accuracy(fit_tree(D.set(), o).predict_proba(D.view()), D.y, 3), 1.0);
}

TEST(TreeCore, QuantileBinsStayCloseToExactSplits) {
  const Data& D = breast_cancer();
  TreeOptions o;
  o.max_depth = 4;
  o.max_bins = 4;  // BreastCancer's features have 10 values: real quantile binning
  const Tree coarse = fit_tree(D.set(), o);
  EXPECT_GT(accuracy(coarse.predict_proba(D.view()), D.y, 2), 0.93);
}

TEST(TreeCore, PresetsFitAndBeatChance) {
  const Data& D = breast_cancer();
  for (const char* p : {"cart", "c4.5", "id3"})
    for (bool lap : {false, true}) {
      auto m = make_learner("tree", {{"preset", p}, {"laplace", lap}});
      m->fit(D.set());
      EXPECT_GT(accuracy(m->predict_proba(D.view()), D.y, 2), 0.95) << p;
      m->validate();
    }
}

// --- the fast paths equal the reference ones -----------------------------------------------------

// Random data: numeric features (some NaN), 0/1 features, and optionally a categorical one.
Data random_data(uint64_t seed, int64_t n, bool with_nan, bool with_cat) {
  Rng rng(seed);
  Data D;
  D.n = n;
  D.d = 6;
  D.cats = {0, 0, 0, 0, 0, with_cat ? 5 : 0};
  for (int64_t r = 0; r < n; ++r) {
    const float a = static_cast<float>(rng.uniform()), b = static_cast<float>(rng.below(20));
    const float c = static_cast<float>(rng.below(2)), e = static_cast<float>(rng.below(2));
    const float g = static_cast<float>(rng.below(5));
    const bool hole = with_nan && rng.below(7) == 0;
    D.X.insert(D.X.end(), {hole ? std::nanf("") : a, b, c, e, static_cast<float>(rng.uniform()), g});
    D.y.push_back(static_cast<int32_t>((a + 0.2f * c + 0.1f * (g == 2) + 0.3f * static_cast<float>(rng.uniform())) > 0.7f));
  }
  return D;
}

TEST(TreeFastPaths, FastWalkFindsTheReferenceLeaf) {
  // Trees with NaN rows and learned default directions, with and without categorical splits,
  // scored on fresh rows (some with NaN, some categorical codes out of range).
  for (const bool cat : {false, true})
    for (const bool nan : {false, true}) {
      const Data D = random_data(11 + cat + 2 * nan, 400, nan, cat);
      const Data Q = random_data(99, 300, true, cat);
      TreeOptions o;
      o.max_features = 3;
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        o.seed = seed;
        const BinnedFeatures bf = bin_features(D.view(), D.cats, seed % 2 ? 255 : 8);
        const Tree t = grow_tree(bf, D.y.data(), nullptr, 2, o);
        ASSERT_GT(t.size(), 20);
        const FastTree f(t);
        std::vector<uint8_t> row_nan(Q.n);
        ASSERT_TRUE(rows_with_nan(Q.view(), row_nan.data()));
        std::vector<int32_t> leaf(Q.n), some(Q.n);
        f.leaves(Q.view(), row_nan.data(), leaf.data());
        for (int64_t r = 0; r < Q.n; ++r) ASSERT_EQ(leaf[r], t.leaf(Q.X.data() + r * Q.d)) << "row " << r;
        // an index list (every third row, backwards)
        std::vector<int64_t> rows;
        for (int64_t r = Q.n - 1; r >= 0; r -= 3) rows.push_back(r);
        f.leaves(Q.view(), rows.data(), static_cast<int64_t>(rows.size()), row_nan.data(), some.data());
        for (size_t j = 0; j < rows.size(); ++j) ASSERT_EQ(some[j], leaf[rows[j]]);
        // the rows without NaN need no flags
        if (!nan) {
          std::vector<int64_t> clean;
          for (int64_t r = 0; r < Q.n; ++r)
            if (!row_nan[r]) clean.push_back(r);
          f.leaves(Q.view(), clean.data(), static_cast<int64_t>(clean.size()), nullptr, some.data());
          for (size_t j = 0; j < clean.size(); ++j) ASSERT_EQ(some[j], leaf[clean[j]]);
        }
      }
    }
}

TEST(TreeFastPaths, TwoClassBinaryHistogramEqualsTheGeneralOne) {
  // The same rows as a two-class problem (0/1 features take the register path) and as a
  // three-class one whose third class is absent (the general histogram): the same tree, with
  // integer and with fractional weights, with and without missing values.
  for (const bool nan : {false, true}) {
    Data D = random_data(5, 500, nan, false);
    std::vector<float> w(D.n);
    Rng rng(3);
    for (auto& v : w) v = static_cast<float>(rng.below(4));
    for (int frac = 0; frac < 2; ++frac) {
      if (frac)
        for (auto& v : w) v = static_cast<float>(rng.uniform());
      TreeOptions o;
      o.max_features = 2;
      o.seed = 9;
      const BinnedFeatures bf = bin_features(D.view(), D.cats, 255);
      const Tree two = grow_tree(bf, D.y.data(), w.data(), 2, o);
      const Tree three = grow_tree(bf, D.y.data(), w.data(), 3, o);
      ASSERT_GT(two.size(), 20);
      ASSERT_EQ(two.size(), three.size());
      for (int64_t i = 0; i < two.size(); ++i) {
        EXPECT_EQ(two.nodes[i].feature, three.nodes[i].feature) << "node " << i;
        EXPECT_EQ(two.nodes[i].threshold, three.nodes[i].threshold) << "node " << i;
        EXPECT_EQ(two.nodes[i].default_left, three.nodes[i].default_left) << "node " << i;
        EXPECT_EQ(two.counts[i * 2], three.counts[i * 3]);
        EXPECT_EQ(two.counts[i * 2 + 1], three.counts[i * 3 + 1]);
      }
    }
  }
}

TEST(TreeFastPaths, HistogramSubtractionGrowsTheSameTree) {
  // Every feature at every split (bagging, boosting): the larger child's 0/1-feature sums taken
  // as parent minus smaller child give the tree that computing both gives: exactly for integer
  // (bootstrap) weights, with and without missing values; and the same splits for fractional ones.
  for (const bool nan : {false, true}) {
    const Data D = random_data(31 + nan, 700, nan, false);
    std::vector<float> w(D.n);
    Rng rng(4);
    for (auto& v : w) v = static_cast<float>(rng.below(4));
    const BinnedFeatures bf = bin_features(D.view(), D.cats, 255);
    TreeOptions o;
    const Tree sub = grow_tree(bf, D.y.data(), w.data(), 2, o);
    o.subtract = false;
    const Tree direct = grow_tree(bf, D.y.data(), w.data(), 2, o);
    ASSERT_GT(sub.size(), 50);
    ASSERT_EQ(sub.size(), direct.size());
    for (int64_t i = 0; i < sub.size(); ++i) {
      ASSERT_EQ(sub.nodes[i].feature, direct.nodes[i].feature) << "node " << i;
      ASSERT_EQ(sub.nodes[i].threshold, direct.nodes[i].threshold) << "node " << i;
      ASSERT_EQ(sub.nodes[i].right, direct.nodes[i].right) << "node " << i;
      ASSERT_EQ(sub.nodes[i].default_left, direct.nodes[i].default_left) << "node " << i;
    }
    EXPECT_EQ(sub.value, direct.value);
    // depth-limited, fractional weights (a boosting step)
    for (auto& v : w) v = static_cast<float>(rng.uniform());
    o.max_depth = 5;
    const Tree fdirect = grow_tree(bf, D.y.data(), w.data(), 2, o);
    o.subtract = true;
    const Tree fsub = grow_tree(bf, D.y.data(), w.data(), 2, o);
    ASSERT_EQ(fsub.size(), fdirect.size());
    for (int64_t i = 0; i < fsub.size(); ++i) {
      EXPECT_EQ(fsub.nodes[i].feature, fdirect.nodes[i].feature) << "node " << i;
      EXPECT_EQ(fsub.nodes[i].threshold, fdirect.nodes[i].threshold) << "node " << i;
    }
  }
}

TEST(TreeFastPaths, ForestScoresAreTheMeanOfItsTreesReferenceScores) {
  // Forest::predict_proba (fast walk, blocks of rows) against Tree::accumulate_proba tree by tree.
  const Data D = random_data(21, 600, true, true);
  const Data Q = random_data(22, 2500, true, true);  // more than one block of rows
  ForestOptions fo;
  fo.n_trees = 12;
  fo.tree.max_features = 3;
  fo.tree.max_bins = 255;
  const Forest f = fit_forest(D.set(), fo);
  const Tensor p = f.predict_proba(Q.view(), 2);
  std::vector<float> acc(static_cast<size_t>(Q.n * 2), 0.f);
  for (const Tree& t : f.trees) t.accumulate_proba(Q.view(), acc.data(), 1.0f);
  for (int64_t i = 0; i < Q.n * 2; ++i) ASSERT_EQ(p[i], acc[i] * (1.0f / 12)) << "at " << i;
}

// --- threads and seeds ------------------------------------------------------------------------

TEST(TreeEnsembles, ResultsDoNotDependOnTheThreadCount) {
  const Data& D = breast_cancer();
  for (const char* kind : {"random-forest", "bagged-trees", "boosted-trees"}) {
    json base = {{"seed", 7}};
    if (std::string(kind) == "boosted-trees") base["steps"] = 16;
    else base["trees"] = 24;
    Tensor ref;
    json ref_summary;
    for (int threads : {1, 2, 3}) {
      json o = base;
      o["threads"] = threads;
      auto m = make_learner(kind, o);
      m->fit(D.set());
      const Tensor p = m->predict_proba(D.view());
      if (threads == 1) {
        ref = p;
        ref_summary = m->summary();
      } else {
        expect_equal(p, ref);
        EXPECT_EQ(m->summary(), ref_summary) << kind;
      }
    }
  }
}

TEST(TreeEnsembles, SeedsChangeForestsAndOobErrorIsReported) {
  const Data& D = breast_cancer();
  auto a = make_learner("random-forest", {{"trees", 32}, {"seed", 1}});
  auto b = make_learner("random-forest", {{"trees", 32}, {"seed", 2}});
  a->fit(D.set());
  b->fit(D.set());
  const Tensor pa = a->predict_proba(D.view()), pb = b->predict_proba(D.view());
  bool differ = false;
  for (int64_t i = 0; i < pa.numel(); ++i) differ |= pa[i] != pb[i];
  EXPECT_TRUE(differ);
  const json s = a->summary();
  ASSERT_TRUE(s["oob_error"].is_number());
  EXPECT_GT(s["oob_error"].get<double>(), 0.0);
  EXPECT_LT(s["oob_error"].get<double>(), 0.08);
  EXPECT_EQ(s["oob_rows"].get<int64_t>(), D.n);
}

TEST(TreeEnsembles, BoostingSnapshotsEqualShorterRuns) {
  const Data& D = breast_cancer();
  auto m = make_learner("boosted-stumps", {{"steps", 16}});
  m->fit(D.set());
  ASSERT_EQ(m->steps(), 16);
  for (int s : {2, 4, 8}) {
    auto shorter = make_learner("boosted-stumps", {{"steps", s}});
    shorter->fit(D.set());
    const Tensor a = m->predict_proba_at(D.view(), s), b = shorter->predict_proba(D.view());
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6) << "steps " << s;
  }
  EXPECT_THROW(make_learner("tree")->predict_proba_at(D.view(), 2), LearnerError);
}

TEST(TreeEnsembles, XGBoostFitsPredictsAndRoundTrips) {
  const Data& D = breast_cancer();
  auto m = make_learner("xgboost", {{"trees", 20}, {"max_depth", 3}, {"threads", 1}});
  m->fit(D.set());
  const Tensor p = m->predict_proba(D.view());
  EXPECT_GT(accuracy(p, D.y, 2), 0.97);
  const Stored s = m->save();
  ASSERT_TRUE(s.meta.contains("xgboost_model"));
  auto back = load_learner(s.meta, s.arrays);
  expect_equal(back->predict_proba(D.view()), p);
  json bad = s.meta;
  bad["xgboost_model"] = "not a model";
  EXPECT_THROW(load_learner(bad, s.arrays), LearnerError);
}

// --- storage ----------------------------------------------------------------------------------

TEST(TreeStorage, EveryKindRoundTripsThroughArraysAndJson) {
  const Data& D = breast_cancer();
  for (const char* kind : {"tree", "random-forest", "bagged-trees", "boosted-trees", "boosted-stumps"}) {
    json o = json::object();
    if (std::string(kind).find("boosted") == 0) o["steps"] = 8;
    else if (std::string(kind) != "tree") o["trees"] = 8;
    auto m = make_learner(kind, o);
    m->fit(D.set());
    const Tensor p = m->predict_proba(D.view());
    const Stored s = m->save();
    expect_equal(load_learner(s.meta, s.arrays)->predict_proba(D.view()), p);
    const json j = m->to_json();
    expect_equal(learner_from_json(json::parse(j.dump()))->predict_proba(D.view()), p);
  }
}

TEST(TreeStorage, CorruptTreesAreClearErrors) {
  const Data& D = breast_cancer();
  auto m = make_learner("random-forest", {{"trees", 3}});
  m->fit(D.set());
  const Stored good = m->save();
  auto corrupt = [&](const std::string& name, int64_t i, float v) {
    Stored s = good;
    for (auto& [k, t] : s.arrays)
      if (k == name) {
        t = t.clone();
        t[i] = v;
      }
    return s;
  };
  const std::vector<std::tuple<std::string, int64_t, float, std::string>> cases = {
      {"left", 0, 0.f, "child index"},             // a cycle: the root its own child
      {"left", 0, 1e6f, "not an integer in"},      // out of range
      {"right", 0, 1.f, "child index"},            // both children the same node
      {"feature", 0, 9.f, "not an integer in"},    // feature ≥ d
      {"feature", 0, 0.5f, "not an integer in"},   // not an integer
      {"value", 0, 0.9f, "sum to 1"},              // probabilities not summing to 1
      {"value", 1, std::nanf(""), "probability"},  // NaN
      {"threshold", 0, std::nanf(""), "threshold"},
      {"tree_nodes", 1, 1e5f, "offsets"},
      {"default_left", 0, 2.f, "not an integer in"},
  };
  for (const auto& [name, i, v, msg] : cases) {
    const Stored s = corrupt(name, i, v);
    try {
      load_learner(s.meta, s.arrays);
      ADD_FAILURE() << name << "[" << i << "] = " << v << " was accepted";
    } catch (const LearnerError& e) {
      EXPECT_NE(std::string(e.what()).find(msg), std::string::npos) << name << ": " << e.what();
    }
  }
  Stored missing = good;
  missing.arrays.erase(missing.arrays.begin() + 3);
  EXPECT_THROW(load_learner(missing.meta, missing.arrays), LearnerError);
  Stored wrong_k = good;
  wrong_k.meta["n_classes"] = 3;
  EXPECT_THROW(load_learner(wrong_k.meta, wrong_k.arrays), LearnerError);
  EXPECT_THROW(learner_from_json(json::parse(R"({"kind": "tree"})")), LearnerError);
}

// --- bad input --------------------------------------------------------------------------------

TEST(TreeErrors, BadOptionsAndInputAreClearErrors) {
  const Data& D = breast_cancer();
  EXPECT_THROW(make_learner("tree", {{"min_samples_leaf", 0}}), LearnerError);
  EXPECT_THROW(make_learner("random-forest", {{"trees", 0}}), LearnerError);
  EXPECT_THROW(make_learner("boosted-stumps", {{"steps", 0}}), LearnerError);
  EXPECT_THROW(make_learner("boosted-stumps", {{"max_depth", 3}}), LearnerError);
  EXPECT_THROW(make_learner("tree", {{"colour", 1}}), LearnerError);
  EXPECT_THROW(make_learner("tree", {{"criterion", "purity"}}), LearnerError);
  EXPECT_THROW(make_learner("tree", {{"max_depth", "deep"}}), LearnerError);
  EXPECT_THROW(make_learner("forest"), LearnerError);
  EXPECT_THROW(make_learner("random-forest", {{"pruning", "ccp"}}), LearnerError);
  TreeOptions o;
  o.min_samples_leaf = 0;
  EXPECT_THROW(fit_tree(D.set(), o), LearnerError);
  ForestOptions fo;
  fo.n_trees = 0;
  EXPECT_THROW(fit_forest(D.set(), fo), LearnerError);
  // Labels: NaN or out of range.
  const float ylab[] = {0, 1, std::nanf("")};
  try {
    labels_from_floats(ylab, 3, 2);
    ADD_FAILURE();
  } catch (const LearnerError& e) {
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
  }
  Data bad = D;
  bad.y[5] = 2;
  EXPECT_THROW(fit_tree(bad.set(), TreeOptions{}), LearnerError);
  // Negative or NaN weights; all-zero weights.
  std::vector<float> w(D.n, 1.f);
  TrainSet t = D.set();
  t.w = w.data();
  w[3] = -1;
  EXPECT_THROW(fit_tree(t, TreeOptions{}), LearnerError);
  std::fill(w.begin(), w.end(), 0.f);
  EXPECT_THROW(fit_tree(t, TreeOptions{}), LearnerError);
  // A categorical feature with a value that is not a code.
  Data cat = D;
  cat.cats.assign(D.d, 0);
  cat.cats[0] = 3;  // values go to 10
  EXPECT_THROW(fit_tree(cat.set(), TreeOptions{}), LearnerError);
  // Wrong shapes at prediction; an unfitted model.
  auto m = make_learner("tree", {{"preset", "id3"}});
  EXPECT_THROW(m->predict_proba(D.view()), LearnerError);
  m->fit(D.set());
  EXPECT_THROW(m->predict_proba({D.X.data(), 2, 5}), LearnerError);
  EXPECT_THROW(make_learner("random-forest", {{"trees", 2}})->predict_proba(D.view()), LearnerError);
}

TEST(TreeErrors, AClassMissingFromABootstrapSampleKeepsAllColumns) {
  // Three classes, class 2 on one row only: most bootstrap samples miss it. Every tree still
  // has K columns (that class gets probability 0), and the forest's rows sum to 1.
  const Data& B = breast_cancer();
  Data D = B;
  D.K = 3;
  D.y[0] = 2;
  auto m = make_learner("random-forest", {{"trees", 16}});
  m->fit(D.set());
  const Tensor p = m->predict_proba(D.view());
  ASSERT_EQ(p.dim(1), 3);
  for (int64_t r = 0; r < D.n; ++r) EXPECT_NEAR(p[r * 3] + p[r * 3 + 1] + p[r * 3 + 2], 1.f, 1e-5);
  // Boosting on three classes where one is nearly absent still runs.
  auto b = make_learner("boosted-stumps", {{"steps", 8}});
  b->fit(D.set());
  EXPECT_GE(b->steps(), 1);
}

}  // namespace
}  // namespace bp::learners
