// Baselines, normalized scores and the study table of Caruana & Niculescu-Mizil (ICML 2006),
// Table 2: for every problem and metric, norm = (x - baseline) / (best - baseline), where the
// baseline predicts the positive rate pi for every case and best is the best value any model in
// the comparison reached on that problem. Lower-is-better metrics (RMS, MXE) use the same
// formula and best = the lowest value, so the score still rises as a model improves. Scores are
// not clipped (a model worse than the baseline scores below 0).
//
// Typical use (e.g. by `backprop study`):
//   std::vector<StudyRow> rows;
//   rows.push_back({"LETTER.P2", "ANN", "PLATT", pi, binary_metrics(p, y)});  // ... one per
//                                          // problem x model x calibration, trials averaged
//   StudyTable table = make_study_table(rows);
//   std::cout << format_study_table(table);                  // the paper's layout
//   write_study_table(table, "study.csv");                   // or .json / .txt
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backprop/eval/metrics.hpp"

namespace bp::eval {

// Every metric of the baseline that predicts pi for every case:
// ACC max(pi, 1-pi); FSC 0 if pi < 0.5 else 2pi/(1+pi); LFT 1; ROC 0.5; APR pi (the reference's
// "about pi"); BEP pi; RMS sqrt(pi(1-pi)); MXE the entropy of pi in bits (0 at pi = 0 or 1).
// Throws std::invalid_argument unless 0 <= pi <= 1.
BinaryMetrics baseline_metrics(double positive_rate);

// (value - baseline) / (best - baseline). Throws std::invalid_argument when best and baseline
// are equal (|best - baseline| <= 1e-12 * max(1, |baseline|)): no model beat the baseline, and
// the score is undefined.
double normalized_score(double value, double baseline, double best);

// One model x calibration on one problem, raw metrics (already averaged over trials).
struct StudyRow {
  std::string problem;      // e.g. "LETTER.P1"
  std::string model;        // e.g. "ANN"
  std::string calibration;  // e.g. "NONE", "PLATT", "ISO"
  double positive_rate = 0; // pi of the problem's test set (same for all rows of a problem)
  BinaryMetrics metrics;    // raw values
  // OPT-SEL: the raw values when every metric's parameters are chosen on the test set itself
  // (the paper's "cheating" selection, an upper bound on what selection can reach). Optional;
  // when given it also takes part in each problem's best.
  std::optional<BinaryMetrics> opt_sel;
};

// Per problem: its pi, the baseline row and the best value reached per metric.
struct ProblemSummary {
  std::string problem;
  double positive_rate = 0;
  BinaryMetrics baseline;
  BinaryMetrics best;
};

// One line of the paper's table: a model x calibration, its normalized scores averaged over the
// problems it has rows for, and MEAN = the average of those eight (= the average over metrics
// and problems).
struct StudyLine {
  std::string model;
  std::string calibration;
  BinaryMetrics normalized;
  double mean = 0;
  int problems = 0;
  // Mean normalized score of the OPT-SEL values (over metrics and problems); set only when
  // every row of the line has opt_sel.
  std::optional<double> opt_sel;
};

struct StudyTable {
  std::vector<ProblemSummary> problems;  // in order of first appearance in the rows
  std::vector<StudyRow> rows;            // the input rows
  std::vector<BinaryMetrics> normalized; // normalized scores of rows[i]
  std::vector<double> row_means;         // mean of normalized[i] over the eight metrics
  std::vector<double> opt_sel_means;     // mean normalized OPT-SEL of rows[i] (NaN without)
  std::vector<StudyLine> lines;          // sorted by mean, best first (ties: input order)
};

// Normalizes every row against its problem's baseline and best and averages per model x
// calibration. Throws std::invalid_argument for: no rows, an empty problem/model name, a
// non-finite metric, two rows with the same (problem, model, calibration), rows of one problem
// with different positive rates, a positive rate outside [0, 1], or a metric no model of a
// problem moved off its baseline (see normalized_score).
StudyTable make_study_table(const std::vector<StudyRow>& rows);

// The paper's layout: columns MODEL CAL ACC FSC LFT ROC APR BEP RMS MXE MEAN, three decimals,
// one line per StudyLine.
std::string format_study_table(const StudyTable& table);

// CSV with header model,calibration,ACC,FSC,LFT,ROC,APR,BEP,RMS,MXE,MEAN,problems (one line per
// StudyLine, values with 17 significant digits; fields quoted when they contain , " or newline).
std::string study_table_csv(const StudyTable& table);

// {"metrics": [...], "problems": [{problem, positive_rate, baseline{}, best{}}],
//  "rows": [{problem, model, calibration, positive_rate, raw{}, normalized{}, mean}],
//  "table": [{model, calibration, normalized{}, mean, problems}]}; metric objects are keyed by
// metric name ("ACC", ...).
nlohmann::json study_table_json(const StudyTable& table);

// ---- Against the paper.

// Table 2 of the paper as published (the rows shared/reference/evaluation.md quotes: 22 of
// them, BST-DT PLATT down to DT ISO), with calibrations written as ours: NONE, PLATT, ISO.
struct PaperRow {
  std::string model, calibration;
  BinaryMetrics normalized;
  double mean = 0, opt_sel = 0;
};
const std::vector<PaperRow>& paper_table2();
// The published row of (model, calibration), or nullptr when the reference has none.
const PaperRow* paper_row(const std::string& model, const std::string& calibration);

// Spearman's rank correlation of two equally long samples: Pearson's correlation of their
// ranks, tied values sharing their mean rank. Throws std::invalid_argument for fewer than 2
// values, lengths that differ, or a sample whose values are all equal (undefined).
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// Our lines that have a published row, with both MEANs, and Spearman's rho between the two
// orderings (over those lines only; nullopt below 3 shared lines).
struct PaperComparison {
  struct Line {
    std::string model, calibration;
    double ours = 0, paper = 0;
  };
  std::vector<Line> lines;  // in our table's order
  std::optional<double> rho;
};
PaperComparison compare_with_paper(const StudyTable& table);

// ---- The paper's bootstrap analysis.
// Each learner (model) enters with its best line of the table (its calibration with the
// highest MEAN). One sample draws P problems and the 8 metrics with replacement (P = the
// table's problems); a learner's score is the mean of its normalized scores over every drawn
// (problem, metric) pair, repeats counted; learners are ranked by score (ties: the learner
// first in the table's order ranks higher). counts[l][r] = samples in which learner l ranked
// r+1. Deterministic for a seed. Throws std::invalid_argument when a learner's line lacks a
// problem (the analysis needs every learner on every problem) or samples < 1.
struct BootstrapRanks {
  std::vector<std::string> models, calibrations;  // in order of the table's lines
  std::vector<std::vector<int>> counts;            // [model][rank]
  int samples = 0;
};
BootstrapRanks bootstrap_ranks(const StudyTable& table, int samples, uint64_t seed);

// ---- Text for people.
// The table with OPT-SEL, and below each line the paper's published line where there is one
// ("paper", or "paper: no published row" otherwise).
std::string format_table_with_paper(const StudyTable& table);
// One block per problem: every row's normalized scores (MEAN, OPT-SEL), sorted by MEAN.
std::string format_problem_tables(const StudyTable& table);
// Fractions of samples per rank, learners in the table's order.
std::string format_bootstrap(const BootstrapRanks& b);
// The list of shared lines with both MEANs and rho.
std::string format_paper_comparison(const PaperComparison& c);

// Writes the table as text (.txt), CSV (.csv) or JSON (.json), chosen by the file extension;
// atomically (temporary file, then rename). Throws std::invalid_argument for another extension
// and std::runtime_error naming the path when it cannot be written.
void write_study_table(const StudyTable& table, const std::string& path);

}  // namespace bp::eval
