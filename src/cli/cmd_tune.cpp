// backprop tune: choose the learning rate (and optionally the hidden sizes) on a tuning set
// or by k-fold cross-validation, as the lecture says, then train the final model with it.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "backprop/pipeline/tune.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct TuneCmd {
  data::DataSpec data;
  TrainOptions train;
  std::string lrs = "0.1,0.01,0.001";
  std::string hidden_grid;
  int folds = 0;
  double tuning_fraction = 0.2;
  std::string output = "model.safetensors";
  std::string report;
};
}  // namespace

Runner add_tune(CLI::App& app) {
  auto c = std::make_shared<TuneCmd>();
  CLI::App* cmd = app.add_subcommand("tune", "Choose the learning rate (and hidden sizes) on a tuning set or by cross-validation");
  add_data_options(cmd, c->data);
  add_train_options(cmd, c->train);
  cmd->add_option("--lrs", c->lrs, "Learning rates to try, comma-separated")->capture_default_str();
  cmd->add_option("--hidden-grid", c->hidden_grid, "Hidden sizes to try, ';'-separated, e.g. \"64;128,64\" (default: --hidden)");
  cmd->add_option("--folds", c->folds, "k-fold cross-validation on the training part (0: one tuning set)")
      ->check(CLI::Range(0, 50))
      ->capture_default_str();
  cmd->add_option("--tuning-fraction", c->tuning_fraction, "Fraction of the training part used as the tuning set")
      ->check(CLI::Range(0.05, 0.9))
      ->capture_default_str();
  cmd->add_option("--output,-o", c->output, "Model file for the final model")->check(file_name())->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file")->check(file_name());
  return [c] {
    finish_train_options(c->train);
    pipeline::TuneOptions o;
    o.data = c->data;
    o.spec = c->train.spec;
    o.lrs = parse_numbers(c->lrs, "--lrs");
    std::string item;
    std::stringstream ss(c->hidden_grid);
    while (std::getline(ss, item, ';')) o.hidden_grid.push_back(parse_sizes(item, "--hidden-grid"));
    o.folds = c->folds;
    o.tuning_fraction = c->tuning_fraction;
    o.output = c->output;
    o.report = c->report;

    Progress progress(c->train.spec.fit.epochs, !c->train.quiet);
    pipeline::TuneObserver ob;
    static_cast<pipeline::Observer&>(ob) = progress_observer(progress, c->train.quiet);
    bool cls = false;
    ob.plan = [&](const pipeline::TunePlan& p) {
      cls = p.classification;
      std::printf("%-10s %-14s %12s%s   (%s)\n", "lr", "hidden", "tuning loss", cls ? "  tuning acc" : "",
                  p.folds > 1 ? (std::to_string(p.folds) + "-fold cross-validation").c_str() : "one tuning set");
    };
    ob.candidate = [&](const pipeline::TuneCandidate& cand) {
      const std::string hidden = pipeline::hidden_text(cand.hidden);
      if (cls)
        std::printf("%-10g %-14s %12.4f %10.2f%%\n", cand.lr, hidden.c_str(), cand.loss, 100 * cand.accuracy);
      else
        std::printf("%-10g %-14s %12.4f\n", cand.lr, hidden.c_str(), cand.loss);
      std::fflush(stdout);
    };
    ob.chosen = [](const pipeline::TuneCandidate& best) {
      std::printf("chosen: lr %g, hidden %s (lowest tuning loss)\n", best.lr, pipeline::hidden_text(best.hidden).c_str());
      std::fflush(stdout);
    };
    pipeline::TuneResult r = pipeline::tune(o, ob);
    print_train_result(r.final, c->train.quiet);
    return 0;
  };
}

}  // namespace bp::cli
