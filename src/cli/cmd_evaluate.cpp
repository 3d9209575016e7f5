// backprop evaluate: a saved model on a data set; optionally calibrated, with pictures.
#include <cstdio>

#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/evaluate_saved.hpp"
#include "backprop/pipeline/model_data.hpp"
#include "backprop/pipeline/report.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct EvalCmd {
  pipeline::EvaluateOptions o;
  data::DataSpec data;
  int threads = 0;
};
}  // namespace

Runner add_evaluate(CLI::App& app) {
  auto c = std::make_shared<EvalCmd>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Score a saved model on a data set (by default its own test part)");
  cmd->add_option("--model,-m", c->o.model, "Model file")->required()->check(CLI::ExistingFile);
  add_data_options(cmd, c->data);
  cmd->add_option("--part", c->o.part, "Which rows of the data: test, train, all")
      ->check(CLI::IsMember({"test", "train", "all"}))
      ->capture_default_str();
  cmd->add_option("--calibrate", c->o.calibrate, "Calibrate a binary model first: platt or isotonic")
      ->check(CLI::IsMember({"platt", "isotonic"}));
  cmd->add_option("--calibration-fraction", c->o.calibration_fraction,
                  "Fraction of the evaluated rows used to fit the calibrator (the rest are scored)")
      ->check(CLI::Range(0.05, 0.95))
      ->capture_default_str();
  cmd->add_option("--calibration-data", c->o.calibration_data, "Fit the calibrator on this CSV file instead")
      ->check(CLI::ExistingFile);
  cmd->add_option("--save-calibrated", c->o.save_calibrated,
                  "Write the model with its fitted calibrator to this file (needs --calibrate)")
      ->check(file_name());
  cmd->add_option("--reliability-plot", c->o.reliability_plot, "Draw a reliability diagram (.png or .svg)")->check(file_name());
  cmd->add_option("--roc-plot", c->o.roc_plot, "Draw the ROC curve (.png or .svg)")->check(file_name());
  cmd->add_option("--report", c->o.report, "Also write the results as JSON to this file")->check(file_name());
  cmd->add_option("--threads", c->threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024));
  cmd->callback([c, cmd] {
    if (cmd->count("--data") > 0) c->o.data = c->data;
    // The model has its own target, classes and split: the pipeline refuses these by name.
    for (const std::string& name : pipeline::saved_model_data_options())
      if (cmd->count(name) > 0) c->o.given_data_options.push_back(name);
  });
  return [c] {
    backend::set_num_threads(c->threads);
    const pipeline::EvaluateResult r = pipeline::evaluate_saved_model(c->o);
    for (const std::string& note : r.notes) std::printf("note: %s\n", note.c_str());
    std::printf("%s (%s part, %lld examples)%s:\n%s", r.data.source.c_str(), r.part.c_str(),
                static_cast<long long>(r.rows), r.calibrated ? ", calibrated" : "",
                pipeline::format_evaluation(r.evaluation).c_str());
    if (!c->o.reliability_plot.empty()) std::printf("reliability diagram written to %s\n", c->o.reliability_plot.c_str());
    if (!c->o.roc_plot.empty()) std::printf("ROC curve written to %s\n", c->o.roc_plot.c_str());
    if (!c->o.save_calibrated.empty()) std::printf("calibrated model saved to %s\n", c->o.save_calibrated.c_str());
    return 0;
  };
}

}  // namespace bp::cli
