#include "backprop/pipeline/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "backprop/eval/metrics.hpp"
#include "backprop/eval/multiclass.hpp"
#include "backprop/pipeline/memory.hpp"
#include "backprop/util/atomic_file.hpp"

namespace bp::pipeline {

namespace {
std::string grouped(double v) {  // 28100 -> "28,100"
  const std::string digits = std::to_string(std::llabs(std::llround(v)));
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

std::vector<size_t> thin_history(size_t n, size_t max_entries, long best) {
  std::vector<size_t> keep;
  if (n <= max_entries) {
    for (size_t i = 0; i < n; ++i) keep.push_back(i);
    return keep;
  }
  // max_entries - 1 positions evenly spaced from 0 to n - 1 (rounded), then the best epoch.
  const size_t slots = std::max<size_t>(max_entries, 3) - 1;
  for (size_t k = 0; k < slots; ++k) keep.push_back((k * (n - 1) + (slots - 1) / 2) / (slots - 1));
  if (best >= 0 && static_cast<size_t>(best) < n) keep.push_back(static_cast<size_t>(best));
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  return keep;
}

nlohmann::json training_report(const data::DataSpec& data, const data::Prepared& prepared, const TrainSpec& spec, const Trained& t) {
  nlohmann::json epochs = nlohmann::json::array();
  double samples_per_s = 0;
  for (const auto& e : t.history.history) samples_per_s += e.samples_per_second;
  for (size_t i : thin_history(t.history.history.size(), kMaxHistory, t.history.best_epoch - 1)) {
    const auto& e = t.history.history[i];
    epochs.push_back({{"epoch", e.epoch},
                      {"lr", e.lr},
                      {"loss", number_or_null(e.train.loss)},
                      {"accuracy", number_or_null(e.train.accuracy)},
                      {"val_loss", number_or_null(e.validation.loss)},
                      {"val_accuracy", number_or_null(e.validation.accuracy)},
                      {"seconds", e.seconds},
                      {"samples_per_second", e.samples_per_second}});
  }
  if (!t.history.history.empty()) samples_per_s /= static_cast<double>(t.history.history.size());
  const nlohmann::json data_part = {{"spec", data.to_json()},
                                    {"target_column", prepared.record.target_column},
                                    {"description", prepared.description},
                                    {"train_rows", prepared.train.size()},
                                    {"test_rows", prepared.test.size()},
                                    {"dropped_rows", prepared.record.dropped_rows}};
  if (t.learner)  // a tree learner: its kind, options and summary; no optimizer, no epochs
    return {{"command", "train"},
            {"data", data_part},
            {"training", {{"model", t.learner->kind()},
                          {"learner", t.learner->kind()},
                          {"options", t.learner->options()},
                          {"summary", t.learner->summary()},
                          {"task", to_string(t.task)},
                          {"seconds", t.seconds}}}};
  return {{"command", "train"},
          {"data", data_part},
          {"training",
           {{"model", spec.model.name},
            {"architecture", t.model->config()},
            {"parameters", nn::parameter_count(*t.model)},
            {"task", to_string(t.task)},
            {"optimizer", {{"name", spec.optimizer.name}, {"lr", spec.optimizer.lr}, {"momentum", spec.optimizer.momentum},
                           {"weight_decay", spec.optimizer.weight_decay}}},
            {"loss", train::to_string(spec.fit.loss)},
            {"schedule", spec.fit.schedule},
            {"epochs", t.plan.epochs},
            {"epochs_rule", spec.fit.epochs == kAutoEpochs ? "auto" : "given"},
            {"epochs_run", t.history.history.size()},
            {"batch_size", spec.fit.batch_size},
            {"seed", spec.model.seed},
            {"validation_fraction", t.plan.validation_fraction},
            {"patience", t.plan.patience},
            {"target_scaling", t.task == Task::Regression
                                   ? nlohmann::json{{"center", t.target_scaling.center}, {"scale", t.target_scaling.scale}}
                                   : nlohmann::json(nullptr)},
            {"best_epoch", t.history.best_epoch},
            {"stopped_early", t.history.stopped_early},
            {"seconds", t.seconds},
            {"mean_samples_per_second", samples_per_s},
            {"peak_tensor_bytes", t.peak_tensor_bytes},
            {"history", epochs}}}};
}

std::string describe_training(const nlohmann::json& r) {
  const auto& t = r.at("training");
  char buf[512];
  if (t.contains("learner")) {  // "model random-forest (100 trees, ...): 0.4 s"
    std::string facts;
    for (const auto& [key, v] : t.at("summary").items())
      if (v.is_number() || v.is_string() || v.is_boolean())
      {
        char num[32];
        if (v.is_number_float()) std::snprintf(num, sizeof num, "%.4g", v.get<double>());
        facts += (facts.empty() ? "" : ", ") + key + " " +
                 (v.is_string() ? v.get<std::string>() : v.is_number_float() ? std::string(num) : v.dump());
      }
    std::snprintf(buf, sizeof buf, "model %s (%s): %.2f s", t.at("learner").get<std::string>().c_str(), facts.c_str(),
                  t.at("seconds").get<double>());
    return buf;
  }
  const std::string peak = t.contains("peak_tensor_bytes")  // older reports lack it
                               ? ", peak tensor memory " + format_bytes(t.at("peak_tensor_bytes").get<double>())
                               : "";
  std::snprintf(buf, sizeof buf, "model %s (%s parameters), %s lr %g, %zu epochs of batch %lld: %.1f s, %s samples/s%s%s",
                t.at("model").get<std::string>().c_str(), grouped(t.at("parameters").get<double>()).c_str(),
                t.at("optimizer").at("name").get<std::string>().c_str(), t.at("optimizer").at("lr").get<double>(),
                t.value("epochs_run", t.at("history").size()), t.at("batch_size").get<long long>(), t.at("seconds").get<double>(),
                grouped(t.at("mean_samples_per_second").get<double>()).c_str(), peak.c_str(),
                t.at("stopped_early").get<bool>() ? (", stopped early; kept epoch " + std::to_string(t.at("best_epoch").get<int>())).c_str() : "");
  return buf;
}

void write_report(const std::string& path, const nlohmann::json& report) {
  if (path.empty()) return;
  util::write_file_atomic(path, report.dump(2) + "\n");
}

std::vector<double> positive_scores(ModelRef model, const Tensor& x) {
  Tensor p = model.predict(Task::Binary, x);
  return std::vector<double>(p.data(), p.data() + p.numel());
}

std::vector<double> calibration_scores(ModelRef model, const Tensor& x) {
  const learners::Learner* l = model.learner();
  if (!l) return positive_scores(model, x);
  if (x.ndim() != 2) throw std::invalid_argument("a learner scores a matrix (rows, features), not " + shape_str(x.shape()));
  const Tensor s = l->decision_function(learners::MatrixView{x.data(), x.dim(0), x.dim(1)});
  return std::vector<double>(s.data(), s.data() + s.numel());
}

nlohmann::json evaluate(ModelRef model, Task task, const std::vector<std::string>& class_names, const data::Dataset& d,
                        train::Loss loss, const eval::Calibrator* calibrator) {
  if (d.size() == 0) throw std::invalid_argument("cannot evaluate on an empty data set");
  if (d.task != task)
    throw std::invalid_argument("the data is a " + to_string(d.task) + " task but the model was trained for " + to_string(task));
  if (calibrator && task != Task::Binary) throw std::invalid_argument("calibration applies to binary models only");
  nlohmann::json ev;
  ev["examples"] = d.size();
  ev["task"] = to_string(task);
  Tensor out;
  if (nn::Module* net = model.network()) {
    // One forward pass: the loss from the raw outputs, the metrics from their predictions.
    const Tensor raw = train::outputs(*net, d.x);
    {
      autograd::NoGradGuard ng;
      ev["loss"] = train::task_loss(task, loss, Var(raw), targets_of(d)).item();
    }
    out = train::activate(task, raw);
  } else {
    // A learner: probabilities; its loss is their log loss (before any calibration).
    out = model.predict(task, d.x);
    const std::vector<int> y(d.labels.begin(), d.labels.end());
    std::vector<double> pr;
    if (task == Task::Binary) {
      for (int64_t i = 0; i < out.numel(); ++i) pr.insert(pr.end(), {1.0 - out[i], static_cast<double>(out[i])});
      ev["loss"] = eval::log_loss(y, pr, 2);
    } else {
      pr.assign(out.data(), out.data() + out.numel());
      ev["loss"] = eval::log_loss(y, pr, static_cast<int>(out.dim(1)));
    }
  }
  if (task == Task::Regression) {
    std::vector<double> y(d.targets.data(), d.targets.data() + d.targets.numel());
    std::vector<double> p(out.data(), out.data() + out.numel());
    ev["rmse"] = eval::rmse(y, p);
    ev["mae"] = eval::mae(y, p);
    ev["r2"] = eval::r2_score(y, p);
    return ev;
  }
  const int k = task == Task::Binary ? 2 : static_cast<int>(out.dim(1));
  std::vector<int> labels(d.labels.begin(), d.labels.end());
  std::vector<double> probs;
  if (task == Task::Binary) {
    std::vector<double> pos(out.data(), out.data() + out.numel());
    if (calibrator) pos = calibrator->apply(model.learner() ? calibration_scores(model, d.x) : pos);
    for (double p : pos) {
      probs.push_back(1 - p);
      probs.push_back(p);
    }
    try {
      const eval::BinaryMetrics m = eval::binary_metrics(pos, labels);
      ev["metrics"] = {{"ACC", m.acc}, {"FSC", m.fsc}, {"LFT", m.lft}, {"ROC", m.roc},
                       {"APR", m.apr}, {"BEP", m.bep}, {"RMS", m.rms}, {"MXE", m.mxe}};
    } catch (const std::invalid_argument& e) {
      ev["metrics_note"] = e.what();  // e.g. one class only: ROC is undefined
    }
    if (calibrator) ev["calibration"] = calibrator->to_json();
  } else {
    probs.assign(out.data(), out.data() + out.numel());
  }
  std::vector<int> pred = eval::argmax_rows(probs, k);
  // A binary row is positive when P(positive) >= 0.5, the threshold of the eight metrics' ACC
  // (argmax would call an exact 0.5, which isotonic calibration gives in bulk, negative).
  if (task == Task::Binary)
    for (size_t i = 0; i < pred.size(); ++i) pred[i] = probs[2 * i + 1] >= 0.5 ? 1 : 0;
  ev["accuracy"] = eval::multiclass_accuracy(labels, pred);
  ev["log_loss"] = eval::log_loss(labels, probs, k);
  if (calibrator) {
    // The loss of what is reported: the calibrated probabilities' (binary cross-entropy, the
    // log loss); the network's own loss before calibration is kept beside it, named.
    ev["loss_uncalibrated"] = ev["loss"];
    ev["loss"] = ev["log_loss"];
    ev["loss_of"] = "calibrated probabilities (log loss)";
  }
  ev["macro_f1"] = eval::macro_f1(labels, pred, k);
  ev["class_names"] = class_names;
  ev["confusion_matrix"] = eval::confusion_matrix(labels, pred, k);
  if (task == Task::Multiclass) {
    try {
      ev["roc_auc_one_vs_rest"] = eval::one_vs_rest_auc(labels, probs, k);
    } catch (const std::invalid_argument& e) {
      ev["roc_auc_note"] = e.what();
    }
  }
  return ev;
}

std::string format_evaluation(const nlohmann::json& ev) {
  std::string s;
  char buf[256];
  auto add = [&](const char* name, const char* key, double scale = 1, const char* unit = "") {
    if (ev.contains(key) && ev.at(key).is_number()) {
      std::snprintf(buf, sizeof buf, "  %-10s %.4f%s\n", name, ev.at(key).get<double>() * scale, unit);
      s += buf;
    }
  };
  if (ev.contains("loss_uncalibrated")) {
    add("loss", "loss", 1, "  (calibrated: log loss)");
    add("raw loss", "loss_uncalibrated", 1, "  (before calibration)");
  } else {
    add("loss", "loss");
  }
  if (ev.contains("accuracy")) {
    std::snprintf(buf, sizeof buf, "  %-10s %.2f%%\n", "accuracy", 100 * ev.at("accuracy").get<double>());
    s += buf;
  }
  add("log loss", "log_loss");
  add("macro-F1", "macro_f1");
  add("RMSE", "rmse");
  add("MAE", "mae");
  add("R²", "r2");
  if (ev.contains("metrics")) {
    s += "  ";
    for (const char* m : {"ACC", "FSC", "LFT", "ROC", "APR", "BEP", "RMS", "MXE"}) {
      std::snprintf(buf, sizeof buf, "%s %.4f  ", m, ev.at("metrics").at(m).get<double>());
      s += buf;
    }
    s += "\n";
  }
  if (ev.contains("metrics_note")) s += "  (" + ev.at("metrics_note").get<std::string>() + ")\n";
  if (ev.contains("confusion_matrix")) {
    std::vector<std::vector<int64_t>> cm = ev.at("confusion_matrix");
    std::vector<std::string> names = ev.value("class_names", std::vector<std::string>());
    s += "  confusion matrix (rows: true class, columns: predicted)\n";
    std::string table = eval::format_confusion_matrix(cm, names);
    size_t start = 0;
    while (start < table.size()) {
      size_t end = table.find('\n', start);
      if (end == std::string::npos) end = table.size();
      s += "    " + table.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return s;
}

}  // namespace bp::pipeline
