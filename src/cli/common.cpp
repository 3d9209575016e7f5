#include "common.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/problems.hpp"
#include "backprop/pipeline/report.hpp"
#include "progress.hpp"

namespace bp::cli {

void add_data_options(CLI::App* cmd, data::DataSpec& d) {
  cmd->add_option("--data", d.source, "Data: fashion-mnist[:DIR] or a CSV file")->capture_default_str();
  cmd->add_option("--target", d.target, "CSV: the target column (default: the last column)");
  cmd->add_option("--ignore", d.ignore, "CSV: columns that are not features (e.g. an Id)")->delimiter(',');
  cmd->add_option("--positive", d.positive, "Target values that form the positive class (binary view)")->delimiter(',');
  // A named problem of the study sets the target (unless --target is given: options are
  // stored in the order they are added, so --target is already in place) and the positives.
  cmd->add_option_function<std::string>(
         "--view", [&d](const std::string& name) { pipeline::apply_problem(d, name); },
         "A named binary view: LETTER.P1 (O vs rest), LETTER.P2 (A-M vs N-Z)")
      ->check(CLI::Validator(
          [](std::string& name) -> std::string {
            try {
              pipeline::problem_by_name(name);
            } catch (const std::invalid_argument& e) {
              return e.what();
            }
            return "";
          },
          "VIEW"));
  cmd->add_option("--task", d.task, "regression, binary or multiclass (default: inferred from the target)")
      ->check(CLI::IsMember({"regression", "binary", "multiclass"}));
  cmd->add_option("--test-fraction", d.test_fraction, "CSV: fraction held out as the test set")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--split-seed", d.split_seed, "CSV: seed of the train/test split")
      ->check(seed_number())
      ->capture_default_str();
  cmd->add_flag("!--no-standardize", d.standardize, "CSV: keep numeric features unscaled");
  cmd->add_option_function<std::string>(
      "--na-values",
      [&d](const std::string& list) {
        d.csv.na_values.clear();
        std::stringstream ss(list);
        std::string item;
        while (std::getline(ss, item, ',')) {
          // Markers are compared with trimmed fields: "?, NA" means ? and NA.
          const size_t first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
          if (first != std::string::npos) d.csv.na_values.push_back(item.substr(first, last - first + 1));
        }
      },
      "CSV: comma-separated texts that mark a missing value besides the empty field (default: NA,?)");
  cmd->add_flag_callback(
      "--skip-initial-space", [&d] { d.csv.initial_space = data::CsvOptions::InitialSpace::Skip; },
      "CSV: drop spaces after each separator (default: detected, as in UCI's \", \" files)");
  cmd->add_flag("--drop-missing-target", d.drop_missing_target, "CSV: drop rows without a target value (and say how many)");
}

CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          size_t pos = 0;
          double v = std::stod(s, &pos);
          if (pos != s.size() || !std::isfinite(v) || v < 0) return "must be a number >= 0, got '" + s + "'";
        } catch (...) {
          return "must be a number >= 0, got '" + s + "'";
        }
        return "";
      },
      "NUMBER>=0");
}

CLI::Validator seed_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        // Digits only: a "-1" would wrap around to 18446744073709551615 in an unsigned seed.
        const bool digits = !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || (s.size() == 20 && s > "18446744073709551615"))
          return "must be an integer from 0 to 18446744073709551615, got '" + s + "'";
        return "";
      },
      "SEED");
}

CLI::Validator file_name() {
  return CLI::Validator([](std::string& s) -> std::string { return s.empty() ? "the file name is empty" : ""; },
                        "FILE");
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
  o.cmd = cmd;
  cmd->add_option("--model", s.model.name, "Model: a network (" + [] {
    std::string n;
    for (auto& m : nn::model_names()) n += (n.empty() ? "" : ", ") + m;
    return n;
  }() + ") or a learner (" + [] {
    std::string n;
    for (auto& m : learners::learner_kinds()) n += (n.empty() ? "" : ", ") + m;
    return n;
  }() + ")")->capture_default_str();
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
      ->check(non_negative_number())
      ->capture_default_str();
  cmd->add_option("--schedule", s.fit.schedule, "Learning-rate schedule: constant, cosine, step:SIZE:GAMMA")
      ->capture_default_str();
  cmd->add_option("--epochs", s.fit.epochs,
                  "Passes over the training data (default: from the data's size: at least 3000 steps and 10 epochs, "
                  "at most 3000 epochs; when that adds epochs, early stopping on 15 % of the training rows)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--batch-size", s.fit.batch_size, "Examples per step: 1 stochastic, N mini-batch, 0 full batch")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--seed", s.model.seed, "Seed of the initial weights and the shuffling")
      ->check(seed_number())
      ->capture_default_str();
  cmd->add_option("--validation", s.validation_fraction, "Fraction of the training data kept for validation")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--patience", s.fit.patience, "Early stopping: epochs without validation improvement (0: off)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->add_flag("--quiet,-q", o.quiet, "Print only the results (test scores, the model file) and errors: no progress");
  const std::string g = "Tree learners (--model tree, bagged-trees, random-forest, boosted-trees, boosted-stumps, xgboost)";
  cmd->add_option("--trees", o.trees, "Trees of an ensemble (bagged-trees, random-forest, xgboost)")
      ->check(CLI::Range(1, 1 << 20))->group(g);
  cmd->add_option("--max-depth", o.max_depth, "Deepest split level (0: unlimited; xgboost: its max_depth)")
      ->check(CLI::Range(0, 100000))->group(g);
  cmd->add_option("--max-features", o.max_features, "Features tried per split (0: all; random-forest: sqrt of them)")
      ->check(CLI::Range(0, 1 << 30))->group(g);
  cmd->add_option("--min-leaf", o.min_leaf, "Fewest training rows in a leaf")->check(CLI::Range(1, 1 << 30))->group(g);
  cmd->add_option("--criterion", o.criterion, "Split criterion: gini, entropy, gain-ratio")
      ->check(CLI::IsMember({"gini", "entropy", "gain-ratio"}))->group(g);
  cmd->add_option("--steps", o.steps, "Boosting steps (boosted-trees, boosted-stumps)")->check(CLI::Range(1, 1 << 20))->group(g);
  cmd->add_option("--preset", o.preset, "Single tree style: cart, c4.5, id3 (tree)")
      ->check(CLI::IsMember({"cart", "c4.5", "id3"}))->group(g);
  cmd->add_flag("--laplace", o.laplace, "Leaf probabilities with the Laplace correction")->group(g);
  const std::string h = "SVM, k-NN, naive Bayes (--model svm, knn, naive-bayes; docs/learners.md)";
  cmd->add_option("--kernel", o.kernel, "SVM kernel: linear, poly, rbf (default rbf)")
      ->check(CLI::IsMember({"linear", "poly", "rbf"}))->group(h);
  cmd->add_option("--C", o.C, "SVM cost of a margin violation (default 1)")->check(positive_number())->group(h);
  cmd->add_option("--gamma", o.gamma, "SVM γ of the poly and rbf kernels (default 0: 1/features)")
      ->check(non_negative_number())->group(h);
  cmd->add_option("--degree", o.degree, "SVM poly kernel degree (default 3)")->check(CLI::Range(1, 10))->group(h);
  cmd->add_option("--coef0", o.coef0, "SVM poly kernel constant (default 0)")->group(h);
  cmd->add_option("--k", o.k, "k-NN: neighbours that vote (default 5)")->check(CLI::Range(1, 1 << 30))->group(h);
  cmd->add_option("--weights", o.weights, "k-NN votes: uniform, distance (1/distance) (default uniform)")
      ->check(CLI::IsMember({"uniform", "distance"}))->group(h);
  cmd->add_option("--metric", o.metric, "k-NN distance: euclidean, gain-ratio (features weighted by gain ratio)")
      ->check(CLI::IsMember({"euclidean", "gain-ratio"}))->group(h);
  cmd->add_option("--numeric", o.numeric, "Naive Bayes numeric features: gaussian, kernel, discretize (default gaussian)")
      ->check(CLI::IsMember({"gaussian", "kernel", "discretize"}))->group(h);
  cmd->add_option("--alpha", o.alpha, "Naive Bayes count smoothing (default 1)")->check(positive_number())->group(h);
}

namespace {
// Sends the learner options given on the command line to the learner under its keys, and
// refuses the options the chosen model does not take, by name.
void finish_learner_options(TrainOptions& o) {
  const std::string& kind = o.spec.model.name;
  const bool learner = pipeline::is_learner_kind(kind);
  auto given = [&](const char* name) { return o.cmd && o.cmd->count(name) > 0; };
  const std::pair<const char*, const char*> learner_opts[] = {
      {"--trees", "trees"},       {"--max-depth", "max_depth"}, {"--max-features", "max_features"},
      {"--min-leaf", "min_samples_leaf"}, {"--criterion", "criterion"}, {"--steps", "steps"},
      {"--preset", "preset"},     {"--laplace", "laplace"},     {"--kernel", "kernel"},
      {"--C", "C"},               {"--gamma", "gamma"},         {"--degree", "degree"},
      {"--coef0", "coef0"},       {"--k", "k"},                 {"--weights", "weights"},
      {"--metric", "metric"},     {"--numeric", "numeric"},     {"--alpha", "alpha"}};
  if (!learner) {
    for (const auto& [flag, key] : learner_opts)
      if (given(flag))
        throw pipeline::UsageError(std::string(flag) + " is an option of the learners, not of the network '" + kind +
                                   "' (--model tree, random-forest, svm, knn, ...)");
    return;
  }
  for (const char* flag : {"--hidden", "--activation", "--init", "--loss", "--optimizer", "--lr", "--momentum",
                           "--weight-decay", "--schedule", "--epochs", "--batch-size", "--validation", "--patience"})
    if (given(flag))
      throw pipeline::UsageError(std::string(flag) + " is an option of the networks; the learner '" + kind +
                                 "' does not take it");
  const nlohmann::json defaults = learners::default_options(kind);
  nlohmann::json& opts = o.spec.learner_options;
  opts = nlohmann::json::object();
  for (const auto& [flag, key] : learner_opts) {
    if (!given(flag)) continue;
    if (!defaults.contains(key))
      throw pipeline::UsageError(std::string(flag) + ": the " + kind + " learner does not take this option");
    const std::string k = key;
    if (k == "criterion") opts[k] = o.criterion;
    else if (k == "preset") opts[k] = o.preset;
    else if (k == "laplace") opts[k] = o.laplace;
    else if (k == "trees") opts[k] = o.trees;
    else if (k == "max_depth") opts[k] = o.max_depth;
    else if (k == "max_features") opts[k] = o.max_features;
    else if (k == "min_samples_leaf") opts[k] = o.min_leaf;
    else if (k == "steps") opts[k] = o.steps;
    else if (k == "kernel") opts[k] = o.kernel;
    else if (k == "weights") opts[k] = o.weights;
    else if (k == "metric") opts[k] = o.metric;
    else if (k == "numeric") opts[k] = o.numeric;
    else if (k == "degree") opts[k] = o.degree;
    else if (k == "k") opts[k] = o.k;
    else if (k == "C") opts[k] = o.C;
    else if (k == "gamma") opts[k] = o.gamma;
    else if (k == "coef0") opts[k] = o.coef0;
    else if (k == "alpha") opts[k] = o.alpha;
  }
}
}  // namespace

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
    if (pos != item.size() || v <= 0 || item.find_first_not_of("0123456789") != std::string::npos)
      throw pipeline::UsageError(what + ": '" + text + "' is not a comma-separated list of positive sizes");
    if (v > kMaxLayerSize)
      throw pipeline::UsageError(what + ": a layer of " + item + " units is over the limit of " +
                                 std::to_string(kMaxLayerSize) + " units per layer");
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
      throw pipeline::UsageError(what + ": '" + text + "' is not a comma-separated list of positive numbers");
    out.push_back(v);
  }
  if (out.empty()) throw pipeline::UsageError(what + ": give at least one value");
  return out;
}

void finish_train_options(TrainOptions& o) {
  finish_learner_options(o);
  o.spec.model.hidden = parse_sizes(o.hidden, "--hidden");
  // The names below are checked by their own modules, which throw std::invalid_argument: here
  // they are option values, so a bad one is a usage error.
  try {
    o.spec.model.activations = {nn::act_from_string(o.activation)};
    if (o.init != "auto") o.spec.model.init = nn::init_from_string(o.init);
    o.spec.fit.loss = train::loss_from_string(o.loss);
    (void)optim::make_schedule(o.spec.fit.schedule, o.spec.fit.epochs);  // validates the spec now, not mid-training
  } catch (const std::invalid_argument& e) {
    throw pipeline::UsageError(e.what());
  }
  o.spec.fit.seed = o.spec.model.seed;
  backend::set_num_threads(o.threads);
}

pipeline::Observer progress_observer(Progress& progress, bool quiet) {
  pipeline::Observer ob;
  if (!quiet)
    ob.data_ready = [](const std::string& description) {
      std::printf("%s\n", description.c_str());
      std::fflush(stdout);
    };
  ob.batch = [&progress](int64_t done, int64_t total, double loss) { progress.batch(done, total, loss); };
  ob.epoch = [&progress](const train::EpochStats& s) { progress.epoch(s); };
  ob.line = [&progress](const std::string& line) { progress.line(line); };
  return ob;
}

void print_train_result(const pipeline::TrainRunResult& r, bool quiet) {
  if (!quiet) std::printf("%s\n", pipeline::describe_training(r.report).c_str());
  if (r.report.contains("test")) {
    const nlohmann::json& ev = r.report.at("test");
    std::printf("test (%lld examples):\n%s", ev.at("examples").get<long long>(), pipeline::format_evaluation(ev).c_str());
  }
  std::printf("model saved to %s\n", r.report.at("model_file").get<std::string>().c_str());
}

}  // namespace bp::cli
