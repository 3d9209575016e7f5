#include "backprop/pipeline/study_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

#include "backprop/data/error.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/report.hpp"
#include "backprop/pipeline/training.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/eval/metrics.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/pipeline/problems.hpp"
#include "backprop/train/neuron.hpp"

namespace bp::pipeline {

namespace {

using eval::BinaryMetrics;
using eval::Metric;

const char* kCals[] = {"NONE", "PLATT", "ISO"};

// One trained configuration's scores on the validation and the test cases.
struct Scored {
  std::vector<double> val, test;
  bool margin = false;  // perceptron: raw margins, not probabilities
};

std::vector<int> int_labels(const data::Dataset& d) { return {d.labels.begin(), d.labels.end()}; }

// Metrics that cannot be computed (e.g. no positive in a small validation set) count as the
// worst possible value, so such a configuration is never chosen for that metric.
BinaryMetrics metrics_or_worst(const std::vector<double>& p, const std::vector<int>& y) {
  try {
    return eval::binary_metrics(p, y);
  } catch (const std::invalid_argument&) {
    BinaryMetrics m;
    for (Metric k : eval::kAllMetrics)
      m.set(k, eval::higher_is_better(k) ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
    return m;
  }
}

// (validation, test) probabilities of one configuration under one calibration.
std::pair<std::vector<double>, std::vector<double>> calibrated(const Scored& s, const std::string& cal,
                                                                const std::vector<int>& val_y) {
  if (cal == "NONE") {
    if (!s.margin) return {s.val, s.test};
    // Min–max scaling of the margin with the validation set's range, clipped to [0, 1].
    const auto [lo, hi] = std::minmax_element(s.val.begin(), s.val.end());
    const double a = *lo, range = *hi - *lo > 0 ? *hi - *lo : 1.0;
    auto scale = [&](std::vector<double> v) {
      for (double& x : v) x = std::clamp((x - a) / range, 0.0, 1.0);
      return v;
    };
    return {scale(s.val), scale(s.test)};
  }
  const std::unique_ptr<eval::Calibrator> c = eval::make_calibrator(cal == "PLATT" ? "platt" : "isotonic", s.val, val_y);
  return {c->apply(s.val), c->apply(s.test)};
}

Scored train_mlp(const StudyOptions& o, const std::vector<int64_t>& hidden, double lr, const data::Dataset& tr,
                 const data::Dataset& va, const data::Dataset& te, uint64_t seed) {
  TrainSpec spec;
  spec.model.name = "mlp";
  spec.model.hidden = hidden;
  spec.model.activations = {nn::Act::ReLU};
  spec.model.seed = seed;
  spec.optimizer.name = "adam";
  spec.optimizer.lr = static_cast<float>(lr);
  spec.fit.epochs = o.mlp_epochs;
  spec.fit.batch_size = 32;
  spec.fit.seed = seed;
  Trained t = train_model(spec, tr, {tr.num_features()});
  return {positive_scores(*t.model, va.x), positive_scores(*t.model, te.x), false};
}

Scored train_logistic(const StudyOptions& o, double lr, const data::Dataset& tr, const data::Dataset& va,
                      const data::Dataset& te) {
  nn::LogisticRegression m(tr.num_features());
  train::fit_logistic(m, tr.x, int_labels(tr), {.epochs = o.lr_epochs, .lr = static_cast<float>(lr)});
  auto pv = m.predict_proba(va.x), pt = m.predict_proba(te.x);
  return {{pv.begin(), pv.end()}, {pt.begin(), pt.end()}, false};
}

Scored train_perceptron(int epochs, const data::Dataset& tr, const data::Dataset& va, const data::Dataset& te,
                        uint64_t seed) {
  nn::Perceptron p(tr.num_features());
  train::fit_perceptron(p, tr.x, int_labels(tr), {.max_epochs = epochs, .lr = 1.f, .shuffle_seed = seed});
  auto mv = p.margin(va.x), mt = p.margin(te.x);
  return {{mv.begin(), mv.end()}, {mt.begin(), mt.end()}, true};
}

}  // namespace

StudyResult run_study(const StudyOptions& o, const Observer& observer) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.trials < 2) throw UsageError("the study needs at least 2 trials (folds)");
  if (o.data.is_fashion_mnist()) throw UsageError("the study runs on a CSV data set with a binary task");
  std::vector<FileArg> outputs;
  if (!o.output.empty())
    for (const char* ext : {".txt", ".csv", ".json"}) outputs.push_back({"--output " + o.output + ": its file", o.output + ext});
  check_outputs(data_input(o.data), outputs);  // before the study, which may take hours
  data::Table table = data::read_csv(o.data.source);
  std::vector<std::string> views = o.views;
  if (views.empty()) {
    if (o.data.positive.empty())
      throw UsageError("name the binary task: --view LETTER.P1 (or LETTER.P2), or --positive VALUES");
    views.push_back("");
  }
  std::vector<eval::StudyRow> rows;
  StudyResult result;
  for (const std::string& view : views) {
    data::DataSpec spec = o.data;
    if (!view.empty()) apply_problem(spec, view);
    const std::string problem = view.empty() ? "POSITIVE" : view;
    result.problems.push_back(problem);
    data::PreprocessOptions po = data::preprocess_options(spec, table);
    po.task = Task::Binary;
    if (po.positive.empty()) throw UsageError("the study needs a binary task: give --positive or --view");
    const int64_t n = table.num_rows();
    const int64_t n_train = std::min<int64_t>(o.max_train, n * 4 / 5);
    if (n_train < 10 * o.trials) throw data::DataError("too few rows for the study: " + std::to_string(n));
    std::vector<int64_t> perm = data::permutation(n, o.seed);
    std::vector<int64_t> train_rows(perm.begin(), perm.begin() + n_train), test_rows(perm.begin() + n_train, perm.end());
    std::sort(train_rows.begin(), train_rows.end());
    std::sort(test_rows.begin(), test_rows.end());
    // Positive values as prepare() matches them (as numbers where both are), and test rows
    // whose value training never saw labelled by the view rather than refused.
    const data::TargetColumn y = data::scan_target(table, po.target);
    const std::vector<std::string> asked = po.positive;
    po.positive = data::matching_positive_values(y, train_rows, asked);
    data::Preprocessor prep = data::Preprocessor::fit(table, train_rows, po, y);
    data::Dataset train = prep.transform(table, train_rows, y),
                  test = prep.transform(table, test_rows, data::labelled_for(y, prep, asked));
    const std::vector<int> test_y = int_labels(test);
    const double pi = eval::positive_rate(test_y);

    // sums[model][cal] of test metrics chosen per metric on validation, over trials
    std::map<std::string, std::map<std::string, BinaryMetrics>> sums;
    std::vector<data::Fold> folds = data::stratified_kfold(train.labels, o.trials, o.seed);
    for (size_t f = 0; f < folds.size(); ++f) {
      data::Dataset tr = train.subset(folds[f].train), va = train.subset(folds[f].test);
      const std::vector<int> val_y = int_labels(va);
      const uint64_t seed = o.seed + 1000 * (f + 1);
      std::map<std::string, std::vector<Scored>> family;
      for (double lr : o.lr_lrs) family["LR"].push_back(train_logistic(o, lr, tr, va, test));
      for (int e : o.perceptron_epochs) family["PRC"].push_back(train_perceptron(e, tr, va, test, seed));
      for (const auto& h : o.mlp_hidden)
        for (double lr : o.mlp_lrs) family["ANN"].push_back(train_mlp(o, h, lr, tr, va, test, seed));
      for (const auto& [name, configs] : family) {
        for (const char* cal : kCals) {
          std::vector<BinaryMetrics> val_m, test_m;
          for (const Scored& s : configs) {
            auto [pv, pt] = calibrated(s, cal, val_y);
            val_m.push_back(metrics_or_worst(pv, val_y));
            test_m.push_back(eval::binary_metrics(pt, test_y));
          }
          BinaryMetrics& acc = sums[name][cal];
          for (Metric m : eval::kAllMetrics) {  // the paper picks each learner's parameters per metric
            size_t best = 0;
            for (size_t i = 1; i < configs.size(); ++i) {
              const double a = val_m[i].get(m), b = val_m[best].get(m);
              if (eval::higher_is_better(m) ? a > b : a < b) best = i;
            }
            acc.set(m, acc.get(m) + test_m[best].get(m));
          }
        }
      }
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s: trial %zu/%zu done (%.0f s)", problem.c_str(), f + 1, folds.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (observer.line) observer.line(buf);
    }
    for (const char* name : {"ANN", "LR", "PRC"})
      for (const char* cal : kCals) {
        BinaryMetrics m = sums[name][cal];
        for (Metric k : eval::kAllMetrics) m.set(k, m.get(k) / static_cast<double>(folds.size()));
        rows.push_back({problem, name, cal, pi, m});
      }
  }
  result.table = eval::make_study_table(rows);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.output.empty())
    for (const char* ext : {".txt", ".csv", ".json"}) {
      eval::write_study_table(result.table, o.output + ext);
      result.files.push_back(o.output + ext);
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
      std::snprintf(buf, sizeof buf, "%s (positive rate %.3f), raw test-set metrics\n%-6s %-6s", r.problem.c_str(),
                    r.positive_rate, "MODEL", "CAL");
      s += buf;
      for (Metric m : eval::kAllMetrics) {
        std::snprintf(buf, sizeof buf, " %7s", eval::metric_name(m));
        s += buf;
      }
      s += "\n";
    }
    std::snprintf(buf, sizeof buf, "%-6s %-6s", r.model.c_str(), r.calibration.c_str());
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
