// Trees, AdaBoost SAMME and forests against scikit-learn 1.2, through the fixtures that
// tests/fixtures/learners/gen_tree_fixtures.py writes (the data sets are inside the fixture).
#include <cmath>
#include <numeric>

#include "backprop/eval/metrics.hpp"
#include "backprop/learners/ensemble.hpp"
#include "backprop/learners/tree.hpp"
#include "../test_util.hpp"

namespace bp::learners {
namespace {

const nlohmann::json& fixture() {
  static const nlohmann::json j = testing::load_fixture("learners/trees.json");
  return j;
}

struct Data {
  std::vector<float> X;
  std::vector<int32_t> y;
  int64_t n = 0, d = 0;
  TrainSet set() const {
    TrainSet t;
    t.X = {X.data(), n, d};
    t.y = y.data();
    t.n_classes = 2;
    return t;
  }
};

Data load(const nlohmann::json& ds) {
  Data D;
  for (const auto& row : ds["X"]) {
    D.d = static_cast<int64_t>(row.size());
    for (const auto& v : row) D.X.push_back(v.get<float>());
  }
  D.y = ds["y"].get<std::vector<int32_t>>();
  D.n = static_cast<int64_t>(D.y.size());
  return D;
}

// Same nodes (preorder, as scikit-learn numbers them), split features, thresholds and counts.
void expect_same_tree(const Tree& t, const nlohmann::json& ref, const std::string& what) {
  const auto feat = ref["feature"].get<std::vector<int>>();
  ASSERT_EQ(t.size(), static_cast<int64_t>(feat.size())) << what;
  for (size_t i = 0; i < feat.size(); ++i) {
    const auto& nd = t.nodes[i];
    const int sk_left = ref["left"][i], sk_right = ref["right"][i];
    ASSERT_EQ(nd.left, sk_left) << what << " node " << i;
    ASSERT_EQ(nd.right, sk_right) << what << " node " << i;
    if (sk_left >= 0) {
      ASSERT_EQ(nd.feature, feat[i]) << what << " node " << i;
      const double thr = ref["threshold"][i];
      EXPECT_NEAR(nd.threshold, thr, 1e-6 * std::max(1.0, std::fabs(thr))) << what << " node " << i;
    }
    for (int k = 0; k < 2; ++k) EXPECT_NEAR(t.counts[i * 2 + k], ref["counts"][i][k].get<double>(), 1e-4) << what << " node " << i;
  }
}

TEST(TreesVsSklearn, DecisionTreeStructureAndProbabilities) {
  int checked = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    const Data D = load(ds);
    for (const auto& ref : ds["trees"]) {
      TreeOptions o;
      o.criterion = parse_criterion(ref["criterion"]);
      o.max_depth = ref["max_depth"].is_null() ? 0 : ref["max_depth"].get<int>();
      o.min_samples_leaf = ref["min_samples_leaf"];
      const std::string what = name + " " + ref["criterion"].get<std::string>() + " depth " + ref["max_depth"].dump() + " leaf " +
                               ref["min_samples_leaf"].dump();
      const Tree t = fit_tree(D.set(), o);
      expect_same_tree(t, ref, what);
      const Tensor p = t.predict_proba({D.X.data(), D.n, D.d});
      for (int64_t i = 0; i < D.n; ++i)
        for (int k = 0; k < 2; ++k) ASSERT_NEAR(p[i * 2 + k], ref["proba"][i][k].get<double>(), 1e-6) << what << " row " << i;
      ++checked;
    }
  }
  EXPECT_GE(checked, 12);
}

TEST(TreesVsSklearn, CostComplexityPathAndPrunedTree) {
  int checked = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    if (ds["ccp"].is_null()) continue;
    const Data D = load(ds);
    const auto& c = ds["ccp"];
    TreeOptions o;
    o.criterion = Criterion::gini;
    o.max_depth = c["tree"]["max_depth"].is_null() ? 0 : c["tree"]["max_depth"].get<int>();
    o.min_samples_leaf = c["tree"]["min_samples_leaf"];
    const Tree full = fit_tree(D.set(), o);
    const auto ours = ccp_alphas(full, Criterion::gini);
    // scikit-learn's path repeats an alpha when two links are equally weak; ours lists it once.
    std::vector<double> sk;
    for (double a : c["alphas"].get<std::vector<double>>())
      if (sk.empty() || a > sk.back() + 1e-12) sk.push_back(a);
    ASSERT_EQ(ours.size(), sk.size()) << name;
    for (size_t i = 0; i < sk.size(); ++i) EXPECT_NEAR(ours[i], sk[i], 1e-9) << name << " alpha " << i;
    o.pruning = Pruning::cost_complexity;
    o.ccp_alpha = c["alpha"];
    expect_same_tree(fit_tree(D.set(), o), c["tree"], name + " pruned");
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(TreesVsSklearn, AdaBoostSammeOnStumps) {
  int checked = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    if (ds["adaboost"].is_null()) continue;
    const Data D = load(ds);
    const auto& ab = ds["adaboost"];
    BoostOptions o;
    o.steps = ab["n_estimators"];
    o.tree.max_depth = 1;
    const Boosted b = fit_adaboost(D.set(), o);
    ASSERT_EQ(b.steps(), o.steps) << name;
    for (int i = 0; i < b.steps(); ++i) {
      const auto& st = ab["stumps"][i];
      ASSERT_EQ(b.trees[i].nodes[0].feature, st["feature"][0].get<int>()) << name << " step " << i;
      EXPECT_NEAR(b.trees[i].nodes[0].threshold, st["threshold"][0].get<double>(), 1e-6) << name << " step " << i;
      EXPECT_NEAR(b.alpha[i], ab["weights"][i].get<double>(), 1e-5 * std::max(1.0, std::fabs(b.alpha[i]))) << name << " step " << i;
      EXPECT_NEAR(b.error[i], ab["errors"][i].get<double>(), 1e-6) << name << " step " << i;
    }
    const Tensor p = b.predict_proba({D.X.data(), D.n, D.d});
    const Tensor dec = b.decision({D.X.data(), D.n, D.d});
    for (int64_t r = 0; r < D.n; ++r) {
      ASSERT_NEAR(dec[r], ab["decision"][r].get<double>(), 1e-5) << name << " row " << r;
      ASSERT_NEAR(p[r * 2 + 1], ab["proba"][r][1].get<double>(), 1e-5) << name << " row " << r;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& v) {
  MeanSd m;
  m.mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  for (double x : v) m.sd += (x - m.mean) * (x - m.mean);
  m.sd = std::sqrt(m.sd / (v.size() - 1));
  return m;
}

// Our forests' accuracy and ROC area over as many seeds as scikit-learn's, on the same split:
// the means must agree within three standard errors of their difference (plus 0.005).
void check_ensemble(const std::string& model, const ForestOptions& base) {
  const auto& e = fixture()["ensembles"];
  const Data D = load(fixture()["datasets"]["Ionosphere"]);
  const auto train = e["train"].get<std::vector<int64_t>>(), test = e["test"].get<std::vector<int64_t>>();
  auto take = [&](const std::vector<int64_t>& rows, std::vector<float>& X, std::vector<int32_t>& y) {
    for (int64_t r : rows) {
      X.insert(X.end(), D.X.begin() + r * D.d, D.X.begin() + (r + 1) * D.d);
      y.push_back(D.y[r]);
    }
  };
  std::vector<float> Xtr, Xte;
  std::vector<int32_t> ytr, yte;
  take(train, Xtr, ytr);
  take(test, Xte, yte);
  TrainSet t;
  t.X = {Xtr.data(), static_cast<int64_t>(ytr.size()), D.d};
  t.y = ytr.data();
  t.n_classes = 2;
  const int seeds = e["seeds"];
  std::vector<double> acc, auc;
  for (int s = 0; s < seeds; ++s) {
    ForestOptions o = base;
    o.seed = static_cast<uint64_t>(s);
    const Forest f = fit_forest(t, o);
    const Tensor p = f.predict_proba({Xte.data(), static_cast<int64_t>(yte.size()), D.d});
    std::vector<double> score;
    std::vector<int> lab(yte.begin(), yte.end());
    double right = 0;
    for (size_t i = 0; i < yte.size(); ++i) {
      score.push_back(p[i * 2 + 1]);
      right += (p[i * 2 + 1] > 0.5) == (yte[i] == 1);
    }
    acc.push_back(right / yte.size());
    auc.push_back(eval::roc_auc(score, lab));
  }
  const auto& ref = e["models"][model];
  for (const auto& [label, ours, theirs] :
       {std::tuple{"accuracy", acc, ref["accuracy"].get<std::vector<double>>()}, std::tuple{"roc", auc, ref["auc"].get<std::vector<double>>()}}) {
    const MeanSd a = mean_sd(ours), b = mean_sd(theirs);
    const double se = std::sqrt(a.sd * a.sd / ours.size() + b.sd * b.sd / theirs.size());
    EXPECT_NEAR(a.mean, b.mean, 3 * se + 0.005) << model << " " << label << ": ours " << a.mean << " ± " << a.sd << ", scikit-learn "
                                                << b.mean << " ± " << b.sd;
  }
}

TEST(TreesVsSklearn, RandomForestAccuracyAndRocWithinNoise) {
  ForestOptions o;
  o.n_trees = 100;
  o.tree.max_features = 4;
  check_ensemble("random-forest", o);
}

TEST(TreesVsSklearn, BaggedTreesAccuracyAndRocWithinNoise) {
  ForestOptions o;
  o.n_trees = 100;
  check_ensemble("bagged-trees", o);
}

}  // namespace
}  // namespace bp::learners
