#include "backprop/pipeline/study_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <time.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "backprop/backend/backend.hpp"
#include "backprop/data/error.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/eval/metrics.hpp"
#include "backprop/eval/plots.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/problems.hpp"
#include "backprop/pipeline/study_learners.hpp"
#include "backprop/util/atomic_file.hpp"

namespace bp::pipeline {

namespace {

using eval::BinaryMetrics;
using eval::Metric;
using nlohmann::json;

const char* const kCals[] = {"NONE", "PLATT", "ISO"};
constexpr int kNumCals = 3;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// ---- One problem, prepared once: the training and test cases, the folds.
struct Prepared {
  std::string name;
  data::Dataset train, test;
  std::vector<int> test_y;
  double pi = 0;
  std::vector<data::Dataset> tr, va;  // per trial
  std::vector<std::vector<int>> va_y;
  int64_t unseen_categories = 0;  // test cells whose category no training case has (read as missing)
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<int> int_labels(const data::Dataset& d) { return {d.labels.begin(), d.labels.end()}; }

Prepared prepare_problem(const StudyProblem& sp, const StudyOptions& o, std::map<std::string, data::Table>& tables) {
  Prepared out;
  out.name = sp.name;
  auto it = tables.find(sp.data.source);
  if (it == tables.end()) it = tables.emplace(sp.data.source, data::read_csv(sp.data.source, sp.data.csv)).first;
  const data::Table& table = it->second;
  data::DataSpec spec = sp.data;
  if (spec.target.empty()) spec.target = table.columns.back();
  if (sp.above_median) {
    try {
      spec.positive = above_median_values(table, spec.target);
    } catch (const std::invalid_argument& e) {
      throw data::DataError(sp.name + ": " + e.what());
    }
    if (spec.positive.empty()) throw data::DataError(sp.name + ": no value lies above the median of " + spec.target);
  }
  data::PreprocessOptions po = data::preprocess_options(spec, table);
  po.task = Task::Binary;
  if (po.positive.empty()) throw UsageError(sp.name + ": the study needs a binary task (positive values)");
  const int64_t n = table.num_rows();
  const int64_t n_train = std::min<int64_t>(o.max_train, n * 4 / 5);
  if (n_train < 10 * o.folds) throw data::DataError(sp.name + ": too few rows for the study: " + std::to_string(n));
  const std::vector<int64_t> perm = data::permutation(n, o.seed);
  std::vector<int64_t> train_rows(perm.begin(), perm.begin() + n_train);
  const int64_t n_test = o.max_test > 0 ? std::min<int64_t>(o.max_test, n - n_train) : n - n_train;
  std::vector<int64_t> test_rows(perm.begin() + n_train, perm.begin() + n_train + n_test);
  std::sort(train_rows.begin(), train_rows.end());
  std::sort(test_rows.begin(), test_rows.end());
  // Positive values as prepare() matches them (as numbers where both are), and test rows
  // whose value training never saw labelled by the problem rather than refused.
  const data::TargetColumn y = data::scan_target(table, po.target);
  const std::vector<std::string> asked = po.positive;
  po.positive = data::matching_positive_values(y, train_rows, asked);
  data::Preprocessor prep = data::Preprocessor::fit(table, train_rows, po, y);
  // A category no training case has (Adult's rare native countries, say) is read in a test
  // case as a missing value (all its one-hot columns 0), as the training never saw it.
  const data::Table* src = &table;
  data::Table patched;
  for (const data::FeatureColumn& fc : prep.columns()) {
    if (fc.kind != data::ColumnKind::Categorical) continue;
    const int64_t col = table.column_index(fc.name);
    for (int64_t r : test_rows) {
      const data::Cell& cell = src->cell(r, col);
      if (cell.missing || std::binary_search(fc.categories.begin(), fc.categories.end(), cell.text)) continue;
      if (src == &table) {
        patched = table;
        src = &patched;
      }
      patched.cells[static_cast<size_t>(r * table.num_cols() + col)].missing = true;
      ++out.unseen_categories;
    }
  }
  out.train = prep.transform(table, train_rows, y);
  out.test = prep.transform(*src, test_rows, data::labelled_for(y, prep, asked));
  out.test_y = int_labels(out.test);
  out.pi = eval::positive_rate(out.test_y);
  if (out.pi <= 0 || out.pi >= 1)
    throw data::DataError(sp.name + ": the test cases are all of one class; the metrics need both");
  const std::vector<data::Fold> folds = data::stratified_kfold(out.train.labels, o.folds, o.seed);
  for (int t = 0; t < o.trials; ++t) {
    out.tr.push_back(out.train.subset(folds[t].train));
    out.va.push_back(out.train.subset(folds[t].test));
    out.va_y.push_back(int_labels(out.va.back()));
  }
  return out;
}

// ---- The work: one fit of one option set of one learner on one problem and trial.
struct Unit {
  size_t problem = 0, learner = 0, option = 0;
  int trial = 0;
  std::string key;
  double weight = 1;  // rough relative cost, for the time-left estimate and the order
};

// About the fit's CPU seconds at 4000 training rows, from a measured run (docs/evaluation.md):
// only for the time-left estimate and to start the long fits first.
double unit_weight(const StudyLearner& l, const json& o, const Prepared& p) {
  const double rows = static_cast<double>(p.tr.empty() ? 1 : p.tr[0].size()) / 4000.0,
               d = static_cast<double>(p.train.num_features()) / 100.0;
  const std::string& k = l.kind;
  double w = 1;
  if (k == "logistic") w = 0.01 + 0.05 * d * d;
  else if (k == "perceptron") w = 0.005 * o.value("epochs", 1);
  else if (k == "mlp") w = 0.0015 * o.value("epochs", 1) * (1 + o.value("hidden", 1) / 30.0) * (1 + d);
  else if (k == "tree") w = o.value("preset", std::string("cart")) == "cart" ? 2.0 : 0.02;
  else if (k == "bagged-trees") w = o.value("trees", 100) / 100.0 * (0.1 + 0.6 * d);
  else if (k == "random-forest") w = o.value("trees", 1024) / 1024.0 * (1.5 + 5 * d);
  else if (k == "boosted-trees") w = o.value("steps", 2048) / 2048.0 * (3 + 5 * d);
  else if (k == "boosted-stumps") w = o.value("steps", 8192) / 8192.0 * (1.8 + 4 * d);
  else if (k == "xgboost") w = 0.0005 * o.value("trees", 300) * o.value("max_depth", 6) / 6.0 * (1 + d);
  else if (k == "svm") w = 5;
  else if (k == "knn") w = 2;
  else if (k == "naive-bayes") w = 0.2;
  return w * rows;
}

// Metrics that cannot be computed (e.g. no positive in a small validation part) count as the
// worst value, so that configuration is never chosen for that metric; JSON keeps them as null.
BinaryMetrics metrics_or_worst(const std::vector<double>& p, const std::vector<int>& y) {
  try {
    return eval::binary_metrics(p, y);
  } catch (const std::invalid_argument&) {
    BinaryMetrics m;
    for (Metric k : eval::kAllMetrics)
      m.set(k, eval::higher_is_better(k) ? -std::numeric_limits<double>::infinity()
                                         : std::numeric_limits<double>::infinity());
    return m;
  }
}

json metrics_array(const BinaryMetrics& m) {
  json a = json::array();
  for (Metric k : eval::kAllMetrics) a.push_back(std::isfinite(m.get(k)) ? json(m.get(k)) : json(nullptr));
  return a;
}

BinaryMetrics metrics_from(const json& a) {
  if (!a.is_array() || a.size() != eval::kNumMetrics) throw std::invalid_argument("expected 8 metrics");
  BinaryMetrics m;
  for (int i = 0; i < eval::kNumMetrics; ++i) {
    const Metric k = eval::kAllMetrics[i];
    m.set(k, a[i].is_null() ? (eval::higher_is_better(k) ? -std::numeric_limits<double>::infinity()
                                                          : std::numeric_limits<double>::infinity())
                            : a[i].get<double>());
  }
  return m;
}

// (validation, test) probabilities of one configuration under one calibration.
std::pair<std::vector<double>, std::vector<double>> calibrated(const ScoredConfig& s, const char* cal, bool margin,
                                                                const std::vector<int>& val_y) {
  if (std::string(cal) == "NONE") {
    if (!margin) return {s.val, s.test};
    // The paper's (x - min) / (max - min), with the validation part's range, clipped to [0, 1].
    const auto [lo, hi] = std::minmax_element(s.val.begin(), s.val.end());
    const double a = *lo, range = *hi - *lo > 0 ? *hi - *lo : 1.0;
    auto scale = [&](std::vector<double> v) {
      for (double& x : v) x = std::clamp((x - a) / range, 0.0, 1.0);
      return v;
    };
    return {scale(s.val), scale(s.test)};
  }
  const bool iso = std::string(cal) == "ISO";
  const bool own = !s.val_score.empty();  // the learner's decision_function
  const std::vector<double>& fv = own ? s.val_score : s.val;
  const std::vector<double>& ft = own ? s.test_score : s.test;
  const std::unique_ptr<eval::Calibrator> c = eval::make_calibrator(iso ? "isotonic" : "platt", fv, val_y);
  std::pair<std::vector<double>, std::vector<double>> out{c->apply(fv), c->apply(ft)};
  if (iso) {
    // Isotonic regression gives exact 0 and 1 at the ends of the score range (a block of
    // validation cases all of one class); one test case beyond them would cost MXE's 49.8-bit
    // clip. The study keeps its values within [1/(n+2), (n+1)/(n+2)] for n validation cases:
    // what a block of all n cases of one class would give with Laplace's correction.
    const double e = 1.0 / (static_cast<double>(val_y.size()) + 2.0);
    for (auto* v : {&out.first, &out.second})
      for (double& x : *v) x = std::clamp(x, e, 1.0 - e);
  }
  return out;
}

// The record of one fit: every configuration's validation and test metrics per calibration.
json run_unit(const Unit& u, const StudyLearner& l, const json& options, const Prepared& p, uint64_t seed) {
  json rec = {{"key", u.key}, {"problem", p.name}, {"trial", u.trial}, {"learner", l.name}, {"options", options}};
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = thread_cpu_seconds();
  try {
    const std::vector<ScoredConfig> configs =
        fit_study_configs(l.kind, options, p.tr[u.trial], p.va[u.trial], p.test, seed);
    json cs = json::array();
    for (const ScoredConfig& s : configs) {
      json c = {{"name", s.name}, {"val", json::object()}, {"test", json::object()}};
      try {
        for (const char* cal : kCals) {
          const auto [pv, pt] = calibrated(s, cal, l.margin, p.va_y[u.trial]);
          c["val"][cal] = metrics_array(metrics_or_worst(pv, p.va_y[u.trial]));
          c["test"][cal] = metrics_array(eval::binary_metrics(pt, p.test_y));
        }
      } catch (const std::exception& e) {  // e.g. NaN scores of a diverged network
        c = {{"name", s.name}, {"error", e.what()}};
      }
      cs.push_back(c);
    }
    rec["configs"] = cs;
  } catch (const std::exception& e) {
    rec["configs"] = json::array();
    rec["error"] = e.what();
  }
  rec["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The fit's own CPU time (its thread's; learners run single-threaded inside the study), the
  // figure to estimate a study's length from on a machine shared with other work.
  rec["cpu_seconds"] = thread_cpu_seconds() - c0;
  return rec;
}

json settings_json(const StudyOptions& o) {
  json probs = json::array();
  for (const StudyProblem& p : o.problems)
    probs.push_back({{"name", p.name},
                     {"source", p.data.source},
                     {"target", p.data.target},
                     {"positive", p.data.positive},
                     {"ignore", p.data.ignore},
                     {"above_median", p.above_median}});
  return {{"seed", o.seed}, {"max_train", o.max_train}, {"max_test", o.max_test}, {"folds", o.folds}, {"problems", probs}};
}

std::string fmt_duration(double s) {
  char buf[64];
  if (s < 90) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 5400) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace

StudyProblem named_study_problem(const std::string& name, const std::string& data_dir) {
  const Problem* p = nullptr;
  try {
    p = &problem_by_name(name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--problems: ") + e.what());
  }
  StudyProblem sp;
  sp.name = p->name;
  sp.data.source = (std::filesystem::path(data_dir) / p->file).string();
  sp.data.target = p->target;
  sp.data.positive = p->positive;
  sp.above_median = p->above_median;
  return sp;
}

StudyProblem parse_study_problem(const std::string& spec) {
  const auto bad = [&](const std::string& why) {
    return UsageError("--problem " + spec + ": " + why + " (expected NAME=FILE:TARGET:POSITIVE[,POSITIVE...], POSITIVE "
                      "'>median' for a numeric target above its median)");
  };
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw bad("no NAME=");
  StudyProblem sp;
  sp.name = upper(spec.substr(0, eq));
  const std::string rest = spec.substr(eq + 1);
  const size_t c2 = rest.rfind(':');
  if (c2 == std::string::npos || c2 == 0) throw bad("no :TARGET:POSITIVE");
  const size_t c1 = rest.rfind(':', c2 - 1);
  if (c1 == std::string::npos || c1 == 0) throw bad("no FILE:TARGET");
  sp.data.source = rest.substr(0, c1);
  sp.data.target = rest.substr(c1 + 1, c2 - c1 - 1);
  const std::string pos = rest.substr(c2 + 1);
  if (sp.data.target.empty()) throw bad("the target is empty");
  if (pos.empty()) throw bad("no positive value");
  if (pos == ">median") {
    sp.above_median = true;
  } else {
    std::stringstream ss(pos);
    for (std::string v; std::getline(ss, v, ',');)
      if (!v.empty()) sp.data.positive.push_back(v);
  }
  return sp;
}

void apply_quick(StudyOptions& o) {
  o.grid = "small";
  o.trials = 1;
  o.max_train = 1000;
  o.max_test = 2000;
  o.bootstrap = 200;
}

StudyResult run_study(const StudyOptions& o, const Observer& observer) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.problems.empty()) throw UsageError("the study needs at least one problem");
  if (o.folds < 2) throw UsageError("the study needs at least 2 folds");
  if (o.trials < 1 || o.trials > o.folds) throw UsageError("--trials must be between 1 and the number of folds");
  if (o.grid != "paper" && o.grid != "small") throw UsageError("--grid: 'paper' or 'small', not '" + o.grid + "'");
  if (o.bootstrap < 0) throw UsageError("--bootstrap must be >= 0");
  std::map<std::string, int> seen_problem;
  for (const StudyProblem& p : o.problems) {
    if (p.data.is_fashion_mnist()) throw UsageError("the study runs on CSV data sets with a binary task");
    if (seen_problem[p.name]++) throw UsageError("problem " + p.name + " is named twice");
  }
  const std::string results_path = !o.results.empty() ? o.results : o.output.empty() ? "" : o.output + ".results.jsonl";
  if (o.resume && results_path.empty()) throw UsageError("--resume needs a results file (--results, or --output)");
  if (o.resume && !std::filesystem::is_regular_file(results_path))
    throw UsageError("--resume: cannot read the results file " + results_path);
  std::vector<FileArg> outputs;
  if (!o.output.empty())
    for (const char* ext : {".txt", ".csv", ".json", ".png"})
      outputs.push_back({"--output " + o.output + ": its file", o.output + ext});
  if (!results_path.empty()) outputs.push_back({"--results", results_path});
  for (const StudyProblem& p : o.problems) check_outputs(data_input(p.data), outputs);

  StudyResult result;
  const auto say = [&](const std::string& s) {
    if (observer.line) observer.line(s);
  };

  // Learners: the table's rows, those asked for, those this build can fit.
  const std::vector<StudyLearner>& all = study_learners();
  std::vector<size_t> chosen;
  if (o.learners.empty()) {
    for (size_t i = 0; i < all.size(); ++i) chosen.push_back(i);
  } else {
    for (const std::string& name : o.learners) {
      size_t i = 0;
      while (i < all.size() && all[i].name != upper(name)) ++i;
      if (i == all.size()) {
        std::string known;
        for (const StudyLearner& l : all) known += (known.empty() ? "" : ", ") + l.name;
        throw UsageError("--learners: unknown learner '" + name + "' (known: " + known + ")");
      }
      if (std::find(chosen.begin(), chosen.end(), i) == chosen.end()) chosen.push_back(i);
    }
  }
  std::vector<size_t> learners;
  for (size_t i : chosen) {
    if (study_kind_available(all[i].kind)) {
      // Options this build's learner refuses (a grid written for a learner still to come):
      // the whole learner is left out with the first reason, rather than every fit failing.
      std::string why;
      for (const json& op : o.grid == "paper" ? all[i].paper : all[i].small)
        if (why.empty()) why = study_options_problem(all[i].kind, op);
      if (why.empty()) {
        learners.push_back(i);
      } else {
        result.skipped.push_back("skipping " + all[i].name + ": its grid does not fit this build's '" + all[i].kind +
                                 "': " + why);
        say(result.skipped.back());
      }
    } else {
      result.skipped.push_back("skipping " + all[i].name + ": this build has no learner '" + all[i].kind + "'");
      say(result.skipped.back());
    }
  }
  if (learners.empty()) throw UsageError("no learner of the study is available in this build");

  // Problems.
  std::map<std::string, data::Table> tables;
  std::vector<Prepared> prepared;
  for (const StudyProblem& sp : o.problems) {
    prepared.push_back(prepare_problem(sp, o, tables));
    result.problems.push_back(sp.name);
    const Prepared& p = prepared.back();
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: %lld training cases (%d trials of %lld / %lld), %lld test cases, %lld features, "
                  "test positive rate %.3f; %lld test cells of a category unseen in training read as missing", p.name.c_str(), static_cast<long long>(p.train.size()), o.trials,
                  static_cast<long long>(p.tr[0].size()), static_cast<long long>(p.va[0].size()),
                  static_cast<long long>(p.test.size()), static_cast<long long>(p.train.num_features()), p.pi, static_cast<long long>(p.unseen_categories));
    say(buf);
  }
  tables.clear();

  // The units of work, in a fixed order (problem, trial, learner, option).
  std::vector<Unit> units;
  std::vector<std::vector<json>> options_of(all.size());
  for (size_t li : learners) options_of[li] = o.grid == "paper" ? all[li].paper : all[li].small;
  for (size_t pi = 0; pi < prepared.size(); ++pi)
    for (int t = 0; t < o.trials; ++t)
      for (size_t li : learners)
        for (size_t k = 0; k < options_of[li].size(); ++k) {
          const json& op = options_of[li][k];
          if (op.contains("max_features") && op.at("max_features").get<int64_t>() > prepared[pi].train.num_features())
            continue;  // more features per split than the problem has
          Unit u;
          u.problem = pi;
          u.trial = t;
          u.learner = li;
          u.option = k;
          u.key = prepared[pi].name + "|" + std::to_string(t) + "|" + all[li].name + "|" + op.dump();
          u.weight = unit_weight(all[li], op, prepared[pi]);
          units.push_back(u);
        }

  // The results file: a header line with the settings, then one line per fit.
  std::map<std::string, json> records;
  const json settings = settings_json(o);
  if (o.resume) {
    std::ifstream in(results_path);
    if (!in) throw UsageError("--resume: cannot read the results file " + results_path);
    std::string line;
    bool header = false;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      json j;
      try {
        j = json::parse(line);
      } catch (const json::parse_error&) {
        continue;  // a line cut short by the interruption
      }
      if (!header) {
        if (!j.contains("study_settings"))
          throw UsageError("--resume: " + results_path + " does not start with a study's settings line");
        if (j.at("study_settings") != settings)
          throw UsageError("--resume: " + results_path +
                           " was written with other settings (seed, sizes, folds or problems); run without --resume");
        header = true;
        continue;
      }
      if (j.contains("key") && j.contains("configs")) records[j.at("key").get<std::string>()] = j;
    }
    if (!header) throw UsageError("--resume: " + results_path + " is empty");
  }
  std::unique_ptr<std::ofstream> out;
  if (!results_path.empty()) {
    if (o.resume) {
      // Rewrite what was read (dropping a cut line) so that appends start on a fresh line.
      std::string text = json({{"study_settings", settings}}).dump() + "\n";
      for (const Unit& u : units)
        if (auto it = records.find(u.key); it != records.end()) text += it->second.dump() + "\n";
      util::write_file_atomic(results_path, text);
      out = std::make_unique<std::ofstream>(results_path, std::ios::app);
    } else {
      out = std::make_unique<std::ofstream>(results_path, std::ios::trunc);
      if (*out) *out << json({{"study_settings", settings}}).dump() << "\n" << std::flush;
    }
    if (!*out) throw std::runtime_error("cannot write the results file " + results_path);
  }

  std::vector<size_t> pending;
  double total_weight = 0;
  for (size_t i = 0; i < units.size(); ++i)
    if (records.count(units[i].key)) {
      ++result.fits_resumed;
    } else {
      pending.push_back(i);
      total_weight += units[i].weight;
    }
  // Costly fits first: the last ones to finish are then short, and the cores stay busy.
  std::stable_sort(pending.begin(), pending.end(),
                   [&](size_t a, size_t b) { return units[a].weight > units[b].weight; });
  {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%zu fits (%lld from the results file), %zu to run on %d thread(s)", units.size(),
                  static_cast<long long>(result.fits_resumed), pending.size(), backend::num_threads());
    say(buf);
  }

  std::mutex mu;
  std::atomic<size_t> next{0};
  double done_weight = 0, cpu = 0;
  int64_t done = 0;
  auto last_report = std::chrono::steady_clock::now() - std::chrono::hours(1);
  const int64_t limit = o.stop_after > 0 ? o.stop_after : std::numeric_limits<int64_t>::max();
  std::atomic<int64_t> claimed{0};
  const auto t_run = std::chrono::steady_clock::now();
  auto body = [&](int) {
    for (;;) {
      if (claimed.fetch_add(1) >= limit) return;
      const size_t k = next.fetch_add(1);
      if (k >= pending.size()) return;
      const Unit& u = units[pending[k]];
      const Prepared& p = prepared[u.problem];
      const uint64_t seed = splitmix(o.seed ^ fnv1a(p.name) ^ splitmix(static_cast<uint64_t>(u.trial) + 1)) >> 1;
      json rec = run_unit(u, all[u.learner], options_of[u.learner][u.option], p, seed);
      std::lock_guard<std::mutex> lock(mu);
      if (out) *out << rec.dump() << "\n" << std::flush;
      cpu += rec.at("cpu_seconds").get<double>();
      done_weight += u.weight;
      ++done;
      if (rec.contains("error")) say("fit failed, left out: " + u.key + ": " + rec.at("error").get<std::string>());
      records[u.key] = std::move(rec);
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::seconds(2) || done == static_cast<int64_t>(pending.size())) {
        last_report = now;
        const double el = std::chrono::duration<double>(now - t_run).count();
        const double left = done_weight > 0 ? std::max(0.0, el / done_weight * (total_weight - done_weight)) : 0;
        char buf[256];
        std::snprintf(buf, sizeof buf, "%lld/%zu fits done (%.0f%% of the estimated work), %s elapsed, about %s left",
                      static_cast<long long>(done), pending.size(),
                      total_weight > 0 ? 100 * done_weight / total_weight : 100.0, fmt_duration(el).c_str(),
                      fmt_duration(left).c_str());
        say(buf);
      }
    }
  };
  backend::run_threads(std::max(1, backend::num_threads()), body);
  out.reset();
  result.fits = done;
  result.fit_cpu_seconds = cpu;
  if (done < static_cast<int64_t>(pending.size())) {
    result.complete = false;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    say("stopped after " + std::to_string(done) + " new fits; --resume continues");
    return result;
  }

  // The table: per problem, learner and calibration, each metric's configuration chosen on
  // the validation part (OPT-SEL: on the test set), its test value averaged over trials.
  std::vector<eval::StudyRow> rows;
  for (size_t pi = 0; pi < prepared.size(); ++pi)
    for (size_t li : learners) {
      std::vector<eval::StudyRow> mine(kNumCals);
      bool ok = true;
      for (int t = 0; t < o.trials && ok; ++t) {
        // Every configuration of this learner on (problem, trial), in grid order.
        std::vector<const json*> cfgs;
        for (const Unit& u : units)
          if (u.problem == pi && u.trial == t && u.learner == li)
            for (const json& c : records.at(u.key).at("configs"))
              if (!c.contains("error")) cfgs.push_back(&c);
        if (cfgs.empty()) {
          ok = false;
          break;
        }
        for (int c = 0; c < kNumCals; ++c) {
          std::vector<BinaryMetrics> val, test;
          for (const json* j : cfgs) {
            val.push_back(metrics_from(j->at("val").at(kCals[c])));
            test.push_back(metrics_from(j->at("test").at(kCals[c])));
          }
          eval::StudyRow& r = mine[c];
          if (!r.opt_sel) r.opt_sel = BinaryMetrics{};
          for (Metric m : eval::kAllMetrics) {
            const bool hi = eval::higher_is_better(m);
            size_t bv = 0, bt = 0;
            for (size_t i = 1; i < cfgs.size(); ++i) {
              if (hi ? val[i].get(m) > val[bv].get(m) : val[i].get(m) < val[bv].get(m)) bv = i;
              if (hi ? test[i].get(m) > test[bt].get(m) : test[i].get(m) < test[bt].get(m)) bt = i;
            }
            r.metrics.set(m, r.metrics.get(m) + test[bv].get(m) / o.trials);
            r.opt_sel->set(m, r.opt_sel->get(m) + test[bt].get(m) / o.trials);
          }
        }
      }
      if (!ok) {
        result.skipped.push_back("no row for " + all[li].name + " on " + prepared[pi].name + ": every fit failed");
        say(result.skipped.back());
        continue;
      }
      for (int c = 0; c < kNumCals; ++c) {
        mine[c].problem = prepared[pi].name;
        mine[c].model = all[li].name;
        mine[c].calibration = kCals[c];
        mine[c].positive_rate = prepared[pi].pi;
        rows.push_back(mine[c]);
      }
    }
  if (rows.empty()) throw UsageError("no learner produced a result");
  result.table = eval::make_study_table(rows);
  result.paper = eval::compare_with_paper(result.table);
  std::string boot_note;
  if (o.bootstrap > 0) {
    try {
      result.bootstrap = eval::bootstrap_ranks(result.table, o.bootstrap, o.seed);
    } catch (const std::invalid_argument& e) {
      boot_note = std::string("bootstrap analysis left out: ") + e.what() + "\n";
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The report.
  std::ostringstream rep;
  rep << "Caruana & Niculescu-Mizil (2006), Table 2 with backprop's learners\n";
  rep << "problems:";
  for (const Prepared& p : prepared)
    rep << ' ' << p.name << " (" << p.train.size() << " train, " << p.test.size() << " test)";
  rep << "\ntrials: " << o.trials << " of " << o.folds << " folds; grid: " << o.grid << "; seed " << o.seed << "\n";
  for (const std::string& s : result.skipped) rep << s << "\n";
  rep << "\nnormalized scores (baseline 0, best per problem and metric 1), mean over " << prepared.size()
      << " problem(s); below each line the paper's published line (mean over its 11 problems)\n\n";
  rep << eval::format_table_with_paper(result.table) << "\n";
  rep << eval::format_paper_comparison(result.paper) << "\n";
  if (result.bootstrap) {
    rep << "bootstrap analysis (" << result.bootstrap->samples
        << " samples of problems and metrics; each learner at its best calibration): fraction of samples per rank\n";
    rep << eval::format_bootstrap(*result.bootstrap) << "\n";
  } else {
    rep << boot_note;
  }
  rep << eval::format_problem_tables(result.table);
  rep << format_raw_rows(result.table) << "\n";
  char buf[200];
  std::snprintf(buf, sizeof buf, "%lld fits run (%.0f CPU s of fitting, summed over fits), %lld read from the results file; "
                "study took %.0f s\n", static_cast<long long>(result.fits), result.fit_cpu_seconds,
                static_cast<long long>(result.fits_resumed), result.seconds);
  rep << buf;
  result.report = rep.str();

  if (!o.output.empty()) {
    util::write_file_atomic(o.output + ".txt", result.report);
    result.files.push_back(o.output + ".txt");
    eval::write_study_table(result.table, o.output + ".csv");
    result.files.push_back(o.output + ".csv");
    json j = eval::study_table_json(result.table);
    j["settings"] = settings;
    j["settings"]["trials"] = o.trials;
    j["settings"]["grid"] = o.grid;
    j["skipped"] = result.skipped;
    json pc = json::array();
    for (const auto& l : result.paper.lines)
      pc.push_back({{"model", l.model}, {"calibration", l.calibration}, {"mean", l.ours}, {"paper_mean", l.paper}});
    j["paper_comparison"] = {{"lines", pc}, {"spearman", result.paper.rho ? json(*result.paper.rho) : json(nullptr)}};
    if (result.bootstrap)
      j["bootstrap"] = {{"samples", result.bootstrap->samples},
                        {"models", result.bootstrap->models},
                        {"calibrations", result.bootstrap->calibrations},
                        {"counts", result.bootstrap->counts}};
    util::write_file_atomic(o.output + ".json", j.dump(2) + "\n");
    result.files.push_back(o.output + ".json");
    if (!result.paper.lines.empty()) {
      std::vector<eval::ScatterPoint> pts;
      for (const auto& l : result.paper.lines)
        pts.push_back({l.paper, l.ours, l.model,
                       static_cast<int>(std::find(std::begin(kCals), std::end(kCals), l.calibration) - std::begin(kCals))});
      eval::PlotOptions po;
      po.title = "MEAN normalized score: ours against the paper's";
      eval::plot_scatter(o.output + ".png", pts, {"NONE", "PLATT", "ISO"}, "paper (11 problems)",
                         "ours (" + std::to_string(prepared.size()) + " problems)", po);
      result.files.push_back(o.output + ".png");
    }
  }
  return result;
}

std::string format_raw_rows(const eval::StudyTable& t) {
  std::string s;
  char buf[256];
  std::string current;
  for (const auto& r : t.rows) {
    if (r.problem != current) {
      current = r.problem;
      std::snprintf(buf, sizeof buf, "%s (positive rate %.3f), raw test-set metrics\n%-8s %-6s", r.problem.c_str(),
                    r.positive_rate, "MODEL", "CAL");
      s += buf;
      for (Metric m : eval::kAllMetrics) {
        std::snprintf(buf, sizeof buf, " %7s", eval::metric_name(m));
        s += buf;
      }
      s += "\n";
    }
    std::snprintf(buf, sizeof buf, "%-8s %-6s", r.model.c_str(), r.calibration.c_str());
    s += buf;
    for (Metric m : eval::kAllMetrics) {
      std::snprintf(buf, sizeof buf, " %7.3f", r.metrics.get(m));
      s += buf;
    }
    s += "\n";
  }
  return s;
}

}  // namespace bp::pipeline
