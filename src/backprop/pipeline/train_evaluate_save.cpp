#include "backprop/pipeline/train_evaluate_save.hpp"

#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/report.hpp"

namespace bp::pipeline {

TrainRunResult train_evaluate_save(TrainSpec spec, const data::Prepared& d, const data::DataSpec& data,
                                   const std::string& output, const std::string& report_path,
                                   const nlohmann::json& extra, const Observer& observer) {
  // Several processes: only rank 0 checks and writes the files (the others may not even see
  // its file system) and scores the test part.
  const bool writer = spec.rank() == 0;
  if (writer) check_outputs(data_input(data), {{"--output", output}, {"--report", report_path}});
  if (output.empty()) throw UsageError("--output: give the model file's name");
  spec.fit.on_batch = observer.batch;
  spec.fit.on_epoch = nullptr;
  if (observer.epoch)
    spec.fit.on_epoch = [&](const train::EpochStats& s) {
      observer.epoch(s);
      return true;
    };
  Trained t = train_model(spec, d.train, d.input_shape, &d.preprocessor.target_scaling());
  TrainRunResult r;
  r.data_description = d.description;
  r.report = training_report(data, d, spec, t);
  r.report.update(extra);
  if (spec.processes() > 1 || spec.fit.sync || spec.async_session)
    r.report["training"]["distributed"] = {{"processes", spec.processes()},
                                           {"mode", spec.async_session ? "async" : "synchronous"}};
  if (spec.async_session)
    r.report["training"]["distributed"].update({{"max_staleness_bound", spec.async.max_staleness},
                                                {"gradients_applied", t.async_stats.applied},
                                                {"gradients_dropped", t.async_stats.dropped},
                                                {"max_staleness", t.async_stats.max_staleness},
                                                {"mean_staleness", t.async_stats.mean_staleness}});
  if (!writer) return r;
  if (d.test.size() > 0) r.report["test"] = evaluate(t, t.task, t.class_names, d.test, spec.fit.loss);
  io::ModelInfo info;
  info.task = t.task;
  info.class_names = t.class_names;
  info.preprocessing = d.preprocessor.to_json();
  // The data as prepared (fingerprint, split, resolved target), so that evaluate can tell
  // the training file from another and cut the same test part.
  info.extra = {{"data", d.record.to_json()}, {"training", r.report.at("training")}};
  if (t.learner)
    io::save_model(output, *t.learner, info);
  else
    io::save_model(output, *t.model, info);
  r.report["model_file"] = output;
  write_report(report_path, r.report);
  return r;
}

TrainRunResult train_evaluate_save(const TrainRunOptions& o, const Observer& observer) {
  if (o.spec.rank() == 0)  // before any work
    check_outputs(data_input(o.data), {{"--output", o.output}, {"--report", o.report}});
  if (o.output.empty()) throw UsageError("--output: give the model file's name");
  const data::Prepared d = data::prepare(o.data);
  if (observer.data_ready) observer.data_ready(d.description);
  return train_evaluate_save(o.spec, d, o.data, o.output, o.report, {{"command", "train"}}, observer);
}

}  // namespace bp::pipeline
