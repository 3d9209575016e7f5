#include "backprop/pipeline/tune.hpp"

#include <cmath>
#include <limits>

#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"

namespace bp::pipeline {

std::string hidden_text(const std::vector<int64_t>& hidden) {
  std::string s;
  for (int64_t h : hidden) {
    if (!s.empty()) s += ',';
    s += std::to_string(h);
  }
  return s;
}

TuneResult tune(const TuneOptions& o, const TuneObserver& observer) {
  check_outputs(data_input(o.data), {{"--output", o.output}, {"--report", o.report}});  // before any work
  if (o.output.empty()) throw UsageError("--output: give the model file's name");
  if (o.folds == 1 || o.folds < 0) throw UsageError("--folds must be 0 (a tuning set) or at least 2");
  if (is_learner_kind(o.spec.model.name))
    throw UsageError("--model " + o.spec.model.name + ": tune chooses a network's learning rate and hidden sizes; "
                     "train the learners with `backprop train` (their options: docs/trees.md, docs/learners.md)");
  if (o.lrs.empty()) throw UsageError("--lrs: give at least one learning rate");
  for (double lr : o.lrs)
    if (!std::isfinite(lr) || lr <= 0) throw UsageError("--lrs: learning rates must be positive numbers");
  if (o.folds == 0 && !(o.tuning_fraction > 0 && o.tuning_fraction < 1))
    throw UsageError("--tuning-fraction must lie strictly between 0 and 1");
  const std::vector<std::vector<int64_t>> hiddens =
      o.hidden_grid.empty() ? std::vector<std::vector<int64_t>>{o.spec.model.hidden} : o.hidden_grid;

  const data::Prepared d = data::prepare(o.data);
  if (observer.data_ready) observer.data_ready(d.description);

  // The folds (or the one tuning split) of the training part.
  std::vector<data::Fold> folds;
  const bool cls = d.train.is_classification();
  if (o.folds >= 2) {
    folds = cls ? data::stratified_kfold(d.train.labels, o.folds, o.data.split_seed)
                : data::kfold(d.train.size(), o.folds, o.data.split_seed);
  } else {
    data::Split sp = cls ? data::stratified_split(d.train.labels, 0.0, o.tuning_fraction, o.data.split_seed)
                         : data::train_validation_test_split(d.train.size(), 0.0, o.tuning_fraction, o.data.split_seed);
    folds.push_back({sp.train, sp.test});
  }
  TuneResult r;
  for (const auto& h : hiddens)
    for (double lr : o.lrs) r.candidates.push_back({lr, h});
  if (observer.plan) observer.plan({o.folds >= 2 ? static_cast<int>(folds.size()) : 0, cls, r.candidates.size()});

  for (TuneCandidate& cand : r.candidates) {
    TrainSpec spec = o.spec;
    spec.optimizer.lr = static_cast<float>(cand.lr);
    spec.model.hidden = cand.hidden;
    spec.fit.on_batch = nullptr;
    spec.fit.on_epoch = nullptr;
    for (const auto& f : folds) {
      train::Scores s;
      try {
        s = fit_and_score(spec, d.train.subset(f.train), d.train.subset(f.test), d.input_shape);
      } catch (const train::DivergenceError&) {
        // A learning rate too large for this problem: kept in the table, never chosen.
        s.loss = std::numeric_limits<double>::infinity();
        s.accuracy = 0;
        cand.diverged = true;
      }
      cand.loss += s.loss / static_cast<double>(folds.size());
      cand.accuracy += (cls ? s.accuracy : 0) / static_cast<double>(folds.size());
    }
    if (observer.candidate) observer.candidate(cand);
  }
  bool found = false;
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const TuneCandidate& c = r.candidates[i];
    if (c.diverged || !std::isfinite(c.loss)) continue;
    if (!found || c.loss < r.candidates[r.chosen].loss) r.chosen = i;
    found = true;
  }
  if (!found) throw train::DivergenceError("every learning rate diverged; try smaller ones");

  const TuneCandidate& best = r.candidates[r.chosen];
  if (observer.chosen) observer.chosen(best);
  nlohmann::json table = nlohmann::json::array();
  for (const TuneCandidate& c : r.candidates)
    table.push_back({{"lr", c.lr},
                     {"hidden", hidden_text(c.hidden)},
                     {"loss", std::isfinite(c.loss) ? nlohmann::json(c.loss) : nlohmann::json(nullptr)},
                     {"accuracy", cls ? nlohmann::json(c.accuracy) : nlohmann::json(nullptr)}});
  TrainSpec spec = o.spec;
  spec.optimizer.lr = static_cast<float>(best.lr);
  spec.model.hidden = best.hidden;
  r.final = train_evaluate_save(
      spec, d, o.data, o.output, o.report,
      {{"command", "tune"},
       {"tuning",
        {{"folds", folds.size() > 1 ? static_cast<int>(folds.size()) : 0},
         {"tuning_fraction", folds.size() > 1 ? nlohmann::json(nullptr) : nlohmann::json(o.tuning_fraction)},
         {"candidates", table},
         {"chosen", {{"lr", best.lr}, {"hidden", hidden_text(best.hidden)}}}}}},
      observer);
  return r;
}

}  // namespace bp::pipeline
