// Baselines, normalized scores and the study table.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backprop/eval/metrics.hpp"
#include "backprop/eval/study.hpp"

using namespace bp::eval;

namespace {

BinaryMetrics make(double acc, double fsc, double lft, double roc, double apr, double bep, double rms, double mxe) {
  BinaryMetrics m;
  m.acc = acc, m.fsc = fsc, m.lft = lft, m.roc = roc, m.apr = apr, m.bep = bep, m.rms = rms, m.mxe = mxe;
  return m;
}

// Problem P (pi = 0.25): three model x calibration rows. Problem Q (pi = 0.5): two of them.
std::vector<StudyRow> example_rows() {
  return {
      {"P", "A", "NONE", 0.25, make(.85, .60, 2.5, .90, .70, .65, .35, .60)},
      {"P", "B", "NONE", 0.25, make(.80, .50, 2.0, .80, .50, .55, .40, .70)},
      {"P", "A", "PLATT", 0.25, make(.87, .62, 2.5, .90, .70, .65, .33, .50)},
      {"Q", "A", "NONE", 0.5, make(.70, .75, 1.5, .75, .70, .70, .45, .90)},
      {"Q", "B", "NONE", 0.5, make(.60, .70, 1.2, .65, .60, .60, .48, .97)},
  };
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A directory of its own per test: ctest runs tests in parallel processes, and the checks for
// leftover temporary files must not see another test's files.
std::string out_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = std::string(BACKPROP_BINARY_DIR) + "/eval_test_output/" + info->test_suite_name() + "." +
                          info->name();
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST(EvalStudy, BaselinesByHand) {
  const BinaryMetrics b = baseline_metrics(0.25);
  EXPECT_DOUBLE_EQ(b.acc, 0.75);
  EXPECT_DOUBLE_EQ(b.fsc, 0.0);  // pi < 0.5: the baseline predicts nothing positive
  EXPECT_DOUBLE_EQ(b.lft, 1.0);
  EXPECT_DOUBLE_EQ(b.roc, 0.5);
  EXPECT_DOUBLE_EQ(b.apr, 0.25);
  EXPECT_DOUBLE_EQ(b.bep, 0.25);
  EXPECT_DOUBLE_EQ(b.rms, std::sqrt(0.1875));
  // H(1/4) = 1/4 * 2 + 3/4 * log2(4/3) bits.
  EXPECT_NEAR(b.mxe, 0.5 + 0.75 * std::log2(4.0 / 3.0), 1e-15);
  const BinaryMetrics c = baseline_metrics(0.6);
  EXPECT_DOUBLE_EQ(c.fsc, 2 * 0.6 / 1.6);
  EXPECT_DOUBLE_EQ(c.acc, 0.6);
  // Ends: a one-class problem has a perfect, certain baseline.
  EXPECT_DOUBLE_EQ(baseline_metrics(0.0).mxe, 0.0);
  EXPECT_DOUBLE_EQ(baseline_metrics(1.0).mxe, 0.0);
  EXPECT_DOUBLE_EQ(baseline_metrics(1.0).fsc, 1.0);
  EXPECT_DOUBLE_EQ(baseline_metrics(0.0).rms, 0.0);
  EXPECT_THROW(baseline_metrics(-0.1), std::invalid_argument);
  EXPECT_THROW(baseline_metrics(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST(EvalStudy, BaselineIsWhatPredictingPiScores) {
  // The table's baselines are the metrics of the model that predicts pi for every case (APR
  // only approximately: the reference gives "about pi", see below).
  for (int positives : {3, 6}) {
    std::vector<int> y(10, 0);
    for (int i = 0; i < positives; ++i) y[i] = 1;
    const double pi = positives / 10.0;
    const BinaryMetrics m = binary_metrics(std::vector<double>(10, pi), y);
    const BinaryMetrics b = baseline_metrics(pi);
    for (Metric k : kAllMetrics) {
      if (k == Metric::APR) continue;
      EXPECT_NEAR(m.get(k), b.get(k), 1e-15) << metric_name(k) << " pi " << pi;
    }
  }
  // APR of an all-tied ranking is the expected AP of a random order, which exceeds pi by about
  // (1 - pi) ln(N) / N (for N = 10, pi = 0.3 it is 0.45); "about pi" holds for large N.
  std::vector<int> y(2000, 0);
  for (int i = 0; i < 600; ++i) y[i * 3 % 2000] = 1;
  EXPECT_NEAR(average_precision(std::vector<double>(2000, 0.3), y), baseline_metrics(0.3).apr, 0.01);
}

TEST(EvalStudy, NormalizedScoresByHand) {
  const StudyTable t = make_study_table(example_rows());
  ASSERT_EQ(t.problems.size(), 2u);
  EXPECT_EQ(t.problems[0].problem, "P");
  // Best on P: the max of each higher-is-better column and the min of RMS and MXE.
  const BinaryMetrics best = t.problems[0].best;
  EXPECT_EQ(best.acc, .87);
  EXPECT_EQ(best.rms, .33);
  EXPECT_EQ(best.mxe, .50);
  // Row 1 = (P, B, NONE): (x - baseline) / (best - baseline) with P's baselines (pi = 1/4):
  const double rms_base = std::sqrt(0.1875), mxe_base = 0.5 + 0.75 * std::log2(4.0 / 3.0);
  const BinaryMetrics& n = t.normalized[1];
  EXPECT_NEAR(n.acc, (.80 - .75) / (.87 - .75), 1e-12);  // 0.417
  EXPECT_NEAR(n.fsc, .50 / .62, 1e-12);
  EXPECT_NEAR(n.lft, (2.0 - 1) / (2.5 - 1), 1e-12);
  EXPECT_NEAR(n.roc, .3 / .4, 1e-12);
  EXPECT_NEAR(n.apr, (.50 - .25) / (.70 - .25), 1e-12);
  EXPECT_NEAR(n.bep, (.55 - .25) / (.65 - .25), 1e-12);
  // Lower is better: both differences are negative, the ratio is 0.32 (between 0 and 1).
  EXPECT_NEAR(n.rms, (.40 - rms_base) / (.33 - rms_base), 1e-12);
  EXPECT_NEAR(n.mxe, (.70 - mxe_base) / (.50 - mxe_base), 1e-12);
  EXPECT_GT(n.rms, 0.0);
  EXPECT_LT(n.rms, 1.0);
  // The best row on every metric scores 1 everywhere.
  for (Metric k : kAllMetrics) EXPECT_NEAR(t.normalized[2].get(k), 1.0, 1e-12) << metric_name(k);
  EXPECT_NEAR(t.row_means[2], 1.0, 1e-12);
  // Not clipped: a model worse than the baseline scores below 0, for either direction.
  EXPECT_NEAR(normalized_score(0.6, 0.5, 0.9), 0.25, 1e-15);
  EXPECT_NEAR(normalized_score(0.4, 0.5, 0.9), -0.25, 1e-15);
  EXPECT_NEAR(normalized_score(0.7, 0.5, 0.3), -1.0, 1e-15);  // lower is better, worse than baseline
  EXPECT_THROW(normalized_score(0.7, 0.5, 0.5), std::invalid_argument);
}

TEST(EvalStudy, LinesAverageOverProblemsAndSortByMean) {
  const StudyTable t = make_study_table(example_rows());
  ASSERT_EQ(t.lines.size(), 3u);
  // A/PLATT has only problem P, where it is best everywhere -> mean 1, first line.
  EXPECT_EQ(t.lines[0].model, "A");
  EXPECT_EQ(t.lines[0].calibration, "PLATT");
  EXPECT_EQ(t.lines[0].problems, 1);
  EXPECT_NEAR(t.lines[0].mean, 1.0, 1e-12);
  // A/NONE: the average of its rows 0 (P) and 3 (Q), per metric; MEAN the mean of those.
  const StudyLine& a = t.lines[1];
  EXPECT_EQ(a.model, "A");
  EXPECT_EQ(a.calibration, "NONE");
  EXPECT_EQ(a.problems, 2);
  double mean = 0;
  for (Metric k : kAllMetrics) {
    EXPECT_NEAR(a.normalized.get(k), (t.normalized[0].get(k) + t.normalized[3].get(k)) / 2, 1e-15) << metric_name(k);
    mean += a.normalized.get(k) / kNumMetrics;
  }
  EXPECT_NEAR(a.mean, mean, 1e-15);
  EXPECT_EQ(t.lines[2].model, "B");
  EXPECT_GT(t.lines[1].mean, t.lines[2].mean);
}

TEST(EvalStudy, TextCsvJson) {
  const StudyTable t = make_study_table(example_rows());
  const std::string text = format_study_table(t);
  std::istringstream lines(text);
  std::string header, rule, first, second, third, extra;
  std::getline(lines, header);
  std::getline(lines, rule);
  std::getline(lines, first);
  std::getline(lines, second);
  std::getline(lines, third);
  EXPECT_FALSE(std::getline(lines, extra));
  std::istringstream hs(header);
  std::vector<std::string> columns;
  for (std::string w; hs >> w;) columns.push_back(w);
  EXPECT_EQ(columns, (std::vector<std::string>{"MODEL", "CAL", "ACC", "FSC", "LFT", "ROC", "APR", "BEP", "RMS",
                                               "MXE", "MEAN"}));
  EXPECT_EQ(first.substr(0, 1), "A");
  EXPECT_NE(first.find("PLATT"), std::string::npos);
  EXPECT_NE(first.find("1.000"), std::string::npos);
  // B/NONE's ACC: P gives (.80 - .75)/(.87 - .75) = .417, Q gives (.60 - .50)/(.70 - .50) = .5;
  // their mean .458 follows the model and calibration columns.
  EXPECT_NE(third.find("NONE    0.458 "), std::string::npos) << third;
  EXPECT_EQ(third.substr(0, 1), "B");

  const std::string csv = study_table_csv(t);
  std::istringstream cs(csv);
  std::string line;
  std::getline(cs, line);
  EXPECT_EQ(line, "model,calibration,ACC,FSC,LFT,ROC,APR,BEP,RMS,MXE,MEAN,problems");
  std::getline(cs, line);
  EXPECT_EQ(line.substr(0, 8), "A,PLATT,");
  std::getline(cs, line);  // A,NONE,<ACC>,...
  const size_t c1 = line.find(',', 2), c2 = line.find(',', c1 + 1);
  EXPECT_EQ(std::stod(line.substr(c1 + 1, c2 - c1 - 1)), t.lines[1].normalized.acc);  // 17 digits round-trip

  const nlohmann::json j = study_table_json(t);
  EXPECT_EQ(j.at("metrics").size(), 8u);
  EXPECT_EQ(j.at("problems").size(), 2u);
  EXPECT_EQ(j.at("rows").size(), 5u);
  EXPECT_EQ(j.at("table").size(), 3u);
  EXPECT_EQ(j.at("rows")[1].at("normalized").at("MXE").get<double>(), t.normalized[1].mxe);
  EXPECT_EQ(j.at("problems")[1].at("baseline").at("FSC").get<double>(), 2 * 0.5 / 1.5);
  EXPECT_EQ(j.at("table")[0].at("calibration"), "PLATT");

  // Names with commas are quoted in CSV.
  auto rows = example_rows();
  for (auto& r : rows) r.model = r.model == "B" ? "k-NN, k=5" : r.model;
  EXPECT_NE(study_table_csv(make_study_table(rows)).find("\"k-NN, k=5\",NONE"), std::string::npos);
}

TEST(EvalStudy, WritesFilesByExtension) {
  const StudyTable t = make_study_table(example_rows());
  const std::string dir = out_dir();
  write_study_table(t, dir + "/study.csv");
  write_study_table(t, dir + "/study.json");
  write_study_table(t, dir + "/study.txt");
  EXPECT_EQ(read_file(dir + "/study.csv"), study_table_csv(t));
  EXPECT_EQ(nlohmann::json::parse(read_file(dir + "/study.json")), study_table_json(t));
  EXPECT_EQ(read_file(dir + "/study.txt"), format_study_table(t));
  EXPECT_THROW(write_study_table(t, dir + "/study.xlsx"), std::invalid_argument);
  try {
    write_study_table(t, dir + "/no/such/dir/study.csv");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/study.csv"), std::string::npos) << e.what();
  }
}

TEST(EvalStudy, RejectsBadRows) {
  EXPECT_THROW(make_study_table({}), std::invalid_argument);
  auto dup = example_rows();
  dup.push_back(dup[0]);
  EXPECT_THROW(make_study_table(dup), std::invalid_argument);
  auto pi = example_rows();
  pi[1].positive_rate = 0.3;  // P had 0.25
  EXPECT_THROW(make_study_table(pi), std::invalid_argument);
  auto nan = example_rows();
  nan[2].metrics.roc = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(make_study_table(nan), std::invalid_argument);
  auto noname = example_rows();
  noname[0].model = "";
  EXPECT_THROW(make_study_table(noname), std::invalid_argument);
  // No model of P beats FSC's baseline 0 (pi < 0.5): undefined, and the message says which.
  auto flat = example_rows();
  for (auto& r : flat)
    if (r.problem == "P") r.metrics.fsc = 0.0;
  try {
    make_study_table(flat);
    FAIL();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("FSC"), std::string::npos) << msg;
    EXPECT_NE(msg.find("P"), std::string::npos) << msg;
  }
}
