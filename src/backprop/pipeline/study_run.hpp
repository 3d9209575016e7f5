// The experiment of Caruana & Niculescu-Mizil (ICML 2006), section 2, with the project's
// learners (`backprop study`; docs/evaluation.md has the protocol, the grids and results):
//   * per problem, `max_train` (5000) random cases train, the others are the final test set
//     (at most `max_test` of them, drawn at random, when set);
//   * `trials` (5) trials from a `folds`-fold (5) stratified cross-validation of the training
//     cases: 4000 train a configuration, the other 1000 (the validation part) fit Platt and
//     isotonic calibration and pick each learner's configuration, separately for every metric
//     and calibration (as the paper does);
//   * every learner of pipeline/study_learners over its grid, each configuration scored
//     uncalibrated (NONE; margins min-max scaled with the validation range), with Platt
//     scaling (PLATT) and isotonic regression (ISO);
//   * the eight metrics on the test set, averaged over trials; OPT-SEL picks on the test set;
//     normalized scores against the baselines and the best per problem and metric.
// Every fit's validation and test metrics go to a results file (JSON lines) as it finishes;
// `resume` reads it back and fits only what is missing, and the table is computed from the
// file's values, so an interrupted study resumed gives the table of an uninterrupted one.
// Fits run in parallel on the backend's thread pool, one fit per thread (learners inside
// run with one thread); every fit's seed depends only on its problem, trial and settings, so
// the same seed gives the same table at any thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"
#include "backprop/eval/study.hpp"
#include "backprop/pipeline/observer.hpp"

namespace bp::pipeline {

// One binary problem: a CSV, its target, and what makes a case positive.
struct StudyProblem {
  std::string name;        // "ADULT"
  data::DataSpec data;     // source, target, ignored columns, positive values
  bool above_median = false;  // positive: target above its median (data.positive then empty)
};

// The problem of pipeline/problems.hpp named `name` (ignoring case), reading its file from
// `data_dir`; UsageError for an unknown name.
StudyProblem named_study_problem(const std::string& name, const std::string& data_dir);
// NAME=FILE:TARGET:POS[,POS...] (POS ">median" for above the median); UsageError naming the
// spec when it does not parse.
StudyProblem parse_study_problem(const std::string& spec);

struct StudyOptions {
  std::vector<StudyProblem> problems;
  std::vector<std::string> learners;  // row names (any case): "BST-DT", "RF", ...; empty = all
  std::string grid = "paper";         // "paper" or "small"
  int64_t max_train = 5000;           // training cases per problem (at most 80 % of the rows)
  int64_t max_test = 0;               // 0: every other case is a test case
  int folds = 5;
  int trials = 5;                     // folds used as trials, 1..folds
  uint64_t seed = 1;
  int bootstrap = 1000;               // samples of the bootstrap analysis
  std::string output;                 // PREFIX: PREFIX.txt/.csv/.json/.png ("" none)
  std::string results;                // JSON-lines file of every fit ("": PREFIX.results.jsonl, or none)
  bool resume = false;                // continue from `results`
  // Stop after this many new fits (0: never): for tests of resume. The result is then partial.
  int64_t stop_after = 0;
};

// --quick: small grids, one trial, 1000 training and 2000 test cases per problem.
void apply_quick(StudyOptions& o);

struct StudyResult {
  eval::StudyTable table;
  eval::PaperComparison paper;
  std::optional<eval::BootstrapRanks> bootstrap;  // unset when the analysis is undefined
  std::vector<std::string> problems;
  std::vector<std::string> skipped;   // one line per learner left out, and why
  std::string report;                 // the whole text report (what PREFIX.txt holds)
  int64_t fits = 0, fits_resumed = 0; // fits run now, and read back from the results file
  double seconds = 0, fit_cpu_seconds = 0;  // wall time; the fits' own CPU times summed (this run)
  bool complete = true;               // false when stop_after ended the run early
  std::vector<std::string> files;     // written: .txt, .csv, .json, .png
};

// observer.line receives progress lines (fits done, time left). Throws UsageError for
// options that cannot work.
StudyResult run_study(const StudyOptions& o, const Observer& observer = {});

// Raw metrics per problem in the paper's layout (MODEL, CAL, eight metrics).
std::string format_raw_rows(const eval::StudyTable& t);

}  // namespace bp::pipeline
