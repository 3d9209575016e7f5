#include "backprop/data/source.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "backprop/data/idx.hpp"
#include "backprop/data/split.hpp"

namespace bp::data {

namespace {
const char* kFashion = "fashion-mnist";

std::string fashion_dir(const std::string& source) {
  const size_t colon = source.find(':');
  return colon == std::string::npos ? std::string(kFashionMnistDir) : source.substr(colon + 1);
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return rows;
}

// Rows of the held-out split, stratified by the target's codes when it is a class.
Split split_rows(const DataSpec& s, const TargetColumn& y, bool classification) {
  const auto n = static_cast<int64_t>(y.codes.size());
  if (s.test_fraction <= 0) {
    Split sp;
    sp.train = all_rows(n);
    return sp;
  }
  if (classification) return stratified_split(y.codes, 0.0, s.test_fraction, s.split_seed);
  return train_validation_test_split(n, 0.0, s.test_fraction, s.split_seed);
}

std::string describe(const std::string& name, const Dataset& train, const Dataset& test) {
  std::string d = name + ": " + std::to_string(train.size()) + " train, " + std::to_string(test.size()) + " test, " +
                  std::to_string(train.num_features()) + " features, ";
  if (train.is_classification())
    d += std::to_string(train.num_classes()) + " classes (" + task_name(train.task) + ")";
  else
    d += "regression";
  return d;
}

void check_part(std::string_view part) {
  if (part != "test" && part != "train" && part != "all")
    throw std::invalid_argument("unknown data part '" + std::string(part) + "' (choose test, train, all)");
}
}  // namespace

bool DataSpec::is_fashion_mnist() const { return source == kFashion || source.rfind(std::string(kFashion) + ":", 0) == 0; }

nlohmann::json DataSpec::to_json() const {
  return {{"source", source}, {"target", target}, {"ignore", ignore}, {"positive", positive}, {"task", task},
          {"test_fraction", test_fraction}, {"split_seed", split_seed}, {"standardize", standardize},
          {"na_values", csv.na_values}, {"initial_space", static_cast<int>(csv.initial_space)}};
}

DataSpec DataSpec::from_json(const nlohmann::json& j) {
  DataSpec s;
  try {
    s.source = j.at("source").get<std::string>();
    s.target = j.value("target", std::string());
    s.ignore = j.value("ignore", std::vector<std::string>());
    s.positive = j.value("positive", std::vector<std::string>());
    s.task = j.value("task", std::string());
    s.test_fraction = j.value("test_fraction", 0.2);
    s.split_seed = j.value("split_seed", uint64_t{1});
    s.standardize = j.value("standardize", true);
    s.csv.na_values = j.value("na_values", CsvOptions{}.na_values);
    const int space = j.value("initial_space", 0);
    if (space < 0 || space > 2)
      throw std::invalid_argument("bad data description in model file: initial_space " + std::to_string(space));
    s.csv.initial_space = static_cast<CsvOptions::InitialSpace>(space);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad data description in model file: ") + e.what());
  }
  return s;
}

PreprocessOptions preprocess_options(const DataSpec& s, const Table& t) {
  PreprocessOptions o;
  o.target = s.target;
  if (o.target.empty()) {
    if (t.num_cols() == 0) throw DataError(t.source + ": no columns");
    o.target = t.columns.back();
  }
  o.ignore = s.ignore;
  o.positive = s.positive;
  if (!s.task.empty()) o.task = task_from_string(s.task);
  o.standardize = s.standardize;
  return o;
}

Prepared prepare(const DataSpec& s) {
  if (!(s.test_fraction >= 0 && s.test_fraction < 1))
    throw std::invalid_argument("test fraction must be in [0, 1), got " + std::to_string(s.test_fraction));
  Prepared p;
  if (s.is_fashion_mnist()) {
    const std::string dir = fashion_dir(s.source);
    p.train = load_fashion_mnist(dir, "train");
    p.test = load_fashion_mnist(dir, "test");
    p.preprocessor = Preprocessor::fit_images(p.train, {kFashionMnistSide, kFashionMnistSide}, s.standardize);
    p.preprocessor.transform_images(p.train);
    p.preprocessor.transform_images(p.test);
    p.input_shape = {p.train.num_features()};
    p.description = describe(kFashion, p.train, p.test);
    return p;
  }
  const Table t = read_csv(s.source, s.csv);
  const PreprocessOptions o = preprocess_options(s, t);
  const TargetColumn y = scan_target(t, o.target);  // the one pass over the target
  // Stratify the held-out split by class when the target is one (as the fit will decide).
  const bool classification = infer_task(t, y, all_rows(t.num_rows()), o) != Task::Regression;
  const Split sp = split_rows(s, y, classification);
  p.preprocessor = Preprocessor::fit(t, sp.train, o, y);
  // A preprocessor that cannot be stored (text that is not UTF-8) fails now, not after training.
  (void)p.preprocessor.to_json();
  p.train = p.preprocessor.transform(t, sp.train, y);
  if (!sp.test.empty()) p.test = p.preprocessor.transform(t, sp.test, y);
  p.input_shape = {p.train.num_features()};
  p.description = describe(s.source, p.train, p.test);
  return p;
}

Dataset load_with(const DataSpec& s, const Preprocessor& pre, std::string_view part) {
  check_part(part);
  if (s.is_fashion_mnist()) {
    if (!pre.images()) throw std::invalid_argument("the model was trained on a CSV file, not on Fashion-MNIST images");
    const std::string dir = fashion_dir(s.source);
    Dataset d;
    if (part == "all") {
      Dataset tr = load_fashion_mnist(dir, "train"), te = load_fashion_mnist(dir, "test");
      Tensor x({tr.size() + te.size(), tr.num_features()});
      std::copy(tr.x.data(), tr.x.data() + tr.x.numel(), x.data());
      std::copy(te.x.data(), te.x.data() + te.x.numel(), x.data() + tr.x.numel());
      tr.x = x;
      tr.labels.insert(tr.labels.end(), te.labels.begin(), te.labels.end());
      d = std::move(tr);
    } else {
      d = load_fashion_mnist(dir, part);
    }
    pre.transform_images(d);
    return d;
  }
  if (pre.images()) throw std::invalid_argument("the model was trained on Fashion-MNIST images, not on a CSV file");
  const Table t = read_csv(s.source, s.csv);
  if (part == "all") return pre.transform(t);
  const TargetColumn y = scan_target(t, pre.target());
  const Split sp = split_rows(s, y, pre.is_classification());
  const auto& rows = part == "test" ? sp.test : sp.train;
  if (rows.empty()) throw std::invalid_argument("the " + std::string(part) + " part of " + s.source + " is empty (test fraction 0?)");
  return pre.transform(t, rows, y);
}

Dataset load_with(const DataSpec& s, const nlohmann::json& preprocessing, std::string_view part) {
  check_part(part);
  return load_with(s, Preprocessor::from_json(preprocessing), part);
}

Tensor load_features(const DataSpec& s, const nlohmann::json& preprocessing) {
  const Preprocessor pre = Preprocessor::from_json(preprocessing);
  if (s.is_fashion_mnist()) return load_with(s, pre, "test").x;
  if (pre.images()) throw std::invalid_argument("the model was trained on Fashion-MNIST images, not on a CSV file");
  return pre.transform_features(read_csv(s.source, s.csv));
}

}  // namespace bp::data
