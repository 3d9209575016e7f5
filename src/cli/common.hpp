// Options shared by several subcommands, and the machine-readable report.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backprop/data/data.hpp"
#include "backprop/app/train.hpp"

namespace bp::cli {

// --data, --target, --ignore, --positive, --view, --task, --test-fraction, --split-seed, --no-standardize
// The data options; --view NAME goes to `view`, for pipeline::apply_problem before preparation.
void add_data_options(CLI::App* cmd, data::DataSpec& d, std::string& view);

// Model, optimizer and fit options of `train` and `tune`.
struct TrainOptions {
  // Defaults: what trains the default data set well (Fashion-MNIST, MLP 784-256-128-10:
  // ~89.5 % test accuracy in 10 epochs of Adam with a cosine schedule).
  TrainOptions() {
    spec.fit.epochs = 10;
    spec.fit.batch_size = 128;
    spec.fit.schedule = "cosine";
  }
  app::TrainSpec spec;
  std::string hidden = "256,128";
  std::string activation = "relu";
  std::string init = "auto";
  std::string loss = "auto";
  int threads = 0;
  bool quiet = false;
};
void add_train_options(CLI::App* cmd, TrainOptions& o);
// Turns the strings into the spec (throws std::invalid_argument with the option's name).
void finish_train_options(TrainOptions& o);

// "256,128" -> {256, 128}; "" -> {} ; throws naming `what` on anything else.
std::vector<int64_t> parse_sizes(const std::string& text, const std::string& what);
// "0.1,0.01" -> {0.1, 0.01}
std::vector<double> parse_numbers(const std::string& text, const std::string& what);

// Trains the spec's model on d.train with a progress display, prints the training summary and
// the test scores, saves the model (with its preprocessing and data description) to `output`
// and writes the report (training, test, plus the entries of `extra`) to `report_path`.
void train_evaluate_save(app::TrainSpec spec, const data::Prepared& d, const data::DataSpec& data, bool quiet,
                         const std::string& output, const std::string& report_path, const nlohmann::json& extra);

// Writes `report` to `path` atomically (if path is not empty).
void write_report(const std::string& path, const nlohmann::json& report);

// A finite, positive number given on the command line.
CLI::Validator positive_number();

}  // namespace bp::cli
