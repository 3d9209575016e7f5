#include "backprop/pipeline/train_evaluate_save.hpp"

#include "backprop/backend/backend.hpp"
#include "backprop/data/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/report.hpp"

namespace bp::pipeline {

namespace {

// The first place where two JSON values differ, as "key.key: a vs b" (for messages).
std::string first_difference(const nlohmann::json& was, const nlohmann::json& now) {
  const nlohmann::json patch = nlohmann::json::diff(was, now);
  if (patch.empty()) return "";
  const std::string ptr = patch[0].at("path").get<std::string>();
  std::string name = ptr.substr(1);
  for (auto& ch : name)
    if (ch == '/') ch = '.';
  const nlohmann::json::json_pointer p(ptr);
  return name + ": " + (was.contains(p) ? was.at(p).dump() : "none") + " in the checkpoint, " +
         (now.contains(p) ? now.at(p).dump() : "none") + " now";
}

// The data spec as the checkpoint compares it: the source may have moved (its fingerprint is
// checked instead).
nlohmann::json comparable(const data::DataSpec& d) {
  nlohmann::json j = d.to_json();
  j.erase("source");
  return j;
}

// A resumed run must be the checkpoint's: the same options and the same data, prepared the same.
void check_resume(const Checkpoint& c, const TrainSpec& spec, const data::DataSpec& data, const data::Prepared& d) {
  const std::string name = c.path.string();
  const nlohmann::json& run = c.run;
  if (!run.is_object() || !run.contains("spec") || !run.contains("data_spec") || !run.contains("data") ||
      !run.contains("preprocessing"))
    throw io::ModelFileError(c.path, "the checkpoint does not describe its run (no spec, data or preprocessing)");
  if (const std::string diff = first_difference(run.at("spec"), spec_json(spec)); !diff.empty())
    throw UsageError(name + ": a resumed run keeps the checkpoint's options; these differ (" + diff + ")");
  if (const std::string diff = first_difference(run.at("data_spec"), comparable(data)); !diff.empty())
    throw UsageError(name + ": a resumed run keeps the checkpoint's data options; these differ (" + diff + ")");
  data::DataRecord was;
  try {
    was = data::DataRecord::from_json(run.at("data"));
  } catch (const std::invalid_argument& e) {
    throw io::ModelFileError(c.path, std::string("the checkpoint's data description is invalid: ") + e.what());
  }
  if (was.fingerprint.known() && was.fingerprint != d.record.fingerprint)
    throw data::DataError(data.source + " is not the file the checkpoint " + name + " was trained on (" +
                          std::to_string(d.record.fingerprint.bytes) + " bytes, CRC-32 " + d.record.fingerprint.crc32_hex() +
                          "; the checkpoint's: " + std::to_string(was.fingerprint.bytes) + " bytes, CRC-32 " +
                          was.fingerprint.crc32_hex() + "): resume on the same data");
  if (was.rows != d.record.rows || was.train_rows != d.record.train_rows || was.test_rows != d.record.test_rows ||
      run.at("preprocessing") != d.preprocessor.to_json())
    throw data::DataError(data.source + ": the data prepared now differ from the checkpoint " + name +
                          "'s (rows, split or preprocessing): resume on the same data");
}

}  // namespace

TrainRunResult train_evaluate_save(TrainSpec spec, const data::Prepared& d, const data::DataSpec& data,
                                   const std::string& output, const std::string& report_path,
                                   const nlohmann::json& extra, const Observer& observer,
                                   const CheckpointOptions& ck) {
  // Several processes: only rank 0 checks and writes the files (the others may not even see
  // its file system) and scores the test part.
  const bool writer = spec.rank() == 0;
  if (writer) check_outputs(data_input(data), {{"--output", output}, {"--report", report_path}, {"--checkpoint", ck.path}});
  if (output.empty()) throw UsageError("--output: give the model file's name");
  spec.fit.on_batch = observer.batch;
  spec.fit.on_epoch = nullptr;
  if (observer.epoch)
    spec.fit.on_epoch = [&](const train::EpochStats& s) {
      observer.epoch(s);
      return true;
    };
  TrainRunResult r;
  Checkpointing cp;
  const nlohmann::json preprocessing = d.preprocessor.to_json();
  nlohmann::json run;
  if (ck.enabled()) {
    if (ck.resume) check_resume(*ck.resume, spec, data, d);
    run = {{"options", ck.caller},
           {"spec", spec_json(spec)},
           {"data_spec", comparable(data)},
           {"data", d.record.to_json()},
           {"preprocessing", preprocessing},
           {"threads", backend::num_threads()},
           {"output", output},
           {"report", report_path}};
    cp.every = ck.every;
    cp.should_stop = ck.should_stop;
    cp.resume = ck.resume.get();
    // Several processes hold the same weights and optimizer state: rank 0's file is the run's.
    run["processes"] = spec.processes();
    if (!ck.path.empty() && writer)
      cp.save = [&](nn::Module& m, optim::Optimizer& opt, const train::TrainState& st, const TrainingPlan& plan) {
        save_checkpoint(ck.path, {m, opt, st, plan, d.train.task, d.train.class_names, preprocessing, run});
      };
    r.resumed_finished = ck.resume && ck.resume->state.finished;
  }
  Trained t = train_model(spec, d.train, d.input_shape, &d.preprocessor.target_scaling(), ck.enabled() ? &cp : nullptr);
  r.state = t.state;
  if (t.interrupted) {
    r.interrupted = true;
    r.data_description = d.description;
    return r;
  }
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
    check_outputs(data_input(o.data), {{"--output", o.output}, {"--report", o.report},
                                       {"--checkpoint", o.checkpoint.path}});
  if (o.output.empty()) throw UsageError("--output: give the model file's name");
  const data::Prepared d = data::prepare(o.data);
  if (observer.data_ready) observer.data_ready(d.description);
  return train_evaluate_save(o.spec, d, o.data, o.output, o.report, {{"command", "train"}}, observer, o.checkpoint);
}

}  // namespace bp::pipeline
