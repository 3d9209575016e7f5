// Options shared by several subcommands, and the printing they share. The work itself is the
// pipeline's (src/backprop/pipeline/): each subcommand parses its options into a pipeline
// options struct, calls one pipeline function and prints what it returns.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backprop/data/source.hpp"
#include "backprop/pipeline/observer.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::cli {

// --data, --target, --ignore, --positive, --view, --task, --test-fraction, --split-seed, --no-standardize,
// --na-values, --skip-initial-space, --drop-missing-target
void add_data_options(CLI::App* cmd, data::DataSpec& d);

// Model, optimizer and fit options of `train` and `tune`.
struct TrainOptions {
  // Defaults: what trains the default data set well (Fashion-MNIST, MLP 784-256-128-10:
  // ~89.5 % test accuracy in 10 epochs of Adam with a cosine schedule) and small tables too:
  // epochs 0 = chosen from the data's size (pipeline::training_plan).
  TrainOptions() {
    spec.fit.epochs = pipeline::kAutoEpochs;
    spec.fit.batch_size = 128;
    spec.fit.schedule = "cosine";
  }
  pipeline::TrainSpec spec;
  std::string hidden = "256,128";
  std::string activation = "relu";
  std::string init = "auto";
  std::string loss = "auto";
  int threads = 0;
  bool quiet = false;
  // The tree learners' options (--model tree, random-forest, ...: docs/trees.md), passed to the
  // learner under its own keys when given.
  int trees = 0, max_depth = 0, max_features = 0, min_leaf = 0, steps = 0;
  std::string criterion, preset;
  bool laplace = false;
  // svm, knn, naive-bayes (docs/learners.md), under the same rule.
  std::string kernel, weights, metric, numeric;
  int degree = 0, k = 0;
  double C = 0, gamma = 0, coef0 = 0, alpha = 0;
  CLI::App* cmd = nullptr;  // set by add_train_options: which options were given
};
void add_train_options(CLI::App* cmd, TrainOptions& o);
// Turns the strings into the spec (throws pipeline::UsageError with the option's name). With a
// learner as --model, a network option (--hidden, --lr, ...) or a learner option the kind
// does not take is a UsageError naming it; with a network, so is any learner option.
void finish_train_options(TrainOptions& o);

// "256,128" -> {256, 128}; "" -> {} ; throws pipeline::UsageError naming `what` on anything else.
std::vector<int64_t> parse_sizes(const std::string& text, const std::string& what);
// "0.1,0.01" -> {0.1, 0.01}
std::vector<double> parse_numbers(const std::string& text, const std::string& what);

class Progress;
// The observer that shows a workflow's progress: the data's description on stdout (before the
// work starts), batches and epochs through `progress` on stderr.
pipeline::Observer progress_observer(Progress& progress, bool quiet = false);

// What train and tune print once the final model is saved: the training summary, the test
// scores, where the model went.
// With `quiet` (-q), the training summary line is left out: the test scores and the model file
// are the results.
void print_train_result(const pipeline::TrainRunResult& r, bool quiet = false);

// A finite, positive number given on the command line.
CLI::Validator positive_number();
// A finite number >= 0 (CLI::NonNegativeNumber prints DBL_MAX's 300 digits as its bound).
CLI::Validator non_negative_number();
// A seed: decimal digits only, within uint64_t (CLI11 would wrap "-1" around).
CLI::Validator seed_number();
// A non-empty file name (for outputs: "" would name a hidden ".tmp.*" file in the current directory).
CLI::Validator file_name();

// The widest hidden layer --hidden accepts (a bigger one is refused by name; the memory
// estimate, pipeline/memory.hpp, refuses what does not fit the machine).
inline constexpr long long kMaxLayerSize = 1'000'000;

}  // namespace bp::cli
