#include "common.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "backprop/backend/backend.hpp"
#include "backprop/app/report.hpp"
#include "backprop/io/model_file.hpp"
#include "progress.hpp"

namespace bp::cli {

void add_data_options(CLI::App* cmd, data::DataSpec& d, std::string& view) {
  cmd->add_option("--data", d.source, "Data: fashion-mnist[:DIR] or a CSV file")->capture_default_str();
  cmd->add_option("--target", d.target, "CSV: the target column (default: the last column)");
  cmd->add_option("--ignore", d.ignore, "CSV: columns that are not features (e.g. an Id)")->delimiter(',');
  cmd->add_option("--positive", d.positive, "Target values that form the positive class (binary view)")->delimiter(',');
  cmd->add_option("--view", view, "A named binary view: LETTER.P1 (O vs rest), LETTER.P2 (A-M vs N-Z)");
  cmd->add_option("--task", d.task, "regression, binary or multiclass (default: inferred from the target)")
      ->check(CLI::IsMember({"regression", "binary", "multiclass"}));
  cmd->add_option("--test-fraction", d.test_fraction, "CSV: fraction held out as the test set")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--split-seed", d.split_seed, "CSV: seed of the train/test split")->capture_default_str();
  cmd->add_flag("!--no-standardize", d.standardize, "CSV: keep numeric features unscaled");
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          size_t pos = 0;
          double v = std::stod(s, &pos);
          if (pos != s.size() || !std::isfinite(v) || v <= 0) return "must be a positive number, got '" + s + "'";
        } catch (...) {
          return "must be a positive number, got '" + s + "'";
        }
        return "";
      },
      "POSITIVE");
}

void add_train_options(CLI::App* cmd, TrainOptions& o) {
  auto& s = o.spec;
  cmd->add_option("--model", s.model.name, "Architecture: " + [] {
    std::string n;
    for (auto& m : nn::model_names()) n += (n.empty() ? "" : ", ") + m;
    return n;
  }())->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "MLP hidden layer sizes, comma-separated (\"\" for none)")->capture_default_str();
  cmd->add_option("--activation", o.activation, "Hidden activation: relu, tanh, sigmoid, leaky_relu, softplus, step")
      ->capture_default_str();
  cmd->add_option("--init", o.init, "MLP weight initialisation: auto (He for ReLU-family units, else Glorot), glorot, he")
      ->capture_default_str();
  cmd->add_option("--loss", o.loss, "auto, mse, sse, bce, cross_entropy")->capture_default_str();
  cmd->add_option("--optimizer", s.optimizer.name, "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw")
      ->capture_default_str();
  cmd->add_option("--lr", s.optimizer.lr, "Learning rate")->check(positive_number())->capture_default_str();
  cmd->add_option("--momentum", s.optimizer.momentum, "Momentum (momentum, nesterov)")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str();
  cmd->add_option("--weight-decay", s.optimizer.weight_decay, "L2 weight decay (decoupled for adamw)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--schedule", s.fit.schedule, "Learning-rate schedule: constant, cosine, step:SIZE:GAMMA")
      ->capture_default_str();
  cmd->add_option("--epochs", s.fit.epochs, "Passes over the training data")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--batch-size", s.fit.batch_size, "Examples per step: 1 stochastic, N mini-batch, 0 full batch")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--seed", s.model.seed, "Seed of the initial weights and the shuffling")->capture_default_str();
  cmd->add_option("--validation", s.validation_fraction, "Fraction of the training data kept for validation")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--patience", s.fit.patience, "Early stopping: epochs without validation improvement (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->add_flag("--quiet,-q", o.quiet, "Print only the results");
}

std::vector<int64_t> parse_sizes(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  if (text.empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos != item.size() || v <= 0 || v > 1'000'000)
      throw std::invalid_argument(what + ": '" + text + "' is not a comma-separated list of positive sizes");
    out.push_back(v);
  }
  return out;
}

std::vector<double> parse_numbers(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t pos = 0;
    double v = 0;
    try {
      v = std::stod(item, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos != item.size() || !std::isfinite(v) || v <= 0)
      throw std::invalid_argument(what + ": '" + text + "' is not a comma-separated list of positive numbers");
    out.push_back(v);
  }
  if (out.empty()) throw std::invalid_argument(what + ": give at least one value");
  return out;
}

void finish_train_options(TrainOptions& o) {
  o.spec.model.hidden = parse_sizes(o.hidden, "--hidden");
  o.spec.model.activations = {nn::act_from_string(o.activation)};
  if (o.init != "auto") o.spec.model.init = nn::init_from_string(o.init);
  o.spec.fit.loss = train::loss_from_string(o.loss);
  o.spec.fit.seed = o.spec.model.seed;
  (void)optim::make_schedule(o.spec.fit.schedule, o.spec.fit.epochs);  // validates the spec now, not mid-training
  backend::set_num_threads(o.threads);
}

void train_evaluate_save(app::TrainSpec spec, const data::Prepared& d, const data::DataSpec& data, bool quiet,
                         const std::string& output, const std::string& report_path, const nlohmann::json& extra) {
  Progress progress(spec.fit.epochs, !quiet);
  spec.fit.on_batch = [&](int64_t done, int64_t total, double loss) { progress.batch(done, total, loss); };
  spec.fit.on_epoch = [&](const train::EpochStats& s) {
    progress.epoch(s);
    return true;
  };
  app::Trained t = app::train_model(spec, d.train, d.input_shape);
  nlohmann::json report = app::training_report(data, d, spec, t);
  report.update(extra);
  std::printf("%s\n", app::describe_training(report).c_str());
  if (d.test.size() > 0) {
    nlohmann::json ev = app::evaluate(*t.model, t.task, t.class_names, d.test, spec.fit.loss);
    report["test"] = ev;
    std::printf("test (%lld examples):\n%s", static_cast<long long>(d.test.size()), app::format_evaluation(ev).c_str());
  }
  io::ModelInfo info;
  info.task = t.task;
  info.class_names = t.class_names;
  info.preprocessing = d.preprocessor.to_json();
  info.extra = {{"data", data.to_json()}, {"training", report.at("training")}};
  io::save_model(output, *t.model, info);
  report["model_file"] = output;
  std::printf("model saved to %s\n", output.c_str());
  write_report(report_path, report);
}

void write_report(const std::string& path, const nlohmann::json& report) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp);
    if (!f) throw std::runtime_error("cannot write the report " + path);
    f << report.dump(2) << "\n";
    if (!f.flush()) {
      std::remove(tmp.c_str());
      throw std::runtime_error("cannot write the report " + path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write the report " + path);
  }
}

}  // namespace bp::cli
