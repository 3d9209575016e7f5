#include "backprop/app/source.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bp::app {

namespace {
const char* kFashion = "fashion-mnist";

// x <- (x - center) / scale, with the values a model file keeps.
void standardize_images(Tensor& x, const nlohmann::json& prep) {
  const double center = prep.value("center", 0.0), scale = prep.value("scale", 1.0);
  if (!std::isfinite(center) || !(scale > 0) || !std::isfinite(scale))
    throw std::invalid_argument("bad image standardisation in model file");
  if (center == 0.0 && scale == 1.0) return;
  const float c = static_cast<float>(center), inv = static_cast<float>(1.0 / scale);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = (x[i] - c) * inv;
}

std::string fashion_dir(const std::string& source) {
  const size_t colon = source.find(':');
  return colon == std::string::npos ? std::string(data::kFashionMnistDir) : source.substr(colon + 1);
}

}  // namespace

data::PreprocessOptions preprocess_options(const DataSpec& s, const data::Table& t) {
  data::PreprocessOptions o;
  o.target = s.target;
  std::vector<std::string> positive = s.positive;
  if (!s.view.empty()) {
    for (auto& v : data::binary_view_by_name(s.view)) positive.push_back(v);
    if (o.target.empty()) o.target = "lettr";  // the study's views are of LetterRecognition.csv
  }
  if (o.target.empty()) {
    if (t.num_cols() == 0) throw data::DataError(t.source + ": no columns");
    o.target = t.columns.back();
  }
  o.ignore = s.ignore;
  o.positive = positive;
  if (!s.task.empty()) o.task = task_from_string(s.task);
  o.standardize = s.standardize;
  return o;
}

namespace {

// Rows of the held-out split, stratified by the raw target value when it is a class.
data::Split split_rows(const DataSpec& s, const data::Table& t, const std::string& target, bool classification) {
  if (s.test_fraction <= 0) {
    data::Split sp;
    sp.train.resize(static_cast<size_t>(t.num_rows()));
    for (int64_t i = 0; i < t.num_rows(); ++i) sp.train[i] = i;
    return sp;
  }
  if (classification) {
    auto codes = data::label_codes(t, target);
    return data::stratified_split(codes.codes, 0.0, s.test_fraction, s.split_seed);
  }
  return data::train_validation_test_split(t.num_rows(), 0.0, s.test_fraction, s.split_seed);
}

std::string describe(const std::string& name, const data::Dataset& train, const data::Dataset& test) {
  std::string d = name + ": " + std::to_string(train.size()) + " train, " + std::to_string(test.size()) + " test, " +
                  std::to_string(train.num_features()) + " features, ";
  if (train.is_classification())
    d += std::to_string(train.num_classes()) + " classes (" + task_name(train.task) + ")";
  else
    d += "regression";
  return d;
}
}  // namespace

bool DataSpec::is_fashion_mnist() const { return source == kFashion || source.rfind(std::string(kFashion) + ":", 0) == 0; }

nlohmann::json DataSpec::to_json() const {
  return {{"source", source}, {"target", target},     {"ignore", ignore},         {"positive", positive},
          {"view", view},     {"task", task},         {"test_fraction", test_fraction}, {"split_seed", split_seed},
          {"standardize", standardize}};
}

DataSpec DataSpec::from_json(const nlohmann::json& j) {
  DataSpec s;
  try {
    s.source = j.at("source").get<std::string>();
    s.target = j.value("target", std::string());
    s.ignore = j.value("ignore", std::vector<std::string>());
    s.positive = j.value("positive", std::vector<std::string>());
    s.view = j.value("view", std::string());
    s.task = j.value("task", std::string());
    s.test_fraction = j.value("test_fraction", 0.2);
    s.split_seed = j.value("split_seed", uint64_t{1});
    s.standardize = j.value("standardize", true);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad data description in model file: ") + e.what());
  }
  return s;
}

Prepared prepare(const DataSpec& s) {
  if (!(s.test_fraction >= 0 && s.test_fraction < 1))
    throw std::invalid_argument("test fraction must be in [0, 1), got " + std::to_string(s.test_fraction));
  Prepared p;
  if (s.is_fashion_mnist()) {
    const std::string dir = fashion_dir(s.source);
    p.train = data::load_fashion_mnist(dir, "train");
    p.test = data::load_fashion_mnist(dir, "test");
    // Pixels in [0, 1]; with standardisation, centred and scaled by the training set's
    // mean and standard deviation over all pixels (one pair, so images keep their shape).
    double center = 0, scale = 1;
    if (s.standardize) {
      double sum = 0, sq = 0;
      const int64_t n = p.train.x.numel();
      for (int64_t i = 0; i < n; ++i) {
        sum += p.train.x[i];
        sq += static_cast<double>(p.train.x[i]) * p.train.x[i];
      }
      center = sum / static_cast<double>(n);
      scale = std::sqrt(std::max(sq / static_cast<double>(n) - center * center, 1e-12));
    }
    p.preprocessing = {{"kind", "fashion-mnist"}, {"center", center}, {"scale", scale}};
    standardize_images(p.train.x, p.preprocessing);
    standardize_images(p.test.x, p.preprocessing);
    p.input_shape = {p.train.num_features()};
    p.description = describe("fashion-mnist", p.train, p.test);
    return p;
  }
  data::Table t = data::read_csv(s.source);
  data::PreprocessOptions o = preprocess_options(s, t);
  // Stratify the held-out split by class when the target is one (as the fit will decide).
  std::vector<int64_t> all(static_cast<size_t>(t.num_rows()));
  for (int64_t i = 0; i < t.num_rows(); ++i) all[i] = i;
  const bool classification = data::infer_task(t, all, o) != Task::Regression;
  data::Split sp = split_rows(s, t, o.target, classification);
  data::Preprocessor prep = data::Preprocessor::fit(t, sp.train, o);
  p.train = prep.transform(t, sp.train);
  if (!sp.test.empty()) p.test = prep.transform(t, sp.test);
  p.preprocessing = {{"kind", "csv"}, {"preprocessor", prep.to_json()}};
  p.input_shape = {p.train.num_features()};
  p.description = describe(s.source, p.train, p.test);
  return p;
}

namespace {
data::Preprocessor csv_preprocessor(const nlohmann::json& prep) {
  if (!prep.is_object() || prep.value("kind", "") != "csv" || !prep.contains("preprocessor"))
    throw std::invalid_argument("the model was trained on " + (prep.is_object() ? prep.value("kind", std::string("?")) : std::string("?")) +
                                " data, not on a CSV file");
  return data::Preprocessor::from_json(prep.at("preprocessor"));
}
}  // namespace

data::Dataset load_with(const DataSpec& s, const nlohmann::json& prep, const std::string& part) {
  if (part != "test" && part != "train" && part != "all")
    throw std::invalid_argument("unknown data part '" + part + "' (choose test, train, all)");
  if (s.is_fashion_mnist()) {
    if (!prep.is_object() || prep.value("kind", "") != "fashion-mnist")
      throw std::invalid_argument("the model was not trained on Fashion-MNIST images");
    const std::string dir = fashion_dir(s.source);
    if (part == "all") {
      data::Dataset tr = data::load_fashion_mnist(dir, "train"), te = data::load_fashion_mnist(dir, "test");
      std::vector<int64_t> rows(static_cast<size_t>(tr.size()));
      for (int64_t i = 0; i < tr.size(); ++i) rows[i] = i;
      Tensor x({tr.size() + te.size(), tr.num_features()});
      std::copy(tr.x.data(), tr.x.data() + tr.x.numel(), x.data());
      std::copy(te.x.data(), te.x.data() + te.x.numel(), x.data() + tr.x.numel());
      tr.x = x;
      tr.labels.insert(tr.labels.end(), te.labels.begin(), te.labels.end());
      standardize_images(tr.x, prep);
      return tr;
    }
    data::Dataset d = data::load_fashion_mnist(dir, part);
    standardize_images(d.x, prep);
    return d;
  }
  data::Preprocessor pre = csv_preprocessor(prep);
  data::Table t = data::read_csv(s.source);
  if (part == "all") return pre.transform(t);
  data::Split sp = split_rows(s, t, pre.target(), pre.is_classification());
  const auto& rows = part == "test" ? sp.test : sp.train;
  if (rows.empty()) throw std::invalid_argument("the " + part + " part of " + s.source + " is empty (test fraction 0?)");
  return pre.transform(t, rows);
}

Tensor load_features(const DataSpec& s, const nlohmann::json& prep) {
  if (s.is_fashion_mnist()) return load_with(s, prep, "test").x;
  return csv_preprocessor(prep).transform_features(data::read_csv(s.source));
}

}  // namespace bp::app
