// From raw data to numbers: the Preprocessor learns, from the TRAINING rows only, how the
// input becomes features and how the target becomes labels or values, then encodes any
// data of the same kind (validation, test, new data at prediction time) into a Dataset with
// exactly the same encoding. One fitted object and one JSON schema (preprocess_json.cpp,
// docs/data.md) for every data kind: a table (CSV) or images (IDX, Fashion-MNIST).
//
// Table columns. Every column except the target and the ignored ones is a feature column:
//  * numeric when every non-missing training value is a number (number.hpp; "nan", "inf",
//    "1e999" are errors naming the cell, never numbers); missing values become the
//    training mean; with `standardize` (default) the output is (value - mean) / std with
//    the training mean and population std (std 0 → 1);
//  * categorical otherwise: one 0/1 indicator column per value seen in training, sorted
//    by byte order, named "column=value"; a missing value gives all indicators 0;
//    a value never seen in training is a DataError at transform time (so that a model
//    never silently predicts from an all-zero encoding of a typo), listing the known
//    values. A column that is mostly numbers with a few texts is an error too (most
//    likely a typo) unless its kind is declared in PreprocessOptions::kinds.
// A column whose kind is declared is held to it: text in a declared-numeric column is
// a DataError naming the cell.
//
// Images. One "pixels" column stands for every pixel of an image (values in [0, 1] as the
// IDX reader gives them): one mean and one standard deviation over all pixels of all
// training images, so that an image keeps its shape and its contrasts.
//
// Target. Read once per table (TargetColumn below). Classification when the training
// values contain text, or are all integers with at most `max_integer_classes` distinct
// values; otherwise regression (overridable with PreprocessOptions::task). Class names are
// the distinct training values, sorted (numerically when they are all numbers, else by byte
// order); label i is class_names[i]. Two classes → Binary, more → Multiclass. A missing
// target, or a class at transform time that training never saw, is a DataError.
// Regression targets: transform() keeps them in their own units; the fit also records their
// training mean and population std (TargetScaling, std 0 → 1) so that training can work on
// standardised targets (pipeline/training.cpp) and fold the inverse back into the network's
// output layer: predictions are always in the target's own units. `positive` turns any classification target into
// Binary: the listed values are class 1 ("positive"), every other training value class 0
// ("negative").
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
#include "backprop/data/number.hpp"

namespace bp::data {

enum class ColumnKind { Numeric, Categorical, Pixels };

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

// A regression target's standardisation for training: z = (y - center) / scale, fitted on
// the training rows (mean and population std, std 0 → 1). Identity ({0, 1}) for
// classification and for preprocessors saved before it existed.
struct TargetScaling {
  double center = 0, scale = 1;
  bool identity() const { return center == 0.0 && scale == 1.0; }
  double apply(double y) const { return (y - center) / scale; }
  double inverse(double z) const { return z * scale + center; }
  // Mean and population std of `values` (sums in double); DataError when empty or not finite.
  static TargetScaling fit(std::span<const float> values);
};

// How one input column becomes feature columns.
struct FeatureColumn {
  std::string name;  // column name in the CSV header; for pixels, the prefix of the feature names
  ColumnKind kind = ColumnKind::Numeric;
  // Numeric: a missing value becomes `impute` (the training mean), then the output is
  // (value - center) / scale. center/scale are the training mean/std with standardize,
  // 0/1 without. Pixels: every pixel becomes (value - center) / scale (no missing values).
  double impute = 0, center = 0, scale = 1;
  // Categorical: the training values in byte order; one indicator output per value.
  std::vector<std::string> categories;
  // Pixels: one image's shape, e.g. {28, 28}; its product of features named name0, name1, …
  // (row-major).
  std::vector<int64_t> shape;
};

// A table's target column read once: every distinct value, each row's value as a code,
// and each value as a number where it is one. Choosing the task, stratifying a split, fitting
// the class list and encoding the labels all work from it, never from the cells again.
struct TargetColumn {
  std::string name;                  // the column
  std::vector<std::string> values;   // distinct values over all rows, in class order
                                     // (numerically when all are numbers, else by byte order)
  std::vector<int32_t> codes;        // (rows of the table) index into `values`
  std::vector<NumberParse> parsed;   // per value: number, non-finite number or text
  std::vector<double> numbers;       // per value: the number where parsed is Number (else 0)
};

// Reads column `column` of every row. DataError for an unknown column or a missing value
// (naming the line).
TargetColumn scan_target(const Table& table, std::string_view column);

// Regression or classification, as Preprocessor::fit decides it from the target over
// `rows` (before splitting, e.g. to decide whether to stratify). A text target comes back
// Multiclass even with two classes: fit() makes those Binary once it has the class list.
// DataError as fit() would raise.
Task infer_task(const Table& table, const TargetColumn& target, std::span<const int64_t> rows,
                const PreprocessOptions& options);

class Preprocessor {
 public:
  Preprocessor() = default;

  // Fits on all rows of `table`, or on the rows `rows` only (the training split), reading
  // the target from `target` (scan_target(table, options.target)) or scanning it here.
  static Preprocessor fit(const Table& table, const PreprocessOptions& options);
  static Preprocessor fit(const Table& table, std::span<const int64_t> rows, const PreprocessOptions& options);
  static Preprocessor fit(const Table& table, std::span<const int64_t> rows, const PreprocessOptions& options,
                          const TargetColumn& target);

  // Fits the pixel standardisation on training images (x (n, prod(image_shape)) in [0, 1],
  // labels and class_names as load_fashion_mnist gives them): one mean and std over all
  // pixels with `standardize`, the identity without.
  static Preprocessor fit_images(const Dataset& train, std::vector<int64_t> image_shape, bool standardize);

  // Encodes all rows, or the rows `rows` (in that order), of a table that has (at least)
  // the training columns, in any order. Needs the target column; with `target` (the
  // table's scan_target) the labels come from that scan.
  Dataset transform(const Table& table) const;
  Dataset transform(const Table& table, std::span<const int64_t> rows) const;
  Dataset transform(const Table& table, std::span<const int64_t> rows, const TargetColumn& target) const;
  // Features only, for prediction: the target column may be absent. (n, num_features()).
  Tensor transform_features(const Table& table) const;
  // Standardises loaded images (x in [0, 1], as load_fashion_mnist gives them) in place.
  // An image preprocessor only; DataError if the images' size or classes differ from training's.
  void transform_images(Dataset& images) const;

  // Label of a target value (DataError if training never saw it).
  int32_t class_index(std::string_view value) const;

  bool fitted() const { return !columns_.empty(); }
  // True for an image preprocessor (one pixels column), false for a table's.
  bool images() const { return !columns_.empty() && columns_.front().kind == ColumnKind::Pixels; }
  Task task() const { return task_; }
  bool is_classification() const { return task_ != Task::Regression; }
  const std::string& target() const { return target_; }
  const std::vector<FeatureColumn>& columns() const { return columns_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  int64_t num_features() const { return static_cast<int64_t>(feature_names_.size()); }
  // Label names: the classes, or {"negative", "positive"} for a positive-class view.
  const std::vector<std::string>& class_names() const { return class_names_; }
  // Distinct target values seen in training (in class order; equal to class_names()
  // except for a positive-class view). For images, label i of the label file is value i.
  const std::vector<std::string>& target_values() const { return target_values_; }
  // The positive target values of a positive-class view (empty otherwise).
  const std::vector<std::string>& positive() const { return positive_; }
  const std::vector<std::string>& ignored() const { return ignored_; }
  bool standardize() const { return standardize_; }
  // Regression: the training target's mean and std (identity for classification and for
  // old preprocessor JSON without "target_scaling").
  const TargetScaling& target_scaling() const { return target_scaling_; }

  // Everything transform needs, as JSON (format "backprop.preprocessor", version 2).
  nlohmann::json to_json() const;
  // Inverse of to_json, validating every field; DataError "preprocessor json: ..." on bad
  // input. Also reads what earlier versions wrote: a version-1 preprocessor, and the
  // model-file forms {"kind": "csv", "preprocessor": {...}} and
  // {"kind": "fashion-mnist", "center": c, "scale": s}.
  static Preprocessor from_json(const nlohmann::json& j);

 private:
  std::vector<int64_t> feature_columns(const Table& table) const;  // index of each column in `table`
  Dataset encode(const Table& table, std::span<const int64_t> rows, const TargetColumn* target) const;
  void finish();  // derives feature_names_ and the lookup maps from the fields below

  std::string target_;
  Task task_ = Task::Regression;
  bool standardize_ = true;
  TargetScaling target_scaling_;
  std::vector<FeatureColumn> columns_;
  std::vector<std::string> ignored_;
  std::vector<std::string> target_values_;
  std::vector<std::string> positive_;
  // Derived.
  std::vector<std::string> class_names_;
  std::vector<std::string> feature_names_;
  std::map<std::string, int32_t, std::less<>> label_of_;  // target value → label
};

}  // namespace bp::data
