// backprop tune: choose the learning rate (and optionally the hidden sizes) on a tuning set
// or by k-fold cross-validation, as the lecture says, then train the final model with it.
#include <cmath>
#include <cstdio>

#include "backprop/app/report.hpp"
#include "backprop/pipeline/problems.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct TuneCmd {
  data::DataSpec data;
  std::string view;  // --view: a named problem (pipeline/problems.hpp)
  TrainOptions train;
  std::string lrs = "0.1,0.01,0.001";
  std::string hidden_grid;
  int folds = 0;
  double tuning_fraction = 0.2;
  std::string output = "model.safetensors";
  std::string report;
};

struct Candidate {
  double lr;
  std::string hidden;
  double loss = 0, accuracy = 0;
};
}  // namespace

Runner add_tune(CLI::App& app) {
  auto c = std::make_shared<TuneCmd>();
  CLI::App* cmd = app.add_subcommand("tune", "Choose the learning rate (and hidden sizes) on a tuning set or by cross-validation");
  add_data_options(cmd, c->data, c->view);
  add_train_options(cmd, c->train);
  cmd->add_option("--lrs", c->lrs, "Learning rates to try, comma-separated")->capture_default_str();
  cmd->add_option("--hidden-grid", c->hidden_grid, "Hidden sizes to try, ';'-separated, e.g. \"64;128,64\" (default: --hidden)");
  cmd->add_option("--folds", c->folds, "k-fold cross-validation on the training part (0: one tuning set)")
      ->check(CLI::Range(0, 50))
      ->capture_default_str();
  cmd->add_option("--tuning-fraction", c->tuning_fraction, "Fraction of the training part used as the tuning set")
      ->check(CLI::Range(0.05, 0.9))
      ->capture_default_str();
  cmd->add_option("--output,-o", c->output, "Model file for the final model")->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file");
  return [c] {
    if (c->folds == 1) throw std::invalid_argument("--folds must be 0 (a tuning set) or at least 2");
    finish_train_options(c->train);
    const std::vector<double> lrs = parse_numbers(c->lrs, "--lrs");
    std::vector<std::string> hiddens;
    if (c->hidden_grid.empty()) {
      hiddens.push_back(c->train.hidden);
    } else {
      std::string item;
      std::stringstream ss(c->hidden_grid);
      while (std::getline(ss, item, ';')) {
        parse_sizes(item, "--hidden-grid");
        hiddens.push_back(item);
      }
    }
    if (!c->view.empty()) pipeline::apply_problem(c->data, c->view);
    data::Prepared d = data::prepare(c->data);
    std::printf("%s\n", d.description.c_str());
    Progress progress(1, !c->train.quiet);

    // The folds (or the one tuning split) of the training part.
    std::vector<data::Fold> folds;
    if (c->folds >= 2) {
      folds = d.train.is_classification() ? data::stratified_kfold(d.train.labels, c->folds, c->data.split_seed)
                                          : data::kfold(d.train.size(), c->folds, c->data.split_seed);
    } else {
      data::Split sp = d.train.is_classification()
                           ? data::stratified_split(d.train.labels, 0.0, c->tuning_fraction, c->data.split_seed)
                           : data::train_validation_test_split(d.train.size(), 0.0, c->tuning_fraction, c->data.split_seed);
      folds.push_back({sp.train, sp.test});
    }
    std::vector<Candidate> cands;
    for (const auto& h : hiddens)
      for (double lr : lrs) cands.push_back({lr, h});
    const bool cls = d.train.is_classification();
    std::printf("%-10s %-14s %12s%s   (%s)\n", "lr", "hidden", "tuning loss", cls ? "  tuning acc" : "",
                folds.size() > 1 ? (std::to_string(folds.size()) + "-fold cross-validation").c_str() : "one tuning set");
    nlohmann::json table = nlohmann::json::array();
    for (auto& cand : cands) {
      app::TrainSpec spec = c->train.spec;
      spec.optimizer.lr = static_cast<float>(cand.lr);
      spec.model.hidden = parse_sizes(cand.hidden, "--hidden-grid");
      spec.fit.on_batch = nullptr;
      spec.fit.on_epoch = nullptr;
      double loss = 0, acc = 0;
      for (const auto& f : folds) {
        train::Scores s;
        try {
          s = app::fit_and_score(spec, d.train.subset(f.train), d.train.subset(f.test), d.input_shape);
        } catch (const std::invalid_argument& e) {
          if (std::string(e.what()).find("diverged") == std::string::npos) throw;
          s.loss = INFINITY;  // a learning rate too large for this problem: keep it in the table, never choose it
          s.accuracy = 0;
        }
        loss += s.loss / static_cast<double>(folds.size());
        acc += (cls ? s.accuracy : 0) / static_cast<double>(folds.size());
      }
      cand.loss = loss;
      cand.accuracy = acc;
      if (cls)
        std::printf("%-10g %-14s %12.4f %10.2f%%\n", cand.lr, cand.hidden.c_str(), loss, 100 * acc);
      else
        std::printf("%-10g %-14s %12.4f\n", cand.lr, cand.hidden.c_str(), loss);
      std::fflush(stdout);
      table.push_back({{"lr", cand.lr}, {"hidden", cand.hidden}, {"loss", std::isfinite(loss) ? nlohmann::json(loss) : nlohmann::json(nullptr)},
                       {"accuracy", cls ? nlohmann::json(acc) : nlohmann::json(nullptr)}});
    }
    const Candidate* best = &cands.front();
    for (const auto& cand : cands)
      if (cand.loss < best->loss) best = &cand;
    if (!std::isfinite(best->loss)) throw std::invalid_argument("every learning rate diverged; try smaller ones");
    std::printf("chosen: lr %g, hidden %s (lowest tuning loss)\n", best->lr, best->hidden.c_str());

    app::TrainSpec spec = c->train.spec;
    spec.optimizer.lr = static_cast<float>(best->lr);
    spec.model.hidden = parse_sizes(best->hidden, "--hidden-grid");
    train_evaluate_save(spec, d, c->data, c->train.quiet, c->output, c->report,
                        {{"command", "tune"},
                         {"tuning",
                          {{"folds", folds.size() > 1 ? static_cast<int>(folds.size()) : 0},
                           {"tuning_fraction", folds.size() > 1 ? nlohmann::json(nullptr) : nlohmann::json(c->tuning_fraction)},
                           {"candidates", table},
                           {"chosen", {{"lr", best->lr}, {"hidden", best->hidden}}}}}});
    return 0;
  };
}

}  // namespace bp::cli
