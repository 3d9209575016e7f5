// Options shared by several subcommands, and the machine-readable report.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backprop/app/source.hpp"
#include "backprop/app/train.hpp"

namespace bp::cli {

// --data, --target, --ignore, --positive, --view, --task, --test-fraction, --split-seed, --no-standardize
void add_data_options(CLI::App* cmd, app::DataSpec& d);

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

// Saves a trained model with its preprocessing, data description and training report.
void save_trained(const std::string& path, const app::Trained& t, const app::Prepared& d, const app::DataSpec& spec,
                  const nlohmann::json& report);

// Writes `report` to `path` atomically (if path is not empty).
void write_report(const std::string& path, const nlohmann::json& report);

// A finite, positive number given on the command line.
CLI::Validator positive_number();

}  // namespace bp::cli
