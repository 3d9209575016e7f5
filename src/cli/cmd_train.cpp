// backprop train: fit a model on a data set, report its test scores, save it.
#include <cstdio>

#include "backprop/pipeline/problems.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct TrainCmd {
  data::DataSpec data;
  std::string view;  // --view: a named problem (pipeline/problems.hpp)
  TrainOptions train;
  std::string output = "model.safetensors";
  std::string report;
};
}  // namespace

Runner add_train(CLI::App& app) {
  auto c = std::make_shared<TrainCmd>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model, report its test scores and save it");
  add_data_options(cmd, c->data, c->view);
  add_train_options(cmd, c->train);
  cmd->add_option("--output,-o", c->output, "Model file to write (safetensors)")->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file");
  return [c] {
    finish_train_options(c->train);
    if (!c->view.empty()) pipeline::apply_problem(c->data, c->view);
    data::Prepared d = data::prepare(c->data);
    std::printf("%s\n", d.description.c_str());
    std::fflush(stdout);
    train_evaluate_save(c->train.spec, d, c->data, c->train.quiet, c->output, c->report, {{"command", "train"}});
    return 0;
  };
}

}  // namespace bp::cli
