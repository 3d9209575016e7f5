#include "backprop/pipeline/evaluate_saved.hpp"

#include <algorithm>
#include <memory>

#include "backprop/eval/calibration.hpp"
#include "backprop/eval/plots.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/data/error.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/embedding.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model_data.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/report.hpp"

namespace bp::pipeline {

EvaluateResult evaluate_saved_model(const EvaluateOptions& o) {
  if (o.part != "test" && o.part != "train" && o.part != "all")
    throw UsageError("--part must be test, train or all, not '" + o.part + "'");
  const auto& names = eval::calibrator_names();
  if (!o.calibrate.empty() && std::find(names.begin(), names.end(), o.calibrate) == names.end())
    throw UsageError("--calibrate: unknown calibrator '" + o.calibrate + "' (choose platt or isotonic)");
  if (!o.save_calibrated.empty() && o.calibrate.empty())
    throw UsageError("--save-calibrated needs --calibrate (platt or isotonic)");
  if (o.calibrate.empty() && !o.calibration_data.empty())
    throw UsageError("--calibration-data needs --calibrate (platt or isotonic)");

  refuse_data_options(o.data ? *o.data : data::DataSpec{}, o.given_data_options);
  std::vector<FileArg> inputs = {{"--model", o.model}, {"--calibration-data", o.calibration_data}};
  if (o.data) {
    const auto d = data_input(*o.data);
    inputs.insert(inputs.end(), d.begin(), d.end());
  }
  const std::vector<FileArg> outputs = {{"--save-calibrated", o.save_calibrated},
                                        {"--reliability-plot", o.reliability_plot},
                                        {"--roc-plot", o.roc_plot},
                                        {"--report", o.report}};
  check_outputs(inputs, outputs);  // before any work

  if (is_embedding_file(o.model))
    throw UsageError(o.model + " is a word-embedding model (backprop embed): query it with backprop similar -m " + o.model +
                     " WORD");
  io::ModelFile mf = io::load_model(o.model);
  if (is_char_lm(mf.info))
    throw UsageError(o.model + " is a character language model (char-lstm): generate text with backprop sample -m " + o.model);
  const bool binary = mf.info.task == Task::Binary;
  if (!o.calibrate.empty() && !binary)
    throw UsageError("--calibrate needs a binary model; this one is " + to_string(mf.info.task));
  if ((!o.reliability_plot.empty() || !o.roc_plot.empty()) && !binary)
    throw UsageError("the plots are drawn for binary models only");

  EvaluateResult r;
  // The data: the model's own training data unless other data was named; the same test part
  // when it is the training file, every row when it is not (pipeline/model_data.hpp).
  ModelData md = resolve_model_data(o.model, mf.info.extra,
                                    o.data ? std::optional<std::string>(o.data->source) : std::nullopt, o.part);
  r.data = md.spec;
  r.part = md.part;
  r.notes = md.notes;
  if (!o.data) check_outputs(data_input(r.data, "training data"), outputs);  // the stored data is an input too
  data::Dataset d = data::load_with(r.data, mf.info.preprocessing, r.part);
  if (md.other_file)
    r.notes.push_back(r.data.source + " is not the file this model was trained on: scoring all " +
                      std::to_string(d.size()) + " rows");
  if (md.expected_rows >= 0 && d.size() != md.expected_rows)
    throw data::DataError(r.data.source + ": its " + r.part + " part has " + std::to_string(d.size()) +
                          " rows, but training recorded " + std::to_string(md.expected_rows) +
                          ": the split cannot be reproduced");
  std::unique_ptr<eval::Calibrator> cal;
  if (!mf.info.calibrator.is_null()) cal = eval::calibrator_from_json(mf.info.calibrator);
  nlohmann::json calib_info;
  if (!o.calibrate.empty()) {
    data::Dataset fit_on;
    if (!o.calibration_data.empty()) {
      data::DataSpec cs = r.data;
      cs.source = o.calibration_data;
      fit_on = data::load_with(cs, mf.info.preprocessing, "all");
      calib_info = {{"fitted_on", o.calibration_data}, {"rows", fit_on.size()}};
    } else {
      data::Split sp = data::stratified_split(d.labels, 0.0, o.calibration_fraction, r.data.split_seed + 1);
      fit_on = d.subset(sp.test);
      d = d.subset(sp.train);
      calib_info = {{"fitted_on", "held-out part of the evaluated rows"}, {"rows", fit_on.size()}};
    }
    const std::vector<int> labels(fit_on.labels.begin(), fit_on.labels.end());
    cal = eval::make_calibrator(o.calibrate, calibration_scores(mf, fit_on.x), labels);
    if (!o.save_calibrated.empty()) {
      mf.info.calibrator = cal->to_json();
      io::save_model(o.save_calibrated, mf);
    }
  }
  r.rows = d.size();
  r.calibrated = cal != nullptr;
  r.evaluation = evaluate(mf, mf.info.task, mf.info.class_names, d, train::Loss::Auto, cal.get());
  if (!calib_info.is_null()) r.evaluation["calibration_fit"] = calib_info;
  if (!o.reliability_plot.empty() || !o.roc_plot.empty()) {
    std::vector<double> p = cal ? cal->apply(calibration_scores(mf, d.x)) : positive_scores(mf, d.x);
    const std::vector<int> labels(d.labels.begin(), d.labels.end());
    if (!o.reliability_plot.empty()) eval::plot_reliability_diagram(o.reliability_plot, p, labels);
    if (!o.roc_plot.empty()) eval::plot_roc_curve(o.roc_plot, p, labels);
  }
  r.report = {{"command", "evaluate"},
              {"model_file", o.model},
              {"data", r.data.to_json()},
              {"target_column", mf.info.preprocessing.is_null()
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json(data::Preprocessor::from_json(mf.info.preprocessing).target())},
              {"part", r.part},
              {"notes", r.notes},
              {"evaluation", r.evaluation}};
  write_report(o.report, r.report);
  return r;
}

}  // namespace bp::pipeline
