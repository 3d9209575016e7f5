#include "backprop/data/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

namespace bp::data {

namespace {

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

std::vector<int64_t> all_rows(const Table& t) {
  std::vector<int64_t> rows(static_cast<size_t>(t.num_rows()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return rows;
}

void check_scan(const Table& t, const TargetColumn& y, std::string_view column) {
  if (y.name != column || static_cast<int64_t>(y.codes.size()) != t.num_rows())
    fail(t.source, 0, "the target scan is of column " + quote_text(y.name) + " over " + std::to_string(y.codes.size()) +
                          " rows, not of " + quote_text(column) + " over this table's " + std::to_string(t.num_rows()));
}

// Class order of some values of a scan: numerically when all of them are numbers, else by
// byte order (the scan's own order is that of all its values, which may differ for a subset).
std::vector<std::string> class_order(const TargetColumn& y, const std::vector<char>& present) {
  std::vector<int32_t> idx;
  bool numbers = true;
  for (size_t v = 0; v < present.size(); ++v)
    if (present[v]) {
      idx.push_back(static_cast<int32_t>(v));
      numbers = numbers && y.parsed[v] == NumberParse::Number;
    }
  std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
    if (numbers && y.numbers[a] != y.numbers[b]) return y.numbers[a] < y.numbers[b];
    return y.values[a] < y.values[b];
  });
  std::vector<std::string> out;
  for (int32_t v : idx) out.push_back(y.values[v]);
  return out;
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


}  // namespace

// ---- the target, read once -------------------------------------------------------------

TargetColumn scan_target(const Table& t, std::string_view column) {
  const int64_t j = t.column_index(column);
  const int64_t n = t.num_rows();
  // Codes in order of first appearance, remapped to class order once the values are known.
  std::unordered_map<std::string_view, int32_t> code_of;
  std::vector<std::string_view> seen;
  std::vector<int32_t> first_codes(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const Cell& c = t.cell(r, j);
    if (c.missing) fail(t.where(r), 0, "missing value in target column " + quote_text(column));
    const auto [it, added] = code_of.try_emplace(c.text, static_cast<int32_t>(seen.size()));
    if (added) seen.push_back(c.text);
    first_codes[r] = it->second;
  }
  const size_t k = seen.size();
  std::vector<NumberParse> parsed(k);
  std::vector<double> numbers(k, 0.0);
  bool all_numbers = true;
  for (size_t v = 0; v < k; ++v) {
    parsed[v] = parse_number(seen[v], numbers[v]);
    all_numbers = all_numbers && parsed[v] == NumberParse::Number;
  }
  std::vector<int32_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    if (all_numbers && numbers[a] != numbers[b]) return numbers[a] < numbers[b];
    return seen[a] < seen[b];
  });
  TargetColumn y;
  y.name = std::string(column);
  std::vector<int32_t> rank(k);
  for (size_t i = 0; i < k; ++i) {
    rank[order[i]] = static_cast<int32_t>(i);
    y.values.emplace_back(seen[order[i]]);
    y.parsed.push_back(parsed[order[i]]);
    y.numbers.push_back(numbers[order[i]]);
  }
  y.codes.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) y.codes[r] = rank[first_codes[r]];
  return y;
}

Task infer_task(const Table& t, const TargetColumn& y, std::span<const int64_t> rows, const PreprocessOptions& o) {
  check_rows(t, rows);
  check_scan(t, y, y.name);
  if (!o.positive.empty()) {
    if (o.task && *o.task != Task::Binary)
      fail(t.source, 0, std::string("positive values make the task binary, not ") + task_name(*o.task));
    return Task::Binary;
  }
  if (o.task) return *o.task;
  std::vector<char> seen(y.values.size(), 0);
  int64_t distinct = 0, first_non_finite = -1;
  bool any_text = false, all_integers = true;
  for (int64_t r : rows) {
    const int32_t v = y.codes[r];
    if (seen[v]) continue;
    seen[v] = 1;
    ++distinct;
    switch (y.parsed[v]) {
      case NumberParse::Number:
        if (y.numbers[v] != std::trunc(y.numbers[v])) all_integers = false;
        break;
      case NumberParse::NonFinite:
        if (first_non_finite < 0) first_non_finite = r;
        break;
      case NumberParse::Text: any_text = true; break;
    }
  }
  if (any_text) return Task::Multiclass;  // fit() makes it Binary with two classes
  if (first_non_finite >= 0)
    fail(t.where(first_non_finite), 0, "target " + quote_text(y.name) + ": " + quote_text(y.values[y.codes[first_non_finite]]) +
                                           " is not a finite number");
  if (all_integers && distinct <= o.max_integer_classes) return Task::Multiclass;
  return Task::Regression;
}

// ---- fit -----------------------------------------------------------------------------

Preprocessor Preprocessor::fit(const Table& table, const PreprocessOptions& options) {
  return fit(table, all_rows(table), options);
}

Preprocessor Preprocessor::fit(const Table& t, std::span<const int64_t> rows, const PreprocessOptions& o) {
  if (!o.target.empty() && t.find_column(o.target) >= 0) return fit(t, rows, o, scan_target(t, o.target));
  return fit(t, rows, o, TargetColumn{});  // reports the missing or unknown target
}

Preprocessor Preprocessor::fit(const Table& t, std::span<const int64_t> rows, const PreprocessOptions& o,
                               const TargetColumn& y) {
  const std::string& src = t.source;
  if (o.target.empty()) fail(src, 0, "no target column given (columns: " + join_names(t.columns) + ")");
  const int64_t tcol = t.find_column(o.target);
  if (tcol < 0) fail(src, 0, "unknown target column " + quote_text(o.target) + " (columns: " + join_names(t.columns) + ")");
  if (rows.empty()) fail(src, 0, "no training rows to fit on (empty data set)");
  check_rows(t, rows);
  check_scan(t, y, o.target);
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
    if (kind == ColumnKind::Pixels) fail(src, 0, "column " + quote_text(name) + ": a table column cannot be pixels");
  }

  // Target: task and classes, from the scan.
  const std::string what = "target " + quote_text(o.target);
  p.task_ = infer_task(t, y, rows, o);
  if (p.task_ == Task::Regression) {
    for (int64_t r : rows) {  // every value must be a number that fits float32
      const int32_t v = y.codes[r];
      if (y.parsed[v] != NumberParse::Number) (void)cell_number(t, r, t.cell(r, tcol), what);
      if (!fits_float(y.numbers[v])) fail(t.where(r), 0, what + ": " + quote_text(y.values[v]) + " is too large for float32");
    }
    std::vector<float> values;
    values.reserve(rows.size());
    for (int64_t r : rows) values.push_back(static_cast<float>(y.numbers[y.codes[r]]));
    p.target_scaling_ = TargetScaling::fit(values);
  } else {
    std::vector<char> present(y.values.size(), 0);
    for (int64_t r : rows) present[y.codes[r]] = 1;
    p.target_values_ = class_order(y, present);
    const auto& values = p.target_values_;
    if (values.size() < 2)
      fail(src, 0, what + " has a single class " + quote_text(values[0]) + " in the training rows (need at least 2)");
    if (!o.positive.empty()) {
      const std::set<std::string> pos(o.positive.begin(), o.positive.end());
      const std::set<std::string> distinct(values.begin(), values.end());
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

TargetScaling TargetScaling::fit(std::span<const float> values) {
  if (values.empty()) throw DataError("target scaling: no target values");
  double sum = 0;
  for (float v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  double ss = 0;
  for (float v : values) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / static_cast<double>(values.size()));
  if (!std::isfinite(mean) || !std::isfinite(sd)) throw DataError("target scaling: the target values are not finite");
  // A constant target (or one too narrow for float32 to tell apart) is only centred.
  return {mean, sd > 1e-12 * std::max(1.0, std::abs(mean)) ? sd : 1.0};
}

Preprocessor Preprocessor::fit_images(const Dataset& train, std::vector<int64_t> image_shape, bool standardize) {
  int64_t pixels = 1;
  for (int64_t s : image_shape) pixels *= s;
  if (image_shape.empty() || train.size() == 0 || train.num_features() != pixels || !train.is_classification())
    throw DataError("fit_images: expected labelled images of " + std::to_string(pixels) + " pixels, got " +
                    std::to_string(train.size()) + " rows of " + std::to_string(train.num_features()));
  // One mean and standard deviation over every pixel of every training image (double sums
  // of the float pixels; a floor on the variance so that a blank set scales by 1e-6, not 0).
  double center = 0, scale = 1;
  if (standardize) {
    double sum = 0, sq = 0;
    const int64_t n = train.x.numel();
    for (int64_t i = 0; i < n; ++i) {
      sum += train.x[i];
      sq += static_cast<double>(train.x[i]) * train.x[i];
    }
    center = sum / static_cast<double>(n);
    scale = std::sqrt(std::max(sq / static_cast<double>(n) - center * center, 1e-12));
  }
  Preprocessor p;
  p.target_ = "label";
  p.task_ = train.task;
  p.standardize_ = standardize;
  FeatureColumn fc;
  fc.name = "px";
  fc.kind = ColumnKind::Pixels;
  fc.center = center;
  fc.scale = scale;
  fc.shape = std::move(image_shape);
  p.columns_.push_back(std::move(fc));
  p.target_values_ = train.class_names;
  p.finish();
  return p;
}

void Preprocessor::finish() {
  feature_names_.clear();
  for (const FeatureColumn& fc : columns_) {
    if (fc.kind == ColumnKind::Numeric) {
      feature_names_.push_back(fc.name);
    } else if (fc.kind == ColumnKind::Categorical) {
      for (const std::string& v : fc.categories) feature_names_.push_back(fc.name + "=" + v);
    } else {
      int64_t pixels = 1;
      for (int64_t s : fc.shape) pixels *= s;
      for (int64_t i = 0; i < pixels; ++i) feature_names_.push_back(fc.name + std::to_string(i));
    }
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

Dataset Preprocessor::transform(const Table& table) const { return transform(table, all_rows(table)); }

Dataset Preprocessor::transform(const Table& t, std::span<const int64_t> rows) const {
  (void)feature_columns(t);  // a missing feature column is reported before a missing target
  if (t.find_column(target_) < 0)
    fail(t.source, 0, "target column " + quote_text(target_) + " is missing (columns: " + join_names(t.columns) + ")");
  const TargetColumn y = scan_target(t, target_);
  return encode(t, rows, &y);
}

Dataset Preprocessor::transform(const Table& t, std::span<const int64_t> rows, const TargetColumn& target) const {
  return encode(t, rows, &target);
}

Tensor Preprocessor::transform_features(const Table& table) const { return encode(table, all_rows(table), nullptr).x; }

std::vector<int64_t> Preprocessor::feature_columns(const Table& t) const {
  if (!fitted()) throw DataError("preprocessor is not fitted");
  if (images()) fail(t.source, 0, "the preprocessor encodes images, not a table (the model was trained on images)");
  std::vector<int64_t> src_col(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    src_col[c] = t.find_column(columns_[c].name);
    if (src_col[c] < 0)
      fail(t.source, 0, "column " + quote_text(columns_[c].name) + " used in training is missing (columns: " +
                            join_names(t.columns) + ")");
  }
  return src_col;
}

Dataset Preprocessor::encode(const Table& t, std::span<const int64_t> rows, const TargetColumn* y) const {
  const std::vector<int64_t> src_col = feature_columns(t);
  check_rows(t, rows);
  // Labels of the scan's values (-1: a class training never saw), looked up once per value.
  std::vector<int32_t> label_of_value;
  if (y) {
    check_scan(t, *y, target_);
    if (is_classification()) {
      label_of_value.assign(y->values.size(), -1);
      for (size_t v = 0; v < y->values.size(); ++v) {
        const auto it = label_of_.find(y->values[v]);
        if (it != label_of_.end()) label_of_value[v] = it->second;
      }
    }
  }

  const auto m = static_cast<int64_t>(rows.size());
  const int64_t d = num_features();
  Dataset ds;
  ds.task = task_;
  ds.feature_names = feature_names_;
  ds.class_names = class_names_;
  ds.x = Tensor({m, d});  // zero-filled: indicators start at 0
  if (y) {
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
    if (!y) continue;
    const int32_t v = y->codes[r];
    if (is_classification()) {
      if (label_of_value[v] < 0)
        fail(t.where(r), 0, target_what + ": class " + quote_text(y->values[v]) + " was not seen in training (known classes: " +
                                join_names(target_values_) + ")");
      ds.labels[i] = label_of_value[v];
    } else {
      if (y->parsed[v] != NumberParse::Number) (void)cell_number(t, r, t.cell(r, t.find_column(target_)), target_what);
      if (!fits_float(y->numbers[v])) fail(t.where(r), 0, target_what + ": " + quote_text(y->values[v]) + " is too large for float32");
      ds.targets[i] = static_cast<float>(y->numbers[v]);
    }
  }
  if (y) ds.validate(t.source);
  return ds;
}

void Preprocessor::transform_images(Dataset& d) const {
  if (!fitted()) throw DataError("preprocessor is not fitted");
  if (!images()) throw DataError("the preprocessor encodes a table's columns, not images (the model was trained on a CSV file)");
  if (d.num_features() != num_features())
    throw DataError("the images have " + std::to_string(d.num_features()) + " pixels; the preprocessor was fitted on " +
                    std::to_string(num_features()));
  if (d.class_names != target_values_)
    throw DataError("the images' classes (" + join_names(d.class_names) + ") are not the preprocessor's (" +
                    join_names(target_values_) + ")");
  const FeatureColumn& fc = columns_.front();
  d.task = task_;
  d.feature_names = feature_names_;
  d.class_names = class_names_;
  if (fc.center == 0.0 && fc.scale == 1.0) return;
  // x <- (x - center) / scale in float32, as a multiplication by the reciprocal.
  const float c = static_cast<float>(fc.center), inv = static_cast<float>(1.0 / fc.scale);
  float* x = d.x.data();
  for (int64_t i = 0; i < d.x.numel(); ++i) x[i] = (x[i] - c) * inv;
}

}  // namespace bp::data
