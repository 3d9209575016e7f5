// The fitted Preprocessor as JSON, the form a model file keeps (docs/model-files.md):
//
//   {"format": "backprop.preprocessor", "version": 2, "input": "table" | "images",
//    "target", "task", "standardize", "columns": [...], "ignored", "target_values",
//    "positive", "class_names", "feature_names", "target_scaling"}
//
// "target_scaling" ({"center", "scale"}: the training target's mean and std) is written for a
// regression target only and is optional on reading (files written before it existed: the
// identity, i.e. trained on unscaled targets). It records how training scaled the target; the
// network in the model file already outputs the target's own units.
// with columns {"name", "kind": "numeric", "impute", "center", "scale"},
// {"name", "kind": "categorical", "categories"} or, for images, the one column
// {"name", "kind": "pixels", "shape", "center", "scale"}. Also read: version 1 (a table's
// preprocessor, no "input"), and the two forms model files held before version 2:
// {"kind": "csv", "preprocessor": <version 1>} and {"kind": "fashion-mnist", "center", "scale"}.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "backprop/data/idx.hpp"
#include "backprop/data/preprocess.hpp"

namespace bp::data {

namespace {

// Largest image a preprocessor file may describe (its feature names are made on loading).
constexpr int64_t kMaxPixels = int64_t{1} << 20;

// Valid UTF-8 (no overlongs or surrogates checked beyond what JSON writers reject). Text
// from a CSV file is bytes; only what goes into JSON must be UTF-8, so the check is here.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (extra < 0 || (extra == 1 && c < 0xC2) || (extra == 3 && c > 0xF4)) return false;
    if (extra > 0 && i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    if (extra == 2) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return false;
    }
    if (extra == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string json_safe(const std::string& s, std::string_view what) {
  if (!valid_utf8(s))
    throw DataError("preprocessor json: " + std::string(what) + " " + quote_text(s) +
                    " is not valid UTF-8 and cannot be stored in a JSON file");
  return s;
}

[[noreturn]] void bad_json(const std::string& msg) { throw DataError("preprocessor json: " + msg); }

const nlohmann::json& member(const nlohmann::json& obj, const char* key, const std::string& path) {
  if (!obj.is_object()) bad_json(path.empty() ? "expected an object" : "'" + path + "' must be an object");
  const auto it = obj.find(key);
  if (it == obj.end()) bad_json("missing field '" + (path.empty() ? "" : path + ".") + key + "'");
  return *it;
}

std::string get_string(const nlohmann::json& obj, const char* key, const std::string& path = "") {
  const auto& v = member(obj, key, path);
  if (!v.is_string()) bad_json("field '" + (path.empty() ? "" : path + ".") + key + "' must be a string");
  return v.get<std::string>();
}

double get_finite(const nlohmann::json& obj, const char* key, const std::string& path) {
  const auto& v = member(obj, key, path);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    bad_json("field '" + (path.empty() ? "" : path + ".") + key + "' must be a finite number");
  return v.get<double>();
}

std::vector<std::string> get_strings(const nlohmann::json& obj, const char* key, const std::string& path = "") {
  const auto& v = member(obj, key, path);
  const std::string name = (path.empty() ? "" : path + ".") + key;
  if (!v.is_array()) bad_json("field '" + name + "' must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) bad_json("field '" + name + "' must be an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

bool unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) == v.end();
}

// An image's shape: 1 to 4 positive sizes, at most kMaxPixels pixels in all.
std::vector<int64_t> get_shape(const nlohmann::json& obj, const std::string& path) {
  const auto& v = member(obj, "shape", path);
  const std::string name = path + ".shape";
  if (!v.is_array() || v.empty() || v.size() > 4) bad_json("field '" + name + "' must be an array of 1 to 4 sizes");
  std::vector<int64_t> shape;
  int64_t pixels = 1;
  for (const auto& e : v) {
    if (!e.is_number_integer() || e.get<int64_t>() < 1) bad_json("field '" + name + "' must hold positive integers");
    const int64_t s = e.get<int64_t>();
    if (s > kMaxPixels || pixels * s > kMaxPixels)
      bad_json("field '" + name + "' describes more than " + std::to_string(kMaxPixels) + " pixels");
    pixels *= s;
    shape.push_back(s);
  }
  return shape;
}

}  // namespace

nlohmann::json Preprocessor::to_json() const {
  using nlohmann::json;
  if (!fitted()) throw DataError("preprocessor json: the preprocessor is not fitted");
  json cols = json::array();
  for (const FeatureColumn& fc : columns_) {
    json c;
    c["name"] = json_safe(fc.name, "column name");
    switch (fc.kind) {
      case ColumnKind::Numeric:
        c["kind"] = "numeric";
        c["impute"] = fc.impute;
        c["center"] = fc.center;
        c["scale"] = fc.scale;
        break;
      case ColumnKind::Categorical: {
        c["kind"] = "categorical";
        json cats = json::array();
        for (const std::string& v : fc.categories) cats.push_back(json_safe(v, "category"));
        c["categories"] = std::move(cats);
        break;
      }
      case ColumnKind::Pixels:
        c["kind"] = "pixels";
        c["shape"] = fc.shape;
        c["center"] = fc.center;
        c["scale"] = fc.scale;
        break;
    }
    cols.push_back(std::move(c));
  }
  auto strings = [](const std::vector<std::string>& v, std::string_view what) {
    json a = json::array();
    for (const std::string& s : v) a.push_back(json_safe(s, what));
    return a;
  };
  json j;
  j["format"] = "backprop.preprocessor";
  j["version"] = 2;
  j["input"] = images() ? "images" : "table";
  j["target"] = json_safe(target_, "target name");
  j["task"] = task_name(task_);
  j["standardize"] = standardize_;
  j["columns"] = std::move(cols);
  j["ignored"] = strings(ignored_, "column name");
  j["target_values"] = strings(target_values_, "class");
  j["positive"] = strings(positive_, "class");
  j["class_names"] = strings(class_names_, "class");
  j["feature_names"] = strings(feature_names_, "feature name");
  if (task_ == Task::Regression) j["target_scaling"] = {{"center", target_scaling_.center}, {"scale", target_scaling_.scale}};
  return j;
}

Preprocessor Preprocessor::from_json(const nlohmann::json& j) {
  try {
    // The forms model files held before version 2.
    if (j.is_object() && j.contains("kind") && !j.contains("format")) {
      const std::string kind = get_string(j, "kind");
      if (kind == "csv") {
        const auto& inner = member(j, "preprocessor", "");
        if (!inner.is_object() || !inner.contains("format")) bad_json("'preprocessor' must be a preprocessor object");
        return from_json(inner);
      }
      if (kind != "fashion-mnist") bad_json("unknown 'kind' " + quote_text(kind) + " (known: csv, fashion-mnist)");
      Preprocessor p;
      p.target_ = "label";
      p.task_ = Task::Multiclass;
      FeatureColumn fc;
      fc.name = "px";
      fc.kind = ColumnKind::Pixels;
      fc.center = j.contains("center") ? get_finite(j, "center", "") : 0.0;
      fc.scale = j.contains("scale") ? get_finite(j, "scale", "") : 1.0;
      if (!(fc.scale > 0)) bad_json("field 'scale' must be positive");
      fc.shape = {kFashionMnistSide, kFashionMnistSide};
      p.standardize_ = !(fc.center == 0.0 && fc.scale == 1.0);
      p.columns_.push_back(std::move(fc));
      const auto& classes = fashion_mnist_classes();
      p.target_values_.assign(classes.begin(), classes.end());
      p.finish();
      return p;
    }

    Preprocessor p;
    if (get_string(j, "format") != "backprop.preprocessor") bad_json("field 'format' must be \"backprop.preprocessor\"");
    const auto& version = member(j, "version", "");
    if (!version.is_number_integer() || version.get<int64_t>() < 1 || version.get<int64_t>() > 2)
      bad_json("unsupported 'version' (this reader knows 1 and 2)");
    const bool images = version.get<int64_t>() >= 2 && [&] {
      const std::string input = get_string(j, "input");
      if (input != "table" && input != "images") bad_json("field 'input' must be \"table\" or \"images\"");
      return input == "images";
    }();
    p.target_ = get_string(j, "target");
    if (p.target_.empty()) bad_json("field 'target' is empty");
    try {
      p.task_ = task_from_string(get_string(j, "task"));
    } catch (const std::invalid_argument& e) {
      bad_json(std::string("field 'task': ") + e.what());
    }
    const auto& standardize = member(j, "standardize", "");
    if (!standardize.is_boolean()) bad_json("field 'standardize' must be true or false");
    p.standardize_ = standardize.get<bool>();

    p.ignored_ = get_strings(j, "ignored");
    if (!unique(p.ignored_)) bad_json("field 'ignored' has duplicates");
    const auto& cols = member(j, "columns", "");
    if (!cols.is_array() || cols.empty()) bad_json("field 'columns' must be a non-empty array");
    std::set<std::string> names(p.ignored_.begin(), p.ignored_.end());
    if (names.count(p.target_)) bad_json("the target column is also in 'ignored'");
    names.insert(p.target_);
    for (size_t i = 0; i < cols.size(); ++i) {
      const std::string path = "columns[" + std::to_string(i) + "]";
      FeatureColumn fc;
      fc.name = get_string(cols[i], "name", path);
      if (fc.name.empty()) bad_json("field '" + path + ".name' is empty");
      if (!names.insert(fc.name).second)
        bad_json("column " + quote_text(fc.name) + " appears twice (or is the target or ignored)");
      const std::string kind = get_string(cols[i], "kind", path);
      if (images != (kind == "pixels"))
        bad_json(images ? "an image preprocessor has one column of kind \"pixels\""
                        : "field '" + path + ".kind' must be \"numeric\" or \"categorical\"");
      if (kind == "numeric") {
        fc.kind = ColumnKind::Numeric;
        fc.impute = get_finite(cols[i], "impute", path);
        fc.center = get_finite(cols[i], "center", path);
        fc.scale = get_finite(cols[i], "scale", path);
        if (!(fc.scale > 0)) bad_json("field '" + path + ".scale' must be positive");
      } else if (kind == "categorical") {
        fc.kind = ColumnKind::Categorical;
        fc.categories = get_strings(cols[i], "categories", path);
        if (fc.categories.empty()) bad_json("field '" + path + ".categories' is empty");
        for (size_t k = 1; k < fc.categories.size(); ++k)
          if (!(fc.categories[k - 1] < fc.categories[k]))
            bad_json("field '" + path + ".categories' must be sorted and without duplicates");
      } else if (kind == "pixels") {
        fc.kind = ColumnKind::Pixels;
        fc.shape = get_shape(cols[i], path);
        fc.center = get_finite(cols[i], "center", path);
        fc.scale = get_finite(cols[i], "scale", path);
        if (!(fc.scale > 0)) bad_json("field '" + path + ".scale' must be positive");
      } else {
        bad_json("field '" + path + ".kind' must be \"numeric\" or \"categorical\"");
      }
      p.columns_.push_back(std::move(fc));
    }
    if (images && (cols.size() != 1 || !p.ignored_.empty()))
      bad_json("an image preprocessor has one column of kind \"pixels\" and no 'ignored' columns");

    p.target_values_ = get_strings(j, "target_values");
    p.positive_ = get_strings(j, "positive");
    if (p.task_ == Task::Regression) {
      if (images) bad_json("an image preprocessor needs a classification task");
      if (!p.target_values_.empty() || !p.positive_.empty())
        bad_json("a regression target has no 'target_values' or 'positive' values");
    } else {
      if (p.target_values_.size() < 2) bad_json("a classification target needs at least 2 'target_values'");
      if (!unique(p.target_values_)) bad_json("field 'target_values' has duplicates");
      if (!p.positive_.empty()) {
        if (images) bad_json("an image preprocessor has no 'positive' values");
        if (p.task_ != Task::Binary) bad_json("'positive' values need the binary task");
        if (!std::is_sorted(p.positive_.begin(), p.positive_.end()) || !unique(p.positive_))
          bad_json("field 'positive' must be sorted and without duplicates");
        for (const std::string& v : p.positive_)
          if (std::find(p.target_values_.begin(), p.target_values_.end(), v) == p.target_values_.end())
            bad_json("positive value " + quote_text(v) + " is not among 'target_values'");
        if (p.positive_.size() >= p.target_values_.size()) bad_json("'positive' leaves no negative class");
      } else if (p.task_ == Task::Binary && p.target_values_.size() != 2) {
        bad_json("a binary target needs exactly 2 'target_values' (or 'positive' values)");
      }
    }
    if (j.contains("target_scaling")) {
      if (p.task_ != Task::Regression) bad_json("'target_scaling' belongs to a regression target only");
      const auto& ts = member(j, "target_scaling", "");
      if (!ts.is_object()) bad_json("'target_scaling' must be an object");
      p.target_scaling_.center = get_finite(ts, "center", "target_scaling");
      p.target_scaling_.scale = get_finite(ts, "scale", "target_scaling");
      if (!(p.target_scaling_.scale > 0)) bad_json("field 'target_scaling.scale' must be positive");
    }
    p.finish();
    // Derived fields are optional, but when present must agree.
    if (j.contains("feature_names") && get_strings(j, "feature_names") != p.feature_names_)
      bad_json("'feature_names' do not match the columns");
    if (j.contains("class_names") && get_strings(j, "class_names") != p.class_names_)
      bad_json("'class_names' do not match the target values");
    return p;
  } catch (const nlohmann::json::exception& e) {
    bad_json(e.what());
  }
}

}  // namespace bp::data
