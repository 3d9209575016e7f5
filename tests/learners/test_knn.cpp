// The knn learner: against scikit-learn's KNeighborsClassifier (tests/fixtures/learners/
// gen_knn_fixtures.py), the grid of k from one sort, hand-worked cases, gain-ratio weights,
// storage and bad input.
#include <cmath>
#include <set>

#include "backprop/learners/knn.hpp"
#include "../test_util.hpp"
#include "learner_fixture.hpp"

namespace bp::learners {
namespace {

using json = nlohmann::json;
using testing::Part;

const json& fixture() {
  static const json j = bp::testing::load_fixture("learners/knn.json");
  return j;
}

TEST(KnnVsSklearn, ProbabilitiesForEveryKAndWeighting) {
  int checked = 0, skipped = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    const Part tr = testing::train_part(ds), te = testing::test_part(ds);
    for (const auto& run : ds["runs"]) {
      const std::string what = name + " k " + run["k"].dump() + " " + run["weights"].get<std::string>();
      auto m = make_learner("knn", {{"k", run["k"]}, {"weights", run["weights"]}});
      m->fit(tr.set());
      const Tensor p = m->predict_proba(te.view());
      const std::set<int64_t> amb(run["ambiguous"].begin(), run["ambiguous"].end());
      for (int64_t i = 0; i < te.n; ++i) {
        if (amb.count(i)) {
          ++skipped;
          continue;
        }
        for (int c = 0; c < 2; ++c) ASSERT_NEAR(p[i * 2 + c], run["proba"][i][c].get<double>(), 1e-5) << what << " row " << i;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20 * skipped);  // ties are rare: nearly every row is compared
  EXPECT_GT(checked, 1500);
}

TEST(Knn, GridFromOneSortEqualsOneKAtATime) {
  const json& ds = fixture()["datasets"]["Sonar"];
  const Part tr = testing::train_part(ds), te = testing::test_part(ds);
  for (const char* w : {"uniform", "distance"}) {
    KnnOptions o;
    o.weights = w;
    const KnnModel m = KnnModel::fit(tr.set(), o);
    const std::vector<int> ks = {1, 2, 7, 30, static_cast<int>(tr.n)};
    const auto grid = m.predict_proba_grid(te.view(), ks);
    ASSERT_EQ(grid.size(), ks.size());
    for (size_t g = 0; g < ks.size(); ++g) {
      KnnOptions o1 = o;
      o1.k = ks[g];
      const Tensor one = KnnModel::fit(tr.set(), o1).predict_proba(te.view());
      for (int64_t i = 0; i < one.numel(); ++i) ASSERT_EQ(grid[g][i], one[i]) << w << " k " << ks[g];
    }
    // The same through the Learner interface.
    auto l = make_learner("knn", {{"weights", w}});
    l->fit(tr.set());
    const auto lg = knn_predict_proba_grid(*l, te.view(), ks);
    for (size_t g = 0; g < ks.size(); ++g)
      for (int64_t i = 0; i < lg[g].numel(); ++i) ASSERT_EQ(lg[g][i], grid[g][i]);
    EXPECT_THROW(knn_predict_proba_grid(*make_learner("naive-bayes"), te.view(), ks), LearnerError);
    // k = every training row: uniform votes are the class frequencies.
    if (std::string(w) == "uniform") {
      double ones = 0;
      for (int32_t v : tr.y) ones += v;
      EXPECT_NEAR(grid.back()[1], ones / static_cast<double>(tr.n), 1e-6);
    }
  }
}

TEST(Knn, OneDimensionalTwoPointsByHand) {
  std::vector<float> X = {0.f, 1.f};
  std::vector<int32_t> y = {0, 1};
  TrainSet t;
  t.X = {X.data(), 2, 1};
  t.y = y.data();
  t.n_classes = 2;
  KnnOptions o;
  o.k = 2;
  o.standardize = false;
  const std::vector<float> q = {0.25f, 0.5f, 1.f};
  const MatrixView Q{q.data(), 3, 1};
  const KnnModel u = KnnModel::fit(t, o);
  const auto pu = u.predict_proba_grid(Q, {1, 2});
  EXPECT_EQ(pu[0][1], 0.f);   // 0.25: nearest is x = 0
  EXPECT_EQ(pu[0][3], 0.f);   // 0.5: a tie, broken by index order: row 0
  EXPECT_EQ(pu[0][5], 1.f);   // 1: itself
  EXPECT_FLOAT_EQ(pu[1][1], 0.5f);
  o.weights = "distance";
  const KnnModel dw = KnnModel::fit(t, o);
  const auto pd = dw.predict_proba_grid(Q, {2});
  EXPECT_FLOAT_EQ(pd[0][1], 0.25f);  // weights 1/0.25 = 4 and 1/0.75 = 4/3: P(1) = (4/3)/(16/3)
  EXPECT_FLOAT_EQ(pd[0][3], 0.5f);
  EXPECT_EQ(pd[0][5], 1.f);  // an exact match alone votes
  // A 0/1 column is left as it is by standardize (the pipeline's one-hot indicators are).
  o.standardize = true;
  const auto ps = KnnModel::fit(t, o).predict_proba_grid(Q, {2});
  EXPECT_FLOAT_EQ(ps[0][1], 0.25f);
}

TEST(Knn, GainRatioWeighsInformativeFeatures) {
  // Feature 0 decides the class (i >= 20); feature 1 (i odd) is independent of it.
  std::vector<float> X;
  std::vector<int32_t> y;
  for (int i = 0; i < 40; ++i) {
    X.insert(X.end(), {static_cast<float>(i) / 40.f, static_cast<float>(i % 2)});
    y.push_back(i >= 20 ? 1 : 0);
  }
  TrainSet t;
  t.X = {X.data(), 40, 2};
  t.y = y.data();
  t.n_classes = 2;
  const auto gr = gain_ratios(t);
  EXPECT_NEAR(gr[0], 1.0, 1e-12);  // one MDL cut at 0.4875: gain 1 bit, split information 1 bit
  EXPECT_EQ(gr[1], 0.0);          // no gain, no accepted cut
  KnnOptions o;
  o.k = 1;
  o.standardize = false;
  o.metric = "gain-ratio";
  const KnnModel g = KnnModel::fit(t, o);
  o.metric = "euclidean";
  const KnnModel e = KnnModel::fit(t, o);
  // (0.499, 1): by feature 0 alone row 20 (0.5, class 1) is nearest; with feature 1, row 19
  // (0.475, 1; class 0).
  const std::vector<float> q = {0.499f, 1.f};
  EXPECT_EQ(g.predict_proba({q.data(), 1, 2})[1], 1.f);
  EXPECT_EQ(e.predict_proba({q.data(), 1, 2})[1], 0.f);
}

TEST(Knn, BadInputIsAClearError) {
  std::vector<float> X = {0, 1, 2, 3};
  std::vector<int32_t> y = {0, 1, 0, 1};
  TrainSet t;
  t.X = {X.data(), 4, 1};
  t.y = y.data();
  t.n_classes = 2;
  auto m = make_learner("knn", {{"k", 5}});
  try {
    m->fit(t);
    FAIL() << "k > rows accepted";
  } catch (const LearnerError& e) {
    EXPECT_NE(std::string(e.what()).find("k = 5 is more than the 4 training rows"), std::string::npos) << e.what();
  }
  KnnOptions o;
  o.k = 3;
  const KnnModel km = KnnModel::fit(t, o);
  EXPECT_THROW(km.predict_proba_grid(t.X, {1, 5}), LearnerError);
  EXPECT_THROW(km.predict_proba_grid(t.X, {}), LearnerError);
  const std::vector<float> q = {NAN};
  EXPECT_THROW(km.predict_proba({q.data(), 1, 1}), LearnerError);
  const std::vector<float> q2 = {1, 2};
  EXPECT_THROW(km.predict_proba({q2.data(), 1, 2}), LearnerError);  // wrong width
  EXPECT_THROW(make_learner("knn", {{"weights", "gaussian"}}), LearnerError);
  EXPECT_THROW(make_learner("knn", {{"metric", "manhattan"}}), LearnerError);
  EXPECT_THROW(make_learner("knn", {{"k", 0}}), LearnerError);
  std::vector<float> w = {1, 2, 1, 1};
  t.w = w.data();
  EXPECT_THROW(make_learner("knn", {{"k", 1}})->fit(t), LearnerError);  // weights not supported
}

TEST(Knn, SaveLoadRoundTripAndCorruptFiles) {
  const json& ds = fixture()["datasets"]["Ionosphere"];
  const Part tr = testing::train_part(ds), te = testing::test_part(ds);
  auto m = make_learner("knn", {{"k", 7}, {"weights", "distance"}, {"metric", "gain-ratio"}});
  m->fit(tr.set());
  const Stored s = m->save();
  auto back = load_learner(s.meta, s.arrays);
  auto again = learner_from_json(m->to_json());
  const Tensor p = m->predict_proba(te.view()), q = back->predict_proba(te.view()), r = again->predict_proba(te.view());
  for (int64_t i = 0; i < p.numel(); ++i) {
    ASSERT_EQ(p[i], q[i]);
    ASSERT_EQ(p[i], r[i]);
  }
  auto expect_bad = [&](json meta, FlatArrays a, const std::string& what) {
    EXPECT_THROW(load_learner(meta, a), LearnerError) << what;
  };
  {
    json meta = s.meta;
    meta["options"]["k"] = tr.n + 1;
    expect_bad(meta, s.arrays, "k more than the stored rows");
  }
  {
    json meta = s.meta;
    meta["rows"] = tr.n - 1;
    expect_bad(meta, s.arrays, "rows disagree with the arrays");
  }
  {
    json meta = s.meta;
    meta["feature_weight"][0] = 2.0;
    expect_bad(meta, s.arrays, "feature weight > 1");
  }
  {
    FlatArrays a = s.arrays;
    for (auto& [k, v] : a)
      if (k == "knn_y") v[0] = 2;
    expect_bad(s.meta, a, "label out of range");
  }
  {
    FlatArrays a = s.arrays;
    a.pop_back();
    expect_bad(s.meta, a, "no labels");
  }
}

}  // namespace
}  // namespace bp::learners
