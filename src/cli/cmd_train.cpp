// backprop train: fit a model on a data set, report its test scores, save it.
#include <cstdio>

#include "backprop/pipeline/train_evaluate_save.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct TrainCmd {
  data::DataSpec data;
  TrainOptions train;
  std::string output = "model.safetensors";
  std::string report;
};
}  // namespace

Runner add_train(CLI::App& app) {
  auto c = std::make_shared<TrainCmd>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model, report its test scores and save it");
  add_data_options(cmd, c->data);
  add_train_options(cmd, c->train);
  cmd->add_option("--output,-o", c->output, "Model file to write (safetensors)")
      ->check(file_name())
      ->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file")->check(file_name());
  return [c] {
    finish_train_options(c->train);
    Progress progress(c->train.spec.fit.epochs, !c->train.quiet);
    print_train_result(pipeline::train_evaluate_save({c->data, c->train.spec, c->output, c->report},
                                                     progress_observer(progress, c->train.quiet)),
                       c->train.quiet);
    return 0;
  };
}

}  // namespace bp::cli
