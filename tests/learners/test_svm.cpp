// The svm learner: against scikit-learn's SVC (tests/fixtures/learners/gen_svm_fixtures.py),
// our BLAS decision function against libsvm's own svm_predict_values, storage, bad input.
#include <cmath>

#include "backprop/learners/svm.hpp"
#include "../test_util.hpp"
#include "learner_fixture.hpp"

namespace bp::learners {
namespace {

using json = nlohmann::json;
using testing::Part;

const json& fixture() {
  static const json j = bp::testing::load_fixture("learners/svm.json");
  return j;
}

json options_of(const json& c, double tolerance) {
  return {{"kernel", c["kernel"]}, {"C", c["C"]},         {"gamma", c["gamma"]},
          {"degree", c["degree"]}, {"coef0", c["coef0"]}, {"tolerance", tolerance}};
}

TEST(SvmVsSklearn, DecisionValuesAndScaledProbabilities) {
  int checked = 0;
  for (const auto& [name, ds] : fixture()["datasets"].items()) {
    const Part tr = testing::train_part(ds), te = testing::test_part(ds);
    for (const auto& c : ds["svc"]) {
      const std::string what = name + " " + c.dump().substr(0, 80);
      auto m = make_learner("svm", options_of(c, ds["tolerance"]));
      m->fit(tr.set());
      // The same support vectors, up to one whose α lands at 0 on one side and not the other.
      EXPECT_NEAR(m->summary()["support_vectors"].get<double>(), c["n_support"].get<double>(), 1.0) << what;
      const Tensor f = m->decision_function(te.view());
      const auto ref = c["decision_test"].get<std::vector<double>>();
      ASSERT_EQ(f.numel(), static_cast<int64_t>(ref.size()));
      double worst = 0;
      for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(f[i] - ref[i]) / (1 + std::fabs(ref[i])));
      EXPECT_LT(worst, 2e-5) << what;  // measured: 3.3e-6 at worst
      // The paper's probability: scaled by the training set's least and greatest decision value.
      const double lo = c["train_min"], hi = c["train_max"];
      const Tensor p = m->predict_proba(te.view());
      for (size_t i = 0; i < ref.size(); ++i) {
        const double want = std::clamp((ref[i] - lo) / (hi - lo), 0.0, 1.0);
        ASSERT_NEAR(p[2 * i + 1], want, 1e-3) << what << " row " << i;
        ASSERT_NEAR(p[2 * i] + p[2 * i + 1], 1.0, 1e-6);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 18);
}

TEST(Svm, BlasDecisionEqualsLibsvmsOwn) {
  const json& ds = fixture()["datasets"]["Sonar"];
  const Part tr = testing::train_part(ds), te = testing::test_part(ds);
  for (const char* kernel : {"linear", "poly", "rbf"}) {
    SvmOptions o;
    o.kernel = kernel;
    o.degree = 3;
    o.coef0 = 0.5;
    const SvmModel m = SvmModel::fit(tr.set(), o);
    const auto a = m.decision(te.view()), b = m.decision_libsvm(te.view());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::fabs(b[i]))) << kernel << " row " << i;
  }
}

TEST(Svm, SaveLoadRoundTripAndDeterminism) {
  const json& ds = fixture()["datasets"]["Ionosphere"];
  const Part tr = testing::train_part(ds), te = testing::test_part(ds);
  auto m = make_learner("svm", {{"kernel", "poly"}, {"degree", 2}, {"coef0", 1.0}, {"C", 0.5}});
  m->fit(tr.set());
  const Stored s = m->save();
  auto back = load_learner(s.meta, s.arrays);
  auto again = learner_from_json(m->to_json());
  const Tensor f = m->decision_function(te.view()), g = back->decision_function(te.view()), h = again->decision_function(te.view());
  const Tensor p = m->predict_proba(te.view()), q = back->predict_proba(te.view());
  for (int64_t i = 0; i < f.numel(); ++i) {
    ASSERT_EQ(f[i], g[i]);
    ASSERT_EQ(f[i], h[i]);
  }
  for (int64_t i = 0; i < p.numel(); ++i) ASSERT_EQ(p[i], q[i]);
  auto m2 = make_learner("svm", {{"kernel", "poly"}, {"degree", 2}, {"coef0", 1.0}, {"C", 0.5}});
  m2->fit(tr.set());
  const Tensor f2 = m2->decision_function(te.view());
  for (int64_t i = 0; i < f.numel(); ++i) ASSERT_EQ(f[i], f2[i]);
}

TEST(Svm, CorruptStoredModelsAreRefused) {
  const json& ds = fixture()["datasets"]["BreastCancer"];
  const Part tr = testing::train_part(ds);
  auto m = make_learner("svm", {{"kernel", "rbf"}});
  m->fit(tr.set());
  const Stored s = m->save();
  auto expect_bad = [&](json meta, FlatArrays a, const std::string& what) {
    EXPECT_THROW(load_learner(meta, a), LearnerError) << what;
  };
  {
    json meta = s.meta;
    meta["coef"].erase(0);
    expect_bad(meta, s.arrays, "one coefficient fewer");
  }
  {
    json meta = s.meta;
    meta["score_min"] = 1e9;
    expect_bad(meta, s.arrays, "score range inverted");
  }
  {
    json meta = s.meta;
    meta["gamma_used"] = -1.0;
    expect_bad(meta, s.arrays, "negative gamma");
  }
  {
    json meta = s.meta;
    meta.erase("rho");
    expect_bad(meta, s.arrays, "no rho");
  }
  expect_bad(s.meta, {}, "no support vectors");
  {
    FlatArrays a = s.arrays;
    a[0].second = Tensor({3}, 0.f);
    expect_bad(s.meta, a, "support vectors of the wrong size");
  }
  {
    json meta = s.meta;
    meta["options"]["kernel"] = "sigmoid";
    expect_bad(meta, s.arrays, "unknown kernel");
  }
}

TEST(Svm, BadInputIsAClearError) {
  std::vector<float> X = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<int32_t> y = {0, 1, 0, 1, 0, 1, 0, 1};
  TrainSet t;
  t.X = {X.data(), 4, 2};
  t.y = y.data();
  t.n_classes = 2;
  auto m = make_learner("svm");
  X[3] = NAN;
  try {
    m->fit(t);
    FAIL() << "NaN accepted";
  } catch (const LearnerError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  X[3] = 3;
  t.n_classes = 3;
  y[2] = 2;
  EXPECT_THROW(m->fit(t), LearnerError);  // three classes
  t.n_classes = 2;
  y = {1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_THROW(m->fit(t), LearnerError);  // one class
  EXPECT_THROW(make_learner("svm", {{"kernel", "sigmoid"}}), LearnerError);
  EXPECT_THROW(make_learner("svm", {{"C", 0.0}}), LearnerError);
  EXPECT_THROW(make_learner("svm", {{"nu", 0.5}}), LearnerError);
  EXPECT_THROW(make_learner("svm", {{"degree", 2.5}}), LearnerError);
  EXPECT_THROW(m->predict_proba(t.X), LearnerError);  // not fitted
}

TEST(Svm, CategoricalFeaturesAreOneHot) {
  // Feature 1 is categorical with 3 codes: the learner must equal one fitted on its one-hot form.
  std::vector<float> X, Xh;
  std::vector<int32_t> y;
  for (int i = 0; i < 60; ++i) {
    const float a = static_cast<float>((i * 37) % 11) / 5.f - 1.f;
    const int c = (i * 7) % 3;
    X.insert(X.end(), {a, static_cast<float>(c)});
    Xh.insert(Xh.end(), {a, c == 0 ? 1.f : 0.f, c == 1 ? 1.f : 0.f, c == 2 ? 1.f : 0.f});
    y.push_back((a + (c == 1 ? 0.8f : -0.3f)) > 0 ? 1 : 0);
  }
  TrainSet t, th;
  t.X = {X.data(), 60, 2};
  t.y = y.data();
  t.n_classes = 2;
  t.categories = {0, 3};
  th.X = {Xh.data(), 60, 4};
  th.y = y.data();
  th.n_classes = 2;
  auto m = make_learner("svm", {{"gamma", 0.25}}), mh = make_learner("svm", {{"gamma", 0.25}});
  m->fit(t);
  mh->fit(th);
  const Tensor f = m->decision_function(t.X), fh = mh->decision_function(th.X);
  for (int64_t i = 0; i < 60; ++i) ASSERT_NEAR(f[i], fh[i], 1e-6);
  const Stored s = m->save();
  EXPECT_EQ(s.meta["categories"], json::array({0, 3}));
  X[1] = 3;  // not a code of the 3 categories
  EXPECT_THROW(m->predict_proba(t.X), LearnerError);
}

}  // namespace
}  // namespace bp::learners
