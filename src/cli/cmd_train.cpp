// backprop train: fit a model on a data set, report its test scores, save it.
#include <cstdio>

#include "backprop/app/report.hpp"
#include "backprop/io/model_file.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct TrainCmd {
  app::DataSpec data;
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
  cmd->add_option("--output,-o", c->output, "Model file to write (safetensors)")->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file");
  return [c] {
    finish_train_options(c->train);
    app::TrainSpec& spec = c->train.spec;
    Progress progress(spec.fit.epochs, !c->train.quiet);
    spec.fit.on_batch = [&](int64_t done, int64_t total, double loss) { progress.batch(done, total, loss); };
    spec.fit.on_epoch = [&](const train::EpochStats& s) {
      progress.epoch(s);
      return true;
    };
    app::Prepared d = app::prepare(c->data);
    std::printf("%s\n", d.description.c_str());
    std::fflush(stdout);
    app::Trained t = app::train_model(spec, d.train, d.input_shape);
    nlohmann::json report = app::training_report(c->data, d, spec, t);
    std::printf("%s\n", app::describe_training(report).c_str());
    if (d.test.size() > 0) {
      nlohmann::json ev = app::evaluate(*t.model, t.task, t.class_names, d.test, spec.fit.loss);
      report["test"] = ev;
      std::printf("test (%lld examples):\n%s", static_cast<long long>(d.test.size()), app::format_evaluation(ev).c_str());
    }
    save_trained(c->output, t, d, c->data, report);
    report["model_file"] = c->output;
    std::printf("model saved to %s\n", c->output.c_str());
    write_report(c->report, report);
    return 0;
  };
}

}  // namespace bp::cli
