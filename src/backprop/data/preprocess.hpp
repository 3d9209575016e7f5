// From a raw Table (csv.hpp) to numbers: the Preprocessor learns, from the TRAINING rows
// only, how each column becomes features and how the target becomes labels or values,
// then turns any table with the same columns (validation, test, new data at prediction
// time) into a Dataset with exactly the same encoding.
//
// Columns. Every column except the target and the ignored ones is a feature column:
//  * numeric when every non-missing training value is a number (quoted or not, spaces
//    around allowed; "nan", "inf", "1e999" are errors naming the cell, never numbers);
//    missing values become the training mean; with `standardize` (default) the output is
//    (value - mean) / std with the training mean and population std (std 0 → 1);
//  * categorical otherwise: one 0/1 indicator column per value seen in training, sorted
//    by byte order, named "column=value"; a missing value gives all indicators 0;
//    a value never seen in training is a DataError at transform time (so that a model
//    never silently predicts from an all-zero encoding of a typo), listing the known
//    values. A column that is mostly numbers with a few texts is an error too (most
//    likely a typo) unless its kind is declared in PreprocessOptions::kinds.
// A column whose kind is declared is held to it: text in a declared-numeric column is
// a DataError naming the cell.
//
// Target. Classification when the training values contain text, or are all integers
// with at most `max_integer_classes` distinct values; otherwise regression (overridable
// with PreprocessOptions::task). Class names are the distinct training values, sorted
// (numerically when they are all numbers, else by byte order); label i is class_names[i].
// Two classes → Binary, more → Multiclass. A missing target, or a class at transform
// time that training never saw, is a DataError. Regression targets are kept unscaled.
// `positive` turns any classification target into Binary: the listed values are class 1
// ("positive"), every other training value class 0 ("negative").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backprop/data/csv.hpp"
#include "backprop/data/dataset.hpp"
#include "backprop/data/error.hpp"

namespace bp::data {

enum class ColumnKind { Numeric, Categorical };

struct PreprocessOptions {
  std::string target;                       // name of the target column (required)
  std::vector<std::string> ignore;          // columns that are neither feature nor target (e.g. "Id")
  std::optional<Task> task;                 // unset: inferred (see above)
  std::vector<std::string> positive;        // non-empty: binary view, these target values are class 1
  std::map<std::string, ColumnKind> kinds;  // declared kinds of some feature columns (others inferred)
  bool standardize = true;                  // numeric features: (x - mean) / std
  int max_integer_classes = 10;             // integer targets with more distinct values → regression
  int max_categories = 256;                 // a categorical column with more values is an error
};

// How one input column becomes feature columns.
struct FeatureColumn {
  std::string name;  // column name in the CSV header
  ColumnKind kind = ColumnKind::Numeric;
  // Numeric: a missing value becomes `impute` (the training mean), then the output is
  // (value - center) / scale. center/scale are the training mean/std with standardize,
  // 0/1 without.
  double impute = 0, center = 0, scale = 1;
  // Categorical: the training values in byte order; one indicator output per value.
  std::vector<std::string> categories;
};

class Preprocessor {
 public:
  Preprocessor() = default;

  // Fits on all rows of `table`, or on the rows `rows` only (the training split).
  static Preprocessor fit(const Table& table, const PreprocessOptions& options);
  static Preprocessor fit(const Table& table, std::span<const int64_t> rows, const PreprocessOptions& options);

  // Encodes all rows, or the rows `rows` (in that order), of a table that has (at least)
  // the training columns, in any order. Needs the target column.
  Dataset transform(const Table& table) const;
  Dataset transform(const Table& table, std::span<const int64_t> rows) const;
  // Features only, for prediction: the target column may be absent. (n, num_features()).
  Tensor transform_features(const Table& table) const;

  // Label of a target value (DataError if training never saw it).
  int32_t class_index(std::string_view value) const;

  bool fitted() const { return !columns_.empty(); }
  Task task() const { return task_; }
  bool is_classification() const { return task_ != Task::Regression; }
  const std::string& target() const { return target_; }
  const std::vector<FeatureColumn>& columns() const { return columns_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  int64_t num_features() const { return static_cast<int64_t>(feature_names_.size()); }
  // Label names: the classes, or {"negative", "positive"} for a positive-class view.
  const std::vector<std::string>& class_names() const { return class_names_; }
  // Distinct target values seen in training (in class order; equal to class_names()
  // except for a positive-class view).
  const std::vector<std::string>& target_values() const { return target_values_; }
  // The positive target values of a positive-class view (empty otherwise).
  const std::vector<std::string>& positive() const { return positive_; }
  const std::vector<std::string>& ignored() const { return ignored_; }
  bool standardize() const { return standardize_; }

  // Everything transform needs, as JSON (format "backprop.preprocessor", version 1).
  nlohmann::json to_json() const;
  // Inverse of to_json, validating every field; DataError "preprocessor json: ..." on bad input.
  static Preprocessor from_json(const nlohmann::json& j);

 private:
  Dataset encode(const Table& table, std::span<const int64_t> rows, bool with_target) const;
  void finish();  // derives feature_names_ and the lookup maps from the fields below

  std::string target_;
  Task task_ = Task::Regression;
  bool standardize_ = true;
  std::vector<FeatureColumn> columns_;
  std::vector<std::string> ignored_;
  std::vector<std::string> target_values_;
  std::vector<std::string> positive_;
  // Derived.
  std::vector<std::string> class_names_;
  std::vector<std::string> feature_names_;
  std::map<std::string, int32_t, std::less<>> label_of_;  // target value → label
};

// Sorted distinct values of column `column` in `rows` (all rows if empty) and each row's
// index into them: integer codes for stratifying a split before any preprocessing.
// Ordering as for class names; a missing value is a DataError.
// Regression or classification, as fit() would decide it from the target column over
// `rows` (before splitting, e.g. to decide whether to stratify). A text target comes back
// Multiclass even with two classes: fit() makes those Binary once it has the class list.
// DataError as fit() would raise.
Task infer_task(const Table& table, std::span<const int64_t> rows, const PreprocessOptions& options);

struct LabelCodes {
  std::vector<std::string> values;
  std::vector<int32_t> codes;  // one per row
};
LabelCodes label_codes(const Table& table, std::string_view column);

// The named binary views of the study (Caruana & Niculescu-Mizil 2006) on
// LetterRecognition.csv (target column "lettr"): "LETTER.P1" → {"O"} (O against the
// rest, ~3 % positive) and "LETTER.P2" → {"A", ..., "M"} (A–M against N–Z, ~50 %).
// Returns the positive set; the name is matched ignoring case; DataError for others.
std::vector<std::string> binary_view_by_name(std::string_view name);
std::vector<std::string> binary_view_names();

// Parsing of one numeric cell, shared by the Preprocessor (exposed for tests).
enum class NumberParse { Number, NonFinite, Text };
// Trims spaces/tabs, accepts one leading '+', parses with std::from_chars (locale-free,
// no hex). NonFinite: nan/inf or an overflowing number (1e999); underflow gives 0.
NumberParse parse_number(std::string_view text, double& value);

}  // namespace bp::data
