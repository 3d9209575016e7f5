#include "backprop/data/preprocess.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>

namespace bp::data {

// ---- numbers -------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// True if v converts to a finite float32 (checked before converting: a double outside
// the float range has no float value).
bool fits_float(double v) { return std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max()); }

// For a decimal number that std::from_chars found out of range: true if it is too small
// (underflow, becomes 0) rather than too large. Decides by the decimal exponent of the
// first non-zero digit.
bool underflows(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  int64_t int_digits = 0;  // digits before the point, after leading zeros
  int64_t leading_frac_zeros = 0;
  bool seen_nonzero = false, in_frac = false;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      in_frac = true;
      continue;
    }
    if (s[i] != '0') seen_nonzero = true;
    if (!in_frac && seen_nonzero) ++int_digits;
    if (in_frac && !seen_nonzero) ++leading_frac_zeros;
  }
  int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
    for (; i < s.size() && is_digit(s[i]); ++i) exponent = std::min<int64_t>(exponent * 10 + (s[i] - '0'), 1'000'000'000);
    if (negative) exponent = -exponent;
  }
  // The first non-zero digit stands for 10^(int_digits - 1) or 10^-(leading_frac_zeros + 1).
  const int64_t magnitude = (int_digits > 0 ? int_digits - 1 : -(leading_frac_zeros + 1)) + exponent;
  return magnitude < 0;
}

}  // namespace

NumberParse parse_number(std::string_view text, double& value) {
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || !(is_digit(s.front()) || s.front() == '.')) return NumberParse::Text;
  }
  if (s.empty()) return NumberParse::Text;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec == std::errc::invalid_argument || end != s.data() + s.size()) return NumberParse::Text;
  if (ec == std::errc::result_out_of_range) {
    if (!underflows(s)) return NumberParse::NonFinite;
    v = 0;
  }
  if (!std::isfinite(v)) return NumberParse::NonFinite;
  value = v;
  return NumberParse::Number;
}

// ---- helpers -------------------------------------------------------------------------

namespace {

// Class order: numerically when every value is a number, else byte order.
std::vector<std::string> class_order(const std::set<std::string>& distinct) {
  std::vector<std::pair<double, std::string>> numeric;
  for (const std::string& s : distinct) {
    double v = 0;
    if (parse_number(s, v) != NumberParse::Number) return {distinct.begin(), distinct.end()};
    numeric.emplace_back(v, s);
  }
  std::sort(numeric.begin(), numeric.end());
  std::vector<std::string> out;
  for (auto& [v, s] : numeric) out.push_back(std::move(s));
  return out;
}

std::string col_label(std::string_view name) { return "column " + quote_text(name); }

// The number in a numeric cell; DataError naming the cell for text and nan/inf.
double cell_number(const Table& t, int64_t row, const Cell& cell, std::string_view what) {
  double v = 0;
  switch (parse_number(cell.text, v)) {
    case NumberParse::Number: return v;
    case NumberParse::NonFinite:
      fail(t.where(row), 0, std::string(what) + ": " + quote_text(cell.text) + " is not a finite number");
    case NumberParse::Text:
      fail(t.where(row), 0, std::string(what) + ": expected a number, found " + quote_text(cell.text));
  }
  return v;
}

void check_rows(const Table& t, std::span<const int64_t> rows) {
  for (int64_t r : rows)
    if (r < 0 || r >= t.num_rows())
      fail(t.source, 0, "row index " + std::to_string(r) + " out of range (" + std::to_string(t.num_rows()) + " rows)");
}

FeatureColumn fit_column(const Table& t, int64_t col, std::span<const int64_t> rows, const PreprocessOptions& o) {
  FeatureColumn fc;
  fc.name = t.columns[col];
  const std::string what = col_label(fc.name);
  int64_t numbers = 0, non_finite = 0, texts = 0, first_text = -1;
  for (int64_t r : rows) {
    const Cell& c = t.cell(r, col);
    if (c.missing) continue;
    double v;
    switch (parse_number(c.text, v)) {
      case NumberParse::Number: ++numbers; break;
      case NumberParse::NonFinite: ++non_finite; break;
      case NumberParse::Text:
        if (!texts++) first_text = r;
        break;
    }
  }
  if (numbers + non_finite + texts == 0)
    fail(t.source, 0, what + " has no values in the training rows (all missing): ignore it");

  const auto declared = o.kinds.find(fc.name);
  if (declared != o.kinds.end()) {
    fc.kind = declared->second;
  } else if (texts == 0) {
    fc.kind = ColumnKind::Numeric;
  } else if (numbers + non_finite > texts) {
    fail(t.where(first_text), 0, what + " looks numeric but has the text " + quote_text(t.cell(first_text, col).text) +
                                     " (fix the value, or declare the column categorical)");
  } else {
    fc.kind = ColumnKind::Categorical;
  }

  if (fc.kind == ColumnKind::Numeric) {
    // Welford's running mean and variance: one pass, no catastrophic cancellation.
    double mean = 0, m2 = 0;
    int64_t n = 0;
    for (int64_t r : rows) {
      const Cell& c = t.cell(r, col);
      if (c.missing) continue;
      const double v = cell_number(t, r, c, what);
      // Unscaled values go to the features as they are; scaled ones stay within about
      // sqrt(n) standard deviations of the mean and always fit.
      if (!o.standardize && !fits_float(v))
        fail(t.where(r), 0, what + ": " + quote_text(c.text) + " is too large for float32");
      ++n;
      const double delta = v - mean;
      mean += delta / static_cast<double>(n);
      m2 += delta * (v - mean);
    }
    const double sd = std::sqrt(m2 / static_cast<double>(n));
    if (!std::isfinite(mean) || (o.standardize && !std::isfinite(sd)))
      fail(t.source, 0, what + ": values too large to compute a mean and standard deviation");
    fc.impute = mean;
    fc.center = o.standardize ? mean : 0.0;
    fc.scale = o.standardize && sd > 0 ? sd : 1.0;
  } else {
    std::set<std::string> values;
    for (int64_t r : rows)
      if (!t.cell(r, col).missing) values.insert(t.cell(r, col).text);
    if (static_cast<int64_t>(values.size()) > o.max_categories)
      fail(t.source, 0, what + " has " + std::to_string(values.size()) + " distinct values, more than max_categories (" +
                            std::to_string(o.max_categories) + "): ignore it, or declare it numeric if it is a number");
    fc.categories.assign(values.begin(), values.end());
  }
  return fc;
}

// Valid UTF-8 (no overlongs or surrogates checked beyond what JSON writers reject).
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

// The target column over `rows`: its distinct values and the task they (and the options)
// imply. Classification when the values contain text, or are all integers with at most
// max_integer_classes distinct values; regression otherwise; Binary with positive values.
struct TargetScan {
  Task task = Task::Regression;
  std::set<std::string> distinct;
};

TargetScan scan_target(const Table& t, int64_t tcol, std::span<const int64_t> rows, const PreprocessOptions& o) {
  const std::string& src = t.source;
  const std::string what = "target " + quote_text(o.target);
  TargetScan scan;
  std::set<std::string>& distinct = scan.distinct;
  int64_t first_text = -1, first_non_finite = -1;
  bool all_integers = true;
  for (int64_t r : rows) {
    const Cell& c = t.cell(r, tcol);
    if (c.missing) fail(t.where(r), 0, "missing value in target column " + quote_text(o.target));
    double v = 0;
    switch (parse_number(c.text, v)) {
      case NumberParse::Number:
        if (v != std::trunc(v)) all_integers = false;
        break;
      case NumberParse::NonFinite:
        if (first_non_finite < 0) first_non_finite = r;
        break;
      case NumberParse::Text:
        if (first_text < 0) first_text = r;
        break;
    }
    distinct.insert(c.text);
  }
  if (!o.positive.empty()) {
    if (o.task && *o.task != Task::Binary)
      fail(src, 0, std::string("positive values make the task binary, not ") + task_name(*o.task));
    scan.task = Task::Binary;
  } else if (o.task) {
    scan.task = *o.task;
  } else if (first_text >= 0) {
    scan.task = Task::Multiclass;  // refined to Binary below
  } else if (first_non_finite >= 0) {
    fail(t.where(first_non_finite), 0, what + ": " + quote_text(t.cell(first_non_finite, tcol).text) + " is not a finite number");
  } else if (all_integers && static_cast<int64_t>(distinct.size()) <= o.max_integer_classes) {
    scan.task = Task::Multiclass;
  } else {
    scan.task = Task::Regression;
  }
  return scan;
}

}  // namespace

Task infer_task(const Table& t, std::span<const int64_t> rows, const PreprocessOptions& o) {
  const int64_t tcol = t.column_index(o.target);
  check_rows(t, rows);
  return scan_target(t, tcol, rows, o).task;
}

// ---- fit -----------------------------------------------------------------------------

Preprocessor Preprocessor::fit(const Table& table, const PreprocessOptions& options) {
  std::vector<int64_t> all(table.num_rows());
  for (int64_t i = 0; i < table.num_rows(); ++i) all[i] = i;
  return fit(table, all, options);
}

Preprocessor Preprocessor::fit(const Table& t, std::span<const int64_t> rows, const PreprocessOptions& o) {
  const std::string& src = t.source;
  if (o.target.empty()) fail(src, 0, "no target column given (columns: " + join_names(t.columns) + ")");
  const int64_t tcol = t.find_column(o.target);
  if (tcol < 0) fail(src, 0, "unknown target column " + quote_text(o.target) + " (columns: " + join_names(t.columns) + ")");
  if (rows.empty()) fail(src, 0, "no training rows to fit on (empty data set)");
  check_rows(t, rows);
  if (o.max_categories < 1) fail(src, 0, "max_categories must be at least 1");

  Preprocessor p;
  p.target_ = o.target;
  p.standardize_ = o.standardize;

  std::vector<bool> skip(t.num_cols(), false);
  skip[tcol] = true;
  for (const std::string& name : o.ignore) {
    const int64_t j = t.find_column(name);
    if (j < 0) fail(src, 0, "unknown column " + quote_text(name) + " to ignore (columns: " + join_names(t.columns) + ")");
    if (j == tcol) fail(src, 0, "the target column " + quote_text(name) + " cannot be ignored");
    if (!skip[j]) p.ignored_.push_back(name);
    skip[j] = true;
  }
  for (const auto& [name, kind] : o.kinds) {
    const int64_t j = t.find_column(name);
    if (j < 0) fail(src, 0, "unknown column " + quote_text(name) + " with a declared kind (columns: " + join_names(t.columns) + ")");
    if (skip[j]) fail(src, 0, "column " + quote_text(name) + " has a declared kind but is the target or ignored");
  }

  // Target: task and classes.
  const std::string what = "target " + quote_text(o.target);
  TargetScan scan = scan_target(t, tcol, rows, o);
  std::set<std::string>& distinct = scan.distinct;
  p.task_ = scan.task;

  if (p.task_ == Task::Regression) {
    for (int64_t r : rows)  // every value must be a number that fits float32
      if (!fits_float(cell_number(t, r, t.cell(r, tcol), what)))
        fail(t.where(r), 0, what + ": " + quote_text(t.cell(r, tcol).text) + " is too large for float32");
  } else {
    p.target_values_ = class_order(distinct);
    const auto& values = p.target_values_;
    if (values.size() < 2)
      fail(src, 0, what + " has a single class " + quote_text(values[0]) + " in the training rows (need at least 2)");
    if (!o.positive.empty()) {
      std::set<std::string> pos(o.positive.begin(), o.positive.end());
      for (const std::string& v : pos)
        if (!distinct.count(v))
          fail(src, 0, "positive value " + quote_text(v) + " never occurs in " + what + " in the training rows (values: " +
                           join_names(values) + ")");
      if (pos.size() == distinct.size()) fail(src, 0, "every training value of " + what + " is positive: no negative rows");
      p.positive_.assign(pos.begin(), pos.end());
    } else if (!o.task) {
      p.task_ = values.size() == 2 ? Task::Binary : Task::Multiclass;
    } else if (p.task_ == Task::Binary && values.size() != 2) {
      fail(src, 0, what + " has " + std::to_string(values.size()) +
                       " classes in the training rows; a binary task needs exactly 2 (or name the positive values)");
    }
  }

  for (int64_t j = 0; j < t.num_cols(); ++j)
    if (!skip[j]) p.columns_.push_back(fit_column(t, j, rows, o));
  if (p.columns_.empty()) fail(src, 0, "no feature columns: every column is the target or ignored");
  p.finish();
  return p;
}

void Preprocessor::finish() {
  feature_names_.clear();
  for (const FeatureColumn& fc : columns_) {
    if (fc.kind == ColumnKind::Numeric)
      feature_names_.push_back(fc.name);
    else
      for (const std::string& v : fc.categories) feature_names_.push_back(fc.name + "=" + v);
  }
  label_of_.clear();
  class_names_.clear();
  if (task_ == Task::Regression) return;
  if (!positive_.empty()) {
    class_names_ = {"negative", "positive"};
    for (const std::string& v : target_values_)
      label_of_[v] = std::binary_search(positive_.begin(), positive_.end(), v) ? 1 : 0;
  } else {
    class_names_ = target_values_;
    for (size_t i = 0; i < target_values_.size(); ++i) label_of_[target_values_[i]] = static_cast<int32_t>(i);
  }
}

// ---- transform -----------------------------------------------------------------------

int32_t Preprocessor::class_index(std::string_view value) const {
  if (task_ == Task::Regression) throw DataError("class_index: the target " + quote_text(target_) + " is not categorical");
  const auto it = label_of_.find(value);
  if (it == label_of_.end())
    throw DataError("target " + quote_text(target_) + ": class " + quote_text(value) +
                    " was not seen in training (known classes: " + join_names(target_values_) + ")");
  return it->second;
}

Dataset Preprocessor::transform(const Table& table) const {
  std::vector<int64_t> all(table.num_rows());
  for (int64_t i = 0; i < table.num_rows(); ++i) all[i] = i;
  return encode(table, all, true);
}

Dataset Preprocessor::transform(const Table& table, std::span<const int64_t> rows) const {
  return encode(table, rows, true);
}

Tensor Preprocessor::transform_features(const Table& table) const {
  std::vector<int64_t> all(table.num_rows());
  for (int64_t i = 0; i < table.num_rows(); ++i) all[i] = i;
  return encode(table, all, false).x;
}

Dataset Preprocessor::encode(const Table& t, std::span<const int64_t> rows, bool with_target) const {
  if (!fitted()) throw DataError("preprocessor is not fitted");
  check_rows(t, rows);
  std::vector<int64_t> src_col(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    src_col[c] = t.find_column(columns_[c].name);
    if (src_col[c] < 0)
      fail(t.source, 0, "column " + quote_text(columns_[c].name) + " used in training is missing (columns: " +
                            join_names(t.columns) + ")");
  }
  int64_t tcol = -1;
  if (with_target) {
    tcol = t.find_column(target_);
    if (tcol < 0) fail(t.source, 0, "target column " + quote_text(target_) + " is missing (columns: " + join_names(t.columns) + ")");
  }

  const auto m = static_cast<int64_t>(rows.size());
  const int64_t d = num_features();
  Dataset ds;
  ds.task = task_;
  ds.feature_names = feature_names_;
  ds.class_names = class_names_;
  ds.x = Tensor({m, d});  // zero-filled: indicators start at 0
  if (with_target) {
    if (is_classification())
      ds.labels.resize(m);
    else
      ds.targets = Tensor::empty({m, 1});
  }
  const std::string target_what = "target " + quote_text(target_);

  for (int64_t i = 0; i < m; ++i) {
    const int64_t r = rows[i];
    float* out = ds.x.data() + i * d;  // (d) features of row i
    for (size_t c = 0; c < columns_.size(); ++c) {
      const FeatureColumn& fc = columns_[c];
      const Cell& cell = t.cell(r, src_col[c]);
      if (fc.kind == ColumnKind::Numeric) {
        const double v = cell.missing ? fc.impute : cell_number(t, r, cell, col_label(fc.name));
        const double z = (v - fc.center) / fc.scale;
        if (!fits_float(z))
          fail(t.where(r), 0, col_label(fc.name) + ": " + quote_text(cell.text) + " is too large for float32 after scaling");
        *out++ = static_cast<float>(z);
      } else {
        const auto& cats = fc.categories;
        if (!cell.missing) {
          const auto it = std::lower_bound(cats.begin(), cats.end(), cell.text);
          if (it == cats.end() || *it != cell.text)
            fail(t.where(r), 0, col_label(fc.name) + ": value " + quote_text(cell.text) +
                                    " was not seen in training (known values: " + join_names(cats) + ")");
          out[it - cats.begin()] = 1.f;
        }
        out += cats.size();
      }
    }
    if (!with_target) continue;
    const Cell& cell = t.cell(r, tcol);
    if (cell.missing) fail(t.where(r), 0, "missing value in target column " + quote_text(target_));
    if (is_classification()) {
      const auto it = label_of_.find(cell.text);
      if (it == label_of_.end())
        fail(t.where(r), 0, target_what + ": class " + quote_text(cell.text) + " was not seen in training (known classes: " +
                                join_names(target_values_) + ")");
      ds.labels[i] = it->second;
    } else {
      const double v = cell_number(t, r, cell, target_what);
      if (!fits_float(v)) fail(t.where(r), 0, target_what + ": " + quote_text(cell.text) + " is too large for float32");
      ds.targets[i] = static_cast<float>(v);
    }
  }
  if (with_target) ds.validate(t.source);
  return ds;
}

// ---- JSON ----------------------------------------------------------------------------

nlohmann::json Preprocessor::to_json() const {
  using nlohmann::json;
  if (!fitted()) throw DataError("preprocessor json: the preprocessor is not fitted");
  json cols = json::array();
  for (const FeatureColumn& fc : columns_) {
    json c;
    c["name"] = json_safe(fc.name, "column name");
    if (fc.kind == ColumnKind::Numeric) {
      c["kind"] = "numeric";
      c["impute"] = fc.impute;
      c["center"] = fc.center;
      c["scale"] = fc.scale;
    } else {
      c["kind"] = "categorical";
      json cats = json::array();
      for (const std::string& v : fc.categories) cats.push_back(json_safe(v, "category"));
      c["categories"] = std::move(cats);
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
  j["version"] = 1;
  j["target"] = json_safe(target_, "target name");
  j["task"] = task_name(task_);
  j["standardize"] = standardize_;
  j["columns"] = std::move(cols);
  j["ignored"] = strings(ignored_, "column name");
  j["target_values"] = strings(target_values_, "class");
  j["positive"] = strings(positive_, "class");
  j["class_names"] = strings(class_names_, "class");
  j["feature_names"] = strings(feature_names_, "feature name");
  return j;
}

namespace {

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
    bad_json("field '" + path + "." + key + "' must be a finite number");
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

}  // namespace

Preprocessor Preprocessor::from_json(const nlohmann::json& j) {
  try {
    Preprocessor p;
    if (get_string(j, "format") != "backprop.preprocessor") bad_json("field 'format' must be \"backprop.preprocessor\"");
    const auto& version = member(j, "version", "");
    if (!version.is_number_integer() || version.get<int64_t>() != 1) bad_json("unsupported 'version' (this reader knows 1)");
    p.target_ = get_string(j, "target");
    if (p.target_.empty()) bad_json("field 'target' is empty");
    try {
      p.task_ = task_from_name(get_string(j, "task"));
    } catch (const DataError& e) {
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
      } else {
        bad_json("field '" + path + ".kind' must be \"numeric\" or \"categorical\"");
      }
      p.columns_.push_back(std::move(fc));
    }

    p.target_values_ = get_strings(j, "target_values");
    p.positive_ = get_strings(j, "positive");
    if (p.task_ == Task::Regression) {
      if (!p.target_values_.empty() || !p.positive_.empty())
        bad_json("a regression target has no 'target_values' or 'positive' values");
    } else {
      if (p.target_values_.size() < 2) bad_json("a classification target needs at least 2 'target_values'");
      if (!unique(p.target_values_)) bad_json("field 'target_values' has duplicates");
      if (!p.positive_.empty()) {
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

// ---- label codes and named views -----------------------------------------------------

LabelCodes label_codes(const Table& t, std::string_view column) {
  const int64_t j = t.column_index(column);
  std::set<std::string> distinct;
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    const Cell& c = t.cell(r, j);
    if (c.missing) fail(t.where(r), 0, "missing value in column " + quote_text(column));
    distinct.insert(c.text);
  }
  LabelCodes out;
  out.values = class_order(distinct);
  std::map<std::string_view, int32_t> code;
  for (size_t i = 0; i < out.values.size(); ++i) code[out.values[i]] = static_cast<int32_t>(i);
  out.codes.resize(t.num_rows());
  for (int64_t r = 0; r < t.num_rows(); ++r) out.codes[r] = code.at(t.cell(r, j).text);
  return out;
}

std::vector<std::string> binary_view_names() { return {"LETTER.P1", "LETTER.P2"}; }

std::vector<std::string> binary_view_by_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "LETTER.P1") return {"O"};
  if (upper == "LETTER.P2") {
    std::vector<std::string> out;
    for (char c = 'A'; c <= 'M'; ++c) out.emplace_back(1, c);
    return out;
  }
  throw DataError("unknown binary view " + quote_text(name) + " (known: " + join_names(binary_view_names()) + ")");
}

}  // namespace bp::data
