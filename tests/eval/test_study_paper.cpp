// The study table against the paper: OPT-SEL, the published rows, Spearman's rank correlation,
// the bootstrap analysis of ranks, and the text layouts; on hand-made result sets.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "backprop/eval/metrics.hpp"
#include "backprop/eval/plots.hpp"
#include "backprop/eval/study.hpp"

using namespace bp::eval;

namespace {

BinaryMetrics all(double v) {
  BinaryMetrics m;
  for (Metric k : kAllMetrics) m.set(k, v);
  return m;
}

// pi = 0.5: baselines ACC .5, FSC 2/3, LFT 1, ROC .5, APR .5, BEP .5, RMS .5, MXE 1.
BinaryMetrics raw(double acc, double roc, double rms) {
  BinaryMetrics m;
  m.acc = acc, m.fsc = 0.8, m.lft = 1.5, m.roc = roc, m.apr = 0.7, m.bep = 0.7, m.rms = rms, m.mxe = 0.8;
  return m;
}

TEST(EvalStudyPaper, OptSelTakesPartInTheBestAndIsNormalizedLikeTheRows) {
  std::vector<StudyRow> rows = {{"P", "A", "NONE", 0.5, raw(0.8, 0.9, 0.40), raw(0.9, 0.9, 0.40)},
                                {"P", "B", "NONE", 0.5, raw(0.7, 0.8, 0.45), raw(0.7, 0.8, 0.30)}};
  const StudyTable t = make_study_table(rows);
  // Best ACC is A's OPT-SEL 0.9 (not a row's 0.8); best RMS is B's OPT-SEL 0.30.
  EXPECT_DOUBLE_EQ(t.problems[0].best.acc, 0.9);
  EXPECT_DOUBLE_EQ(t.problems[0].best.rms, 0.30);
  // A's ACC: (0.8 - 0.5) / (0.9 - 0.5) = 0.75; its RMS (0.4 - 0.5) / (0.3 - 0.5) = 0.5.
  EXPECT_DOUBLE_EQ(t.normalized[0].acc, 0.75);
  EXPECT_DOUBLE_EQ(t.normalized[0].rms, 0.5);
  // A's OPT-SEL normalized: ACC 1, RMS 0.5, the other six as its row (they are equal), so the
  // mean moves by (1 - 0.75) / 8 over the row's mean.
  EXPECT_NEAR(t.opt_sel_means[0], t.row_means[0] + 0.25 / 8, 1e-12);
  ASSERT_EQ(t.lines.size(), 2u);
  ASSERT_TRUE(t.lines[0].opt_sel.has_value());
  EXPECT_NEAR(*t.lines[0].opt_sel, t.opt_sel_means[0], 1e-12);
  // The text shows the OPT-SEL column, the CSV and JSON carry it.
  EXPECT_NE(format_study_table(t).find("OPT-SEL"), std::string::npos);
  EXPECT_NE(study_table_csv(t).find(",OPT-SEL\n"), std::string::npos);
  EXPECT_TRUE(study_table_json(t).at("table")[0].contains("opt_sel"));
  // A line some of whose rows lack OPT-SEL has none.
  rows.push_back({"Q", "A", "NONE", 0.5, raw(0.8, 0.9, 0.40)});
  rows.push_back({"Q", "B", "NONE", 0.5, raw(0.6, 0.7, 0.45)});
  const StudyTable u = make_study_table(rows);
  for (const StudyLine& l : u.lines) EXPECT_FALSE(l.opt_sel.has_value()) << l.model;
  EXPECT_EQ(format_study_table(u).find("OPT-SEL"), std::string::npos);  // no line has one: no column
}

TEST(EvalStudyPaper, PublishedRowsAreTheReferencesTable) {
  ASSERT_EQ(paper_table2().size(), 22u);
  const PaperRow* top = paper_row("BST-DT", "PLATT");
  ASSERT_NE(top, nullptr);
  EXPECT_DOUBLE_EQ(top->normalized.acc, 0.843);
  EXPECT_DOUBLE_EQ(top->normalized.mxe, 0.896);
  EXPECT_DOUBLE_EQ(top->mean, 0.896);
  EXPECT_DOUBLE_EQ(top->opt_sel, 0.917);
  const PaperRow* bag = paper_row("BAG-DT", "NONE");
  ASSERT_NE(bag, nullptr);
  EXPECT_DOUBLE_EQ(bag->mean, 0.887);
  EXPECT_EQ(paper_row("LR", "PLATT"), nullptr);  // the reference does not quote it
  EXPECT_EQ(paper_row("XGB", "NONE"), nullptr);
  EXPECT_EQ(paper_row("DT", "NONE"), nullptr);
  EXPECT_NE(paper_row("DT", "ISO"), nullptr);
  // The published means are in decreasing order, as the paper sorts them.
  for (size_t i = 1; i < paper_table2().size(); ++i)
    EXPECT_LE(paper_table2()[i].mean, paper_table2()[i - 1].mean) << paper_table2()[i].model;
}

TEST(EvalStudyPaper, SpearmanByHand) {
  // d = (0, 1, 1, 0): rho = 1 - 6 * 2 / (4 * 15) = 0.8.
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3}, {30, 20, 10}), -1.0, 1e-12);
  // Ties share their mean rank: ranks (1.5, 1.5, 3) against (1, 2, 3): 1.5 / sqrt(1.5 * 2).
  EXPECT_NEAR(spearman({1, 1, 2}, {1, 2, 3}), 1.5 / std::sqrt(3.0), 1e-12);
  EXPECT_THROW(spearman({1}, {1}), std::invalid_argument);
  EXPECT_THROW(spearman({1, 2}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(spearman({1, 1, 1}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(spearman({1, NAN}, {1, 2}), std::invalid_argument);
}

// One problem: each model's line has a constant normalized score (the baseline is pi = 0.5's,
// and the rows are built so that the best is 1 and the scores come out as asked).
StudyTable table_of(const std::vector<std::pair<std::string, std::string>>& lines, const std::vector<double>& means) {
  StudyTable t;
  t.problems.push_back({"P", 0.5, baseline_metrics(0.5), all(1)});
  for (size_t i = 0; i < lines.size(); ++i) {
    t.rows.push_back({"P", lines[i].first, lines[i].second, 0.5, all(0)});
    t.normalized.push_back(all(means[i]));
    t.row_means.push_back(means[i]);
    t.opt_sel_means.push_back(NAN);
    StudyLine l;
    l.model = lines[i].first;
    l.calibration = lines[i].second;
    l.normalized = all(means[i]);
    l.mean = means[i];
    l.problems = 1;
    t.lines.push_back(l);
  }
  return t;
}

TEST(EvalStudyPaper, RankCorrelationWithThePaperUsesTheSharedLines) {
  // Paper order: BST-DT PLATT .896 > RF PLATT .892 > BAG-DT NONE .887; ours reversed, and an
  // XGB line the paper does not have (left out of the correlation).
  const StudyTable t = table_of({{"XGB", "NONE"}, {"BAG-DT", "NONE"}, {"RF", "PLATT"}, {"BST-DT", "PLATT"}},
                                {0.95, 0.9, 0.8, 0.7});
  const PaperComparison c = compare_with_paper(t);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[0].model, "BAG-DT");
  EXPECT_DOUBLE_EQ(c.lines[0].paper, 0.887);
  ASSERT_TRUE(c.rho.has_value());
  EXPECT_NEAR(*c.rho, -1.0, 1e-12);
  EXPECT_NE(format_paper_comparison(c).find("-1.000"), std::string::npos);
  const StudyTable same = table_of({{"BST-DT", "PLATT"}, {"RF", "PLATT"}, {"BAG-DT", "NONE"}}, {0.9, 0.8, 0.7});
  EXPECT_NEAR(*compare_with_paper(same).rho, 1.0, 1e-12);
  // Fewer than three shared lines: no correlation.
  EXPECT_FALSE(compare_with_paper(table_of({{"XGB", "NONE"}, {"RF", "NONE"}}, {0.9, 0.8})).rho.has_value());
}

TEST(EvalStudyPaper, TableWithPaperLayout) {
  const StudyTable t = table_of({{"BST-DT", "PLATT"}, {"XGB", "NONE"}}, {0.9, 0.8});
  const std::string text = format_table_with_paper(t);
  std::istringstream in(text);
  std::string header, rule, ours, paper, xgb, none;
  std::getline(in, header);
  std::getline(in, rule);
  std::getline(in, ours);
  std::getline(in, paper);
  std::getline(in, xgb);
  std::getline(in, none);
  for (const char* col : {"MODEL", "CAL", "ACC", "FSC", "LFT", "ROC", "APR", "BEP", "RMS", "MXE", "MEAN", "OPT-SEL"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  EXPECT_EQ(ours.rfind("BST-DT", 0), 0u) << ours;
  EXPECT_NE(ours.find("0.900"), std::string::npos);
  // The published line below ours: ACC .843 first, MEAN .896 and OPT-SEL .917 last.
  EXPECT_EQ(paper.rfind("  paper", 0), 0u) << paper;
  EXPECT_NE(paper.find("0.843"), std::string::npos);
  EXPECT_EQ(paper.substr(paper.size() - 15), "  0.896   0.917");
  EXPECT_EQ(xgb.rfind("XGB", 0), 0u);
  EXPECT_NE(none.find("no published row"), std::string::npos);
}

TEST(EvalStudyPaper, BootstrapCountsADominantLearnerFirstEveryTime) {
  const StudyTable t = table_of({{"A", "PLATT"}, {"A", "NONE"}, {"B", "NONE"}, {"C", "ISO"}}, {0.9, 0.85, 0.5, 0.2});
  const BootstrapRanks b = bootstrap_ranks(t, 500, 7);
  // One entry per learner at its best calibration, in the table's order.
  EXPECT_EQ(b.models, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(b.calibrations, (std::vector<std::string>{"PLATT", "NONE", "ISO"}));
  EXPECT_EQ(b.counts, (std::vector<std::vector<int>>{{500, 0, 0}, {0, 500, 0}, {0, 0, 500}}));
  EXPECT_THROW(bootstrap_ranks(t, 0, 7), std::invalid_argument);
}

TEST(EvalStudyPaper, BootstrapResamplesMetricsWithReplacement) {
  // A scores 1 on ACC and 0 elsewhere; B 0.2 everywhere. Eight metrics drawn with
  // replacement: A's score is (ACC draws) / 8, so A ranks first iff ACC is drawn at least
  // twice: P = 1 - (7/8)^8 - 8 (1/8)(7/8)^7 = 0.26370.
  StudyTable t = table_of({{"B", "NONE"}, {"A", "NONE"}}, {0.2, 0.125});
  BinaryMetrics a = all(0);
  a.acc = 1;
  t.normalized[1] = a;
  const int n = 20000;
  const BootstrapRanks b = bootstrap_ranks(t, n, 11);
  const double p = 1 - std::pow(7.0 / 8, 8) - std::pow(7.0 / 8, 7);
  // Binomial standard error sqrt(p(1-p)/n) = 0.0031: 5 of them.
  EXPECT_NEAR(static_cast<double>(b.counts[1][0]) / n, p, 0.016);
  EXPECT_EQ(b.counts[0][0] + b.counts[1][0], n);
  EXPECT_EQ(b.counts[0][1] + b.counts[1][1], n);
  // Seeded: the same counts again, others with another seed.
  EXPECT_EQ(bootstrap_ranks(t, n, 11).counts, b.counts);
  EXPECT_NE(bootstrap_ranks(t, n, 12).counts, b.counts);
  const std::string text = format_bootstrap(b);
  EXPECT_NE(text.find("A NONE"), std::string::npos);
}

TEST(EvalStudyPaper, BootstrapNeedsEveryLearnerOnEveryProblem) {
  std::vector<StudyRow> rows = {{"P", "A", "NONE", 0.5, raw(0.8, 0.9, 0.40)},
                                {"P", "B", "NONE", 0.5, raw(0.7, 0.8, 0.45)},
                                {"Q", "A", "NONE", 0.5, raw(0.8, 0.9, 0.40)}};
  EXPECT_THROW(bootstrap_ranks(make_study_table(rows), 10, 1), std::invalid_argument);
}

TEST(EvalStudyPaper, ProblemTablesListEveryRowSortedByMean) {
  std::vector<StudyRow> rows = {{"P", "A", "NONE", 0.5, raw(0.7, 0.8, 0.45)},
                                {"P", "B", "NONE", 0.5, raw(0.8, 0.9, 0.40)}};
  const std::string text = format_problem_tables(make_study_table(rows));
  EXPECT_EQ(text.rfind("P (test positive rate 0.500)", 0), 0u) << text;
  EXPECT_LT(text.find("\nB "), text.find("\nA ")) << text;  // B is better
  EXPECT_NE(text.find("baseline"), std::string::npos);
}

TEST(EvalStudyPaper, ScatterPlotOfOursAgainstThePapers) {
  const std::string dir = (std::filesystem::temp_directory_path() / "backprop_eval_scatter").string();
  std::filesystem::create_directories(dir);
  const std::vector<ScatterPoint> pts = {{0.896, 0.95, "BST-DT", 1}, {0.828, 0.72, "BST-DT", 0}, {0.71, -0.2, "BST-STMP", 0}};
  for (const char* ext : {".png", ".svg"}) {
    const std::string path = dir + "/s" + ext;
    plot_scatter(path, pts, {"NONE", "PLATT"}, "paper", "ours");
    std::ifstream in(path, std::ios::binary);
    std::string head(5, '\0');
    in.read(head.data(), 5);
    EXPECT_EQ(head.substr(1, 3) == "PNG" || head == "<?xml", true) << ext << ": " << head;
  }
  EXPECT_THROW(plot_scatter(dir + "/e.png", {}, {"A"}, "x", "y"), std::invalid_argument);
  EXPECT_THROW(plot_scatter(dir + "/e.png", {{NAN, 0, "a", 0}}, {"A"}, "x", "y"), std::invalid_argument);
  EXPECT_THROW(plot_scatter(dir + "/e.png", {{0, 0, "a", 1}}, {"A"}, "x", "y"), std::invalid_argument);
  std::filesystem::remove_all(dir);
}

}  // namespace
