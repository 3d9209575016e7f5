// `backprop study`'s protocol: on a synthetic problem whose right ordering is known (XOR: no
// linear model can separate it, trees can), an interrupted study resumed equals an
// uninterrupted one, the same seed gives the same table at any thread count, the learner
// table, problem specifications and the above-median problems.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backprop/backend/backend.hpp"
#include "backprop/data/csv.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/problems.hpp"
#include "backprop/pipeline/study_learners.hpp"
#include "backprop/pipeline/study_run.hpp"
#include "../test_util.hpp"

using namespace bp;
namespace fs = std::filesystem;

namespace {

class StudyRun : public bp::testing::TempDirTest {
 protected:
  StudyRun() : TempDirTest("backprop_study") {}

  // XOR of two signs with 10 % label noise, plus two noise features: y = (x1 > 0) != (x2 > 0).
  std::string xor_csv(int rows) const {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-1, 1);
    std::ostringstream s;
    s << "x1,x2,n1,n2,y\n";
    for (int i = 0; i < rows; ++i) {
      const double a = u(rng), b = u(rng);
      bool y = (a > 0) != (b > 0);
      if (u(rng) > 0.8) y = !y;
      s << a << ',' << b << ',' << u(rng) << ',' << u(rng) << ',' << (y ? "pos" : "neg") << '\n';
    }
    std::ofstream(path("xor.csv")) << s.str();
    return path("xor.csv");
  }

  pipeline::StudyOptions xor_options(const std::string& prefix) const {
    pipeline::StudyOptions o;
    o.problems = {pipeline::parse_study_problem("XOR=" + xor_csv(900) + ":y:pos")};
    o.learners = {"LR", "DT", "BST-DT", "RF"};
    o.grid = "small";
    o.max_train = 500;
    o.folds = 5;
    o.trials = 2;
    o.bootstrap = 100;
    o.output = path(prefix);
    return o;
  }

};

double line_mean(const eval::StudyTable& t, const std::string& model, const std::string& cal) {
  for (const eval::StudyLine& l : t.lines)
    if (l.model == model && l.calibration == cal) return l.mean;
  ADD_FAILURE() << "no line " << model << " " << cal;
  return NAN;
}

double line_roc(const eval::StudyTable& t, const std::string& model, const std::string& cal) {
  for (const eval::StudyLine& l : t.lines)
    if (l.model == model && l.calibration == cal) return l.normalized.roc;
  ADD_FAILURE() << "no line " << model << " " << cal;
  return NAN;
}

TEST_F(StudyRun, TreesBeatLogisticRegressionOnXor) {
  const pipeline::StudyResult r = pipeline::run_study(xor_options("s"));
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.table.rows.size(), 12u);  // 4 learners x 3 calibrations
  // A linear model ranks XOR's cases at chance (normalized ROC near 0); every tree learner
  // ranks them well, and its mean normalized score is far above LR's after calibration.
  EXPECT_LT(line_roc(r.table, "LR", "PLATT"), 0.25);
  for (const char* m : {"DT", "BST-DT", "RF"}) {
    EXPECT_GT(line_roc(r.table, m, "PLATT"), 0.8) << m;
    EXPECT_GT(line_mean(r.table, m, "PLATT"), line_mean(r.table, "LR", "PLATT") + 0.5) << m;
  }
  EXPECT_EQ(r.table.lines.back().model, "LR");
  // The report has the paper's table, the comparison, the bootstrap and the problem's table.
  for (const char* s : {"OPT-SEL", "  paper", "Spearman", "bootstrap analysis", "XOR (test positive rate"})
    EXPECT_NE(r.report.find(s), std::string::npos) << s;
  ASSERT_TRUE(r.bootstrap.has_value());
  EXPECT_EQ(r.bootstrap->models.back(), "LR");
  EXPECT_EQ(r.bootstrap->counts.back().back(), 100);  // LR last in every sample
}

TEST_F(StudyRun, ResumeGivesTheUninterruptedTable) {
  const pipeline::StudyResult whole = pipeline::run_study(xor_options("whole"));
  pipeline::StudyOptions o = xor_options("part");
  o.stop_after = 5;
  const pipeline::StudyResult cut = pipeline::run_study(o);
  EXPECT_FALSE(cut.complete);
  EXPECT_EQ(cut.fits, 5);
  // The results file: a settings line and the five fits (a sixth line cut short, as a kill
  // may leave it, is dropped on resume).
  {
    std::ifstream in(path("part.results.jsonl"));
    int lines = 0;
    for (std::string l; std::getline(in, l);) ++lines;
    EXPECT_EQ(lines, 6);
    std::ofstream(path("part.results.jsonl"), std::ios::app) << "{\"key\":\"XOR|1|RF|{\\\"max_f";
  }
  o.stop_after = 0;
  o.resume = true;
  const pipeline::StudyResult rest = pipeline::run_study(o);
  ASSERT_TRUE(rest.complete);
  EXPECT_EQ(rest.fits_resumed, 5);
  EXPECT_EQ(rest.fits + rest.fits_resumed, whole.fits);
  EXPECT_EQ(eval::study_table_json(rest.table), eval::study_table_json(whole.table));
  EXPECT_EQ(eval::format_table_with_paper(rest.table), eval::format_table_with_paper(whole.table));
  // Resuming a finished study fits nothing.
  const pipeline::StudyResult again = pipeline::run_study(o);
  EXPECT_EQ(again.fits, 0);
  EXPECT_EQ(eval::study_table_json(again.table), eval::study_table_json(whole.table));
  // Other settings than the file's are refused.
  o.seed = 2;
  EXPECT_THROW(pipeline::run_study(o), pipeline::UsageError);
}

TEST_F(StudyRun, SameSeedSameTableAtAnyThreadCount) {
  pipeline::StudyOptions o = xor_options("a");
  o.learners = {"LR", "DT", "ANN", "PRC", "BST-STMP"};
  o.trials = 1;
  const pipeline::StudyResult a = pipeline::run_study(o);
  pipeline::StudyResult b;
  {
    backend::ThreadCount one(1);
    o.output = path("b");
    b = pipeline::run_study(o);
  }
  EXPECT_EQ(eval::study_table_json(a.table), eval::study_table_json(b.table));
  o.seed = 9;
  o.output = path("c");
  EXPECT_NE(eval::study_table_json(pipeline::run_study(o).table), eval::study_table_json(a.table));
}

TEST_F(StudyRun, LearnerTableAndChoices) {
  std::vector<std::string> names;
  for (const pipeline::StudyLearner& l : pipeline::study_learners()) {
    names.push_back(l.name);
    EXPECT_FALSE(l.paper.empty()) << l.name;
    EXPECT_FALSE(l.small.empty()) << l.name;
    EXPECT_LE(l.small.size(), l.paper.size()) << l.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"BST-DT", "RF", "BAG-DT", "SVM", "ANN", "KNN", "BST-STMP", "DT", "LR",
                                             "NB", "PRC", "XGB"}));
  // The paper's grids: LR's ridge 1e-8..1e4, the MLP's 6 x 4, the forest's 8 feature counts.
  const auto& t = pipeline::study_learners();
  EXPECT_EQ(t[8].paper.size(), 13u);
  EXPECT_EQ(t[4].paper.size(), 24u);
  EXPECT_EQ(t[1].paper.size(), 8u);
  EXPECT_EQ(t[1].paper[0].at("trees"), 1024);
  EXPECT_TRUE(pipeline::study_kind_available("mlp"));
  EXPECT_TRUE(pipeline::study_kind_available("random-forest"));
  EXPECT_FALSE(pipeline::study_kind_available("no-such-kind"));
  // Every option set of every learner this build has is one its make_learner accepts.
  for (const pipeline::StudyLearner& l : t) {
    if (!pipeline::study_kind_available(l.kind)) continue;
    for (const auto* grid : {&l.paper, &l.small}) {
      for (const nlohmann::json& op : *grid) EXPECT_EQ(pipeline::study_options_problem(l.kind, op), "") << l.name << op;
    }
  }
  EXPECT_NE(pipeline::study_options_problem("random-forest", {{"no_such_option", 1}}), "");

  pipeline::StudyOptions o = xor_options("x");
  o.learners = {"lr", "no-such"};
  try {
    pipeline::run_study(o);
    ADD_FAILURE() << "expected an error";
  } catch (const pipeline::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown learner 'no-such'"), std::string::npos) << e.what();
  }
  o.learners = {"LR"};
  o.grid = "huge";
  EXPECT_THROW(pipeline::run_study(o), pipeline::UsageError);
}

TEST_F(StudyRun, RidgeLogisticRegressionIsTheMinimum) {
  // At the minimum the gradient sum_i (p_i - y_i) x_i + ridge w vanishes.
  std::ostringstream s;
  data::Dataset d;
  const int n = 200;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  std::vector<float> x;
  for (int i = 0; i < n; ++i) {
    const double a = g(rng), b = g(rng);
    x.push_back(static_cast<float>(a));
    x.push_back(static_cast<float>(b));
    d.labels.push_back(a + 0.5 * b + g(rng) > 0 ? 1 : 0);
  }
  d.x = Tensor({n, 2}, x);
  d.task = Task::Binary;
  for (double ridge : {1e-8, 1.0, 100.0}) {
    const std::vector<double> w = pipeline::fit_ridge_logistic(d, ridge);
    const std::vector<double> p = pipeline::logistic_scores(w, d.x);
    double g0 = ridge * w[0], g1 = ridge * w[1], gb = 0;
    for (int i = 0; i < n; ++i) {
      const double r = p[i] - d.labels[i];
      g0 += r * x[2 * i];
      g1 += r * x[2 * i + 1];
      gb += r;
    }
    EXPECT_NEAR(g0, 0, 1e-6) << ridge;
    EXPECT_NEAR(g1, 0, 1e-6) << ridge;
    EXPECT_NEAR(gb, 0, 1e-6) << ridge;
    if (ridge == 100.0) {
      EXPECT_LT(std::abs(w[0]), 1.0);  // shrunk
    }
    if (ridge == 1e-8) {
      EXPECT_GT(w[0], 1.0);
    }
  }
}

TEST_F(StudyRun, ProblemsByNameAndBySpecification) {
  const pipeline::StudyProblem a = pipeline::named_study_problem("adult", "d");
  EXPECT_EQ(a.name, "ADULT");
  EXPECT_EQ(a.data.source, "d/Adult.csv.gz");
  EXPECT_EQ(a.data.target, "Salary");
  EXPECT_EQ(a.data.positive, (std::vector<std::string>{">50K"}));
  EXPECT_TRUE(pipeline::named_study_problem("CALHOUS", "d").above_median);
  EXPECT_THROW(pipeline::named_study_problem("BACT", "d"), pipeline::UsageError);

  const pipeline::StudyProblem p = pipeline::parse_study_problem("mine=/tmp/a:b.csv:label:yes,maybe");
  EXPECT_EQ(p.name, "MINE");
  EXPECT_EQ(p.data.source, "/tmp/a:b.csv");  // the last two colons separate the fields
  EXPECT_EQ(p.data.target, "label");
  EXPECT_EQ(p.data.positive, (std::vector<std::string>{"yes", "maybe"}));
  EXPECT_TRUE(pipeline::parse_study_problem("H=h.csv:price:>median").above_median);
  for (const char* bad : {"nofile", "=a.csv:y:1", "X=a.csv:y", "X=a.csv::1", "X=a.csv:y:"})
    EXPECT_THROW(pipeline::parse_study_problem(bad), pipeline::UsageError) << bad;

  // Above the median: 5 values, median 3; "4.0" and "10" are above it, as spelled.
  const data::Table t = data::parse_csv("v\n1\n10\n3\n2\n4.0\n");
  double median = 0;
  EXPECT_EQ(pipeline::above_median_values(t, "v", &median), (std::vector<std::string>{"4.0", "10"}));
  EXPECT_EQ(median, 3);
  EXPECT_THROW(pipeline::above_median_values(data::parse_csv("v\n1\nx\n"), "v"), std::invalid_argument);
  data::DataSpec s;
  EXPECT_THROW(pipeline::apply_problem(s, "CALHOUS"), std::invalid_argument);
  pipeline::apply_problem(s, "ADULT");
  EXPECT_EQ(s.target, "Salary");
}

}  // namespace
