// The naive-bayes learner: against scikit-learn's GaussianNB and CategoricalNB
// (tests/fixtures/learners/gen_nb_fixtures.py), Fayyad–Irani cuts and the kernel density by hand,
// storage and bad input.
#include <cmath>

#include "backprop/learners/naive_bayes.hpp"
#include "../test_util.hpp"
#include "learner_fixture.hpp"

namespace bp::learners {
namespace {

using json = nlohmann::json;
using testing::Part;

const json& fixture() {
  static const json j = bp::testing::load_fixture("learners/nb.json");
  return j;
}

void expect_proba(const Tensor& p, const json& ref, double tol, const std::string& what) {
  ASSERT_EQ(p.dim(0), static_cast<int64_t>(ref.size())) << what;
  for (int64_t i = 0; i < p.dim(0); ++i)
    for (int c = 0; c < 2; ++c) ASSERT_NEAR(p[i * 2 + c], ref[i][c].get<double>(), tol) << what << " row " << i;
}

TEST(NaiveBayesVsSklearn, GaussianProbabilities) {
  int checked = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    const Part tr = testing::train_part(ds), te = testing::test_part(ds);
    auto m = make_learner("naive-bayes");  // numeric gaussian, var_smoothing 1e-9: GaussianNB's defaults
    m->fit(tr.set());
    expect_proba(m->predict_proba(te.view()), ds["gaussian_proba"], 1e-5, name);
    ++checked;
  }
  EXPECT_EQ(checked, 3);  // Ionosphere's constant second feature included
}

TEST(NaiveBayesVsSklearn, CategoricalProbabilities) {
  const json& ds = fixture()["datasets"]["BreastCancer"];
  Part tr = testing::train_part(ds), te = testing::test_part(ds);
  for (float& v : tr.X) v -= 1;  // values 1..10 are the codes 0..9
  for (float& v : te.X) v -= 1;
  TrainSet t = tr.set();
  t.categories.assign(static_cast<size_t>(tr.d), 10);
  auto m = make_learner("naive-bayes", {{"alpha", 1.0}});
  m->fit(t);
  expect_proba(m->predict_proba(te.view()), ds["categorical_proba"], 1e-5, "CategoricalNB");
}

TEST(NaiveBayes, OneCategoricalFeatureByHand) {
  // class 0: codes 0, 0, 1; class 1: codes 1, 1, 1. Priors 1/2 each; with alpha 1,
  // P(0 | c0) = (2+1)/(3+2) = 3/5, P(0 | c1) = (0+1)/(3+2) = 1/5, so P(c0 | 0) = 3/4;
  // P(1 | c0) = 2/5, P(1 | c1) = 4/5, so P(c0 | 1) = 1/3. A missing value leaves the priors.
  std::vector<float> X = {0, 0, 1, 1, 1, 1};
  std::vector<int32_t> y = {0, 0, 0, 1, 1, 1};
  TrainSet t;
  t.X = {X.data(), 6, 1};
  t.y = y.data();
  t.n_classes = 2;
  t.categories = {2};
  auto m = make_learner("naive-bayes");
  m->fit(t);
  const std::vector<float> q = {0, 1, NAN, 7};
  const Tensor p = m->predict_proba({q.data(), 4, 1});
  EXPECT_NEAR(p[0], 0.75, 1e-6);
  EXPECT_NEAR(p[2], 1.0 / 3, 1e-6);
  EXPECT_NEAR(p[4], 0.5, 1e-6);
  EXPECT_NEAR(p[6], 0.5, 1e-6);  // a code the feature does not have: no evidence
  // alpha 0.5: P(0 | c0) = 2.5/4, P(0 | c1) = 0.5/4, P(c0 | 0) = 5/6
  auto h = make_learner("naive-bayes", {{"alpha", 0.5}});
  h->fit(t);
  EXPECT_NEAR(h->predict_proba({q.data(), 1, 1})[0], 5.0 / 6, 1e-6);
}

TEST(NaiveBayes, FayyadIraniCutsOnHandMadeSequences) {
  auto cuts_of = [](const std::vector<float>& x, const std::vector<int32_t>& y) {
    return mdl_cuts(x.data(), y.data(), nullptr, static_cast<int64_t>(x.size()), 1, 2);
  };
  // 1..8, classes 0 0 0 0 1 1 1 1: gain 1 bit > (log2 7 + log2 7 − 2)/8 = 0.45: one cut at 4.5.
  EXPECT_EQ(cuts_of({1, 2, 3, 4, 5, 6, 7, 8}, {0, 0, 0, 0, 1, 1, 1, 1}), std::vector<float>({4.5f}));
  // The same in another order, with a missing value: the same cut.
  EXPECT_EQ(cuts_of({8, NAN, 1, 5, 2, 7, 3, 6, 4}, {1, 0, 0, 1, 0, 1, 0, 1, 0}), std::vector<float>({4.5f}));
  // 1..4 alternating: best gain 0.31 bit < the MDL bound 1.06: no cut.
  EXPECT_TRUE(cuts_of({1, 2, 3, 4}, {0, 1, 0, 1}).empty());
  // 1..48 in blocks of 16 of classes 0, 1, 0: first cut (leftmost of two equal) 16.5, gain 0.25
  // > 0.18; then on 17..48, gain 1 > 0.18: 32.5. On 1..12 in blocks of 4 the same gains fall
  // below the bound (0.25 < 0.54): no cut.
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 1; i <= 48; ++i) x.push_back(static_cast<float>(i)), y.push_back(i > 16 && i <= 32 ? 1 : 0);
  EXPECT_EQ(cuts_of(x, y), std::vector<float>({16.5f, 32.5f}));
  x.clear();
  y.clear();
  for (int i = 1; i <= 12; ++i) x.push_back(static_cast<float>(i)), y.push_back(i > 4 && i <= 8 ? 1 : 0);
  EXPECT_TRUE(cuts_of(x, y).empty());
  // A constant feature has no cut.
  EXPECT_TRUE(cuts_of({3, 3, 3, 3}, {0, 1, 0, 1}).empty());

  // discretize: the intervals' counts with alpha 1. 1..8: interval 0 holds 4 of class 0 and none of
  // class 1: P(x ≤ 4.5 | c0) = 5/6, P(x ≤ 4.5 | c1) = 1/6; priors equal: P(c0 | 2) = 5/6.
  std::vector<float> X = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int32_t> Y = {0, 0, 0, 0, 1, 1, 1, 1};
  TrainSet t;
  t.X = {X.data(), 8, 1};
  t.y = Y.data();
  t.n_classes = 2;
  auto m = make_learner("naive-bayes", {{"numeric", "discretize"}});
  m->fit(t);
  const std::vector<float> q = {2, 100};
  const Tensor p = m->predict_proba({q.data(), 2, 1});
  EXPECT_NEAR(p[0], 5.0 / 6, 1e-6);
  EXPECT_NEAR(p[3], 5.0 / 6, 1e-6);
  EXPECT_EQ(m->summary()["cuts"], 1);
}

TEST(NaiveBayes, KernelDensityByHand) {
  // class 0: 0, 1; class 1: 2, 4. Distinct values 0 1 2 4: precision 4/3, floor 2/9.
  // Bandwidths: class 0 range 1 / √2, class 1 range 2 / √2.
  std::vector<float> X = {0, 1, 2, 4};
  std::vector<int32_t> y = {0, 0, 1, 1};
  TrainSet t;
  t.X = {X.data(), 4, 1};
  t.y = y.data();
  t.n_classes = 2;
  auto m = make_learner("naive-bayes", {{"numeric", "kernel"}});
  m->fit(t);
  auto normal = [](double x, double mu, double sd) { return std::exp(-0.5 * (x - mu) * (x - mu) / (sd * sd)) / (sd * std::sqrt(2 * M_PI)); };
  for (double x : {1.0, 1.7, 3.0, -5.0}) {
    const double s0 = 1 / std::sqrt(2.0), s1 = 2 / std::sqrt(2.0);
    const double p0 = 0.5 * (normal(x, 0, s0) + normal(x, 1, s0)), p1 = 0.5 * (normal(x, 2, s1) + normal(x, 4, s1));
    const float q = static_cast<float>(x);
    EXPECT_NEAR(m->predict_proba({&q, 1, 1})[1], p1 / (p0 + p1), 1e-6) << x;
  }
  // Far from every kernel the densities underflow in linear space, not in log space.
  const float far = 60.f;
  EXPECT_NEAR(m->predict_proba({&far, 1, 1})[1], 1.0, 1e-6);
}

TEST(NaiveBayes, ZeroVarianceAndMissingValues) {
  // Every feature constant: the variances are var_smoothing, every class's density the same:
  // the priors (2/3, 1/3) come back.
  std::vector<float> X = {5, 5, 5};
  std::vector<int32_t> y = {0, 0, 1};
  TrainSet t;
  t.X = {X.data(), 3, 1};
  t.y = y.data();
  t.n_classes = 2;
  auto m = make_learner("naive-bayes");
  m->fit(t);
  const std::vector<float> q = {5, NAN};
  const Tensor p = m->predict_proba({q.data(), 2, 1});
  EXPECT_NEAR(p[1], 1.0 / 3, 1e-6);
  EXPECT_NEAR(p[3], 1.0 / 3, 1e-6);  // missing: the priors
  // A constant value within one class only: finite probabilities, that class where the value is.
  std::vector<float> X2 = {1, 1, 2, 3};
  std::vector<int32_t> y2 = {0, 0, 1, 1};
  t.X = {X2.data(), 4, 1};
  t.y = y2.data();
  m->fit(t);
  const float one = 1.f;
  EXPECT_NEAR(m->predict_proba({&one, 1, 1})[0], 1.0, 1e-6);
  // Missing training values are left out of the statistics.
  std::vector<float> X3 = {0, NAN, 1, 10, 11, NAN};
  std::vector<int32_t> y3 = {0, 0, 0, 1, 1, 1};
  t.X = {X3.data(), 6, 1};
  t.y = y3.data();
  for (const char* numeric : {"gaussian", "kernel", "discretize"}) {
    auto k = make_learner("naive-bayes", {{"numeric", numeric}});
    k->fit(t);
    const float v = 0.5f;
    EXPECT_GT(k->predict_proba({&v, 1, 1})[0], 0.5f) << numeric;
  }
}

TEST(NaiveBayes, SaveLoadRoundTripAndCorruptFiles) {
  const json& ds = fixture()["datasets"]["Sonar"];
  const Part tr = testing::train_part(ds), te = testing::test_part(ds);
  for (const char* numeric : {"gaussian", "kernel", "discretize"}) {
    auto m = make_learner("naive-bayes", {{"numeric", numeric}});
    m->fit(tr.set());
    const Stored s = m->save();
    auto back = load_learner(s.meta, s.arrays);
    auto again = learner_from_json(m->to_json());
    const Tensor p = m->predict_proba(te.view()), q = back->predict_proba(te.view()), r = again->predict_proba(te.view());
    for (int64_t i = 0; i < p.numel(); ++i) {
      ASSERT_EQ(p[i], q[i]) << numeric;
      ASSERT_EQ(p[i], r[i]) << numeric;
    }
    // the decision function is the compressed log-odds sign(z)·ln(1 + |z|), z = log(p1/p0),
    // checked where the probabilities are not saturated
    const Tensor f = m->decision_function(te.view());
    int unsaturated = 0;
    for (int64_t i = 0; i < te.n; ++i) {
      ASSERT_TRUE(std::isfinite(f[i]));
      const double p1 = p[2 * i + 1], p0 = p[2 * i];
      if (p1 > 1e-4 && p0 > 1e-4) {
        const double z = std::log(p1 / p0);
        EXPECT_NEAR(f[i], std::copysign(std::log1p(std::fabs(z)), z), 1e-3 * (1 + std::fabs(f[i]))) << numeric << " row " << i;
        ++unsaturated;
      } else {
        EXPECT_EQ(f[i] > 0, p1 > p0) << numeric << " row " << i;
      }
    }
    EXPECT_GT(unsaturated, 0) << numeric;
    auto expect_bad = [&](json meta, const FlatArrays& a, const std::string& what) {
      EXPECT_THROW(load_learner(meta, a), LearnerError) << numeric << ": " << what;
    };
    {
      json meta = s.meta;
      meta["var"][0] = -1.0;
      expect_bad(meta, s.arrays, "negative variance");
    }
    {
      json meta = s.meta;
      meta["offset"].push_back(3);
      expect_bad(meta, s.arrays, "offsets of the wrong size");
    }
    {
      json meta = s.meta;
      meta["class_prior"] = {0.0, 0.0};
      expect_bad(meta, s.arrays, "no class");
    }
    {
      json meta = s.meta;
      meta["options"]["numeric"] = numeric == std::string("discretize") ? "gaussian" : "discretize";
      expect_bad(meta, s.arrays, "mode disagreeing with the stored bins");
    }
    expect_bad(s.meta, {}, "no arrays");
  }
}

TEST(NaiveBayes, OptionsAndDecisionFunctionOfManyClasses) {
  EXPECT_THROW(make_learner("naive-bayes", {{"numeric", "poisson"}}), LearnerError);
  EXPECT_THROW(make_learner("naive-bayes", {{"alpha", 0.0}}), LearnerError);
  EXPECT_THROW(make_learner("naive-bayes", {{"k", 3}}), LearnerError);
  std::vector<float> X = {0, 1, 2, 3, 4, 5};
  std::vector<int32_t> y = {0, 0, 1, 1, 2, 2};
  TrainSet t;
  t.X = {X.data(), 6, 1};
  t.y = y.data();
  t.n_classes = 3;
  auto m = make_learner("naive-bayes");
  m->fit(t);
  const Tensor p = m->predict_proba(t.X);
  EXPECT_EQ(p.dim(1), 3);
  EXPECT_THROW(m->decision_function(t.X), LearnerError);
}

}  // namespace
}  // namespace bp::learners
