// backprop evaluate: a saved model on a data set; optionally calibrated, with pictures.
#include <cstdio>

#include "backprop/app/report.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/eval/plots.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/problems.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct EvalCmd {
  std::string model;
  data::DataSpec data;
  std::string view;  // --view: a named problem (pipeline/problems.hpp)
  bool data_given = false;
  std::string part = "test";
  std::string calibrate;
  double calibration_fraction = 0.3;
  std::string calibration_data;
  std::string save_calibrated;
  std::string reliability_plot, roc_plot;
  std::string report;
  int threads = 0;
};

// The data a command should read: the model's own training data unless --data was given.
data::DataSpec data_for(const io::ModelFile& mf, const data::DataSpec& given, bool data_given) {
  if (data_given || !mf.info.extra.contains("data")) return given;
  return data::DataSpec::from_json(mf.info.extra.at("data"));
}
}  // namespace

Runner add_evaluate(CLI::App& app) {
  auto c = std::make_shared<EvalCmd>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Score a saved model on a data set (by default its own test part)");
  cmd->add_option("--model,-m", c->model, "Model file")->required()->check(CLI::ExistingFile);
  add_data_options(cmd, c->data, c->view);
  cmd->add_option("--part", c->part, "Which rows of the data: test, train, all")
      ->check(CLI::IsMember({"test", "train", "all"}))
      ->capture_default_str();
  cmd->add_option("--calibrate", c->calibrate, "Calibrate a binary model first: platt or isotonic")
      ->check(CLI::IsMember({"platt", "isotonic"}));
  cmd->add_option("--calibration-fraction", c->calibration_fraction,
                  "Fraction of the evaluated rows used to fit the calibrator (the rest are scored)")
      ->check(CLI::Range(0.05, 0.95))
      ->capture_default_str();
  cmd->add_option("--calibration-data", c->calibration_data, "Fit the calibrator on this CSV file instead")
      ->check(CLI::ExistingFile);
  cmd->add_option("--save-calibrated", c->save_calibrated, "Write the model with its fitted calibrator to this file");
  cmd->add_option("--reliability-plot", c->reliability_plot, "Draw a reliability diagram (.png or .svg)");
  cmd->add_option("--roc-plot", c->roc_plot, "Draw the ROC curve (.png or .svg)");
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file");
  cmd->add_option("--threads", c->threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024));
  cmd->callback([c, cmd] { c->data_given = cmd->count("--data") > 0; });
  return [c] {
    backend::set_num_threads(c->threads);
    io::ModelFile mf = io::load_model(c->model);
    if (!c->view.empty()) pipeline::apply_problem(c->data, c->view);
    const data::DataSpec spec = data_for(mf, c->data, c->data_given);
    data::Dataset d = data::load_with(spec, mf.info.preprocessing, c->part);
    std::unique_ptr<eval::Calibrator> cal;
    if (!mf.info.calibrator.is_null()) cal = eval::calibrator_from_json(mf.info.calibrator);
    nlohmann::json calib_info;
    if (!c->calibrate.empty()) {
      if (mf.info.task != Task::Binary) throw std::invalid_argument("--calibrate needs a binary model; this one is " + to_string(mf.info.task));
      data::Dataset fit_on;
      if (!c->calibration_data.empty()) {
        data::DataSpec cs = spec;
        cs.source = c->calibration_data;
        fit_on = data::load_with(cs, mf.info.preprocessing, "all");
        calib_info = {{"fitted_on", c->calibration_data}, {"rows", fit_on.size()}};
      } else {
        data::Split sp = data::stratified_split(d.labels, 0.0, c->calibration_fraction, spec.split_seed + 1);
        fit_on = d.subset(sp.test);
        d = d.subset(sp.train);
        calib_info = {{"fitted_on", "held-out part of the evaluated rows"}, {"rows", fit_on.size()}};
      }
      std::vector<double> scores = app::positive_scores(*mf.module, fit_on.x);
      std::vector<int> labels(fit_on.labels.begin(), fit_on.labels.end());
      if (c->calibrate == "platt") {
        auto p = std::make_unique<eval::PlattScaler>();
        p->fit(scores, labels);
        cal = std::move(p);
      } else {
        auto iso = std::make_unique<eval::IsotonicCalibrator>();
        iso->fit(scores, labels);
        cal = std::move(iso);
      }
      if (!c->save_calibrated.empty()) {
        mf.info.calibrator = cal->to_json();
        io::save_model(c->save_calibrated, *mf.module, mf.info);
      }
    }
    nlohmann::json ev = app::evaluate(*mf.module, mf.info.task, mf.info.class_names, d, train::Loss::Auto, cal.get());
    if (!calib_info.is_null()) ev["calibration_fit"] = calib_info;
    std::printf("%s (%s part, %lld examples)%s:\n%s", spec.source.c_str(), c->part.c_str(),
                static_cast<long long>(d.size()), cal ? ", calibrated" : "", app::format_evaluation(ev).c_str());
    if (!c->reliability_plot.empty() || !c->roc_plot.empty()) {
      if (mf.info.task != Task::Binary) throw std::invalid_argument("the plots are drawn for binary models only");
      std::vector<double> p = app::positive_scores(*mf.module, d.x);
      if (cal) p = cal->apply(p);
      std::vector<int> labels(d.labels.begin(), d.labels.end());
      if (!c->reliability_plot.empty()) {
        eval::plot_reliability_diagram(c->reliability_plot, p, labels);
        std::printf("reliability diagram written to %s\n", c->reliability_plot.c_str());
      }
      if (!c->roc_plot.empty()) {
        eval::plot_roc_curve(c->roc_plot, p, labels);
        std::printf("ROC curve written to %s\n", c->roc_plot.c_str());
      }
    }
    if (!c->save_calibrated.empty()) std::printf("calibrated model saved to %s\n", c->save_calibrated.c_str());
    write_report(c->report, {{"command", "evaluate"}, {"model_file", c->model}, {"data", spec.to_json()},
                             {"part", c->part}, {"evaluation", ev}});
    return 0;
  };
}

}  // namespace bp::cli
