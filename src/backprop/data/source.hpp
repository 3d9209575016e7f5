// Where training and evaluation data come from, and their preparation in one pass:
// read the source, choose the target, read the target column once (the task, the stratified
// split and the labels all come from that one scan), fit the Preprocessor on the training
// rows, encode.
//
// Sources, as the command line names them:
//   fashion-mnist[:DIR]   the default data set (IDX files from Debian's dataset-fashion-mnist):
//                         its own train (60000) and test (10000) parts; pixels standardised
//                         by one mean and std over the training images
//   PATH.csv              a CSV file: target column, ignored columns, positive classes; a
//                         seeded held-out test part (test_fraction), stratified by class
// The fitted Preprocessor goes into the model file (as JSON, one schema for both kinds), so
// new data is encoded exactly as the training data was. Named problems (the study's
// LETTER.P1, …) are turned into a target and positive values by the caller
// (pipeline/problems.hpp) before preparation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "backprop/data/preprocess.hpp"

namespace bp::data {

struct DataSpec {
  std::string source = "fashion-mnist";
  std::string target;                  // CSV target column (default: the last column)
  std::vector<std::string> ignore;     // CSV columns that are not features
  std::vector<std::string> positive;   // target values that form the positive class
  std::string task;                    // "" (inferred) or a task name (util/task.hpp)
  double test_fraction = 0.2;          // CSV: held out for testing
  uint64_t split_seed = 1;
  bool standardize = true;
  CsvOptions csv;                      // CSV dialect: missing-value markers, spaces after separators
  bool drop_missing_target = false;    // CSV: drop rows without a target value (else a DataError)
  // The rule that cuts the held-out test part of a CSV:
  //   2 (this build): stratified by the labels the model learns (a positive view's two
  //     classes, not the target's raw values), exactly round(rows · test_fraction) test rows
  //     (StratifiedRounding::LargestRemainder);
  //   1: stratified by the target's raw values, rounded per value (StratifiedRounding::PerClass).
  //     A model file's description without "split_rule" was written by this rule; kept so that
  //     its test part is still the one its training held out.
  int split_rule = 2;

  bool is_fashion_mnist() const;
  nlohmann::json to_json() const;
  // Reads what to_json wrote; std::invalid_argument on bad JSON. The "view" field of
  // earlier model files is ignored: their preprocessor holds its target and positive values.
  // A description without "split_rule" is rule 1.
  static DataSpec from_json(const nlohmann::json& j);
};

// A file's identity, so that a model can recognise the file it was trained on wherever it now
// lives: its size and zlib's CRC-32 of its bytes as stored (a .csv.gz file's compressed bytes).
// CRC-32 tells files apart by accident only (two different files of one size collide with
// probability 2^-32); it is no defence against a file made to collide, which is not the job.
struct FileFingerprint {
  int64_t bytes = -1;  // -1: unknown (not recorded)
  uint32_t crc32 = 0;
  bool known() const { return bytes >= 0; }
  bool operator==(const FileFingerprint&) const = default;
  std::string crc32_hex() const;  // 8 lower-case hex digits
};

// The fingerprint of a file (one pass over it); DataError naming the file when it cannot be read.
FileFingerprint fingerprint_file(const std::string& path);

// What a model file records about the data it was trained on: the "data" object of its
// `backprop.extra` (docs/model-files.md, "The data description"). The spec's fields at the top
// level (as before), and:
//   "source_absolute"   spec.source made absolute where training ran
//   "target_column"     the target column as resolved (the last column when none was named)
//   "fingerprint"       {"bytes": N, "crc32": "8 hex"} of the CSV (absent for Fashion-MNIST)
//   "rows"              rows used (after dropping rows without a target)
//   "dropped_rows"      rows without a target that were dropped
//   "split"             {"rule", "seed", "test_fraction", "train_rows", "test_rows"}
// An old description has none of these: from_json leaves them unknown (-1, "").
struct DataRecord {
  DataSpec spec;
  std::string source_absolute;
  std::string target_column;
  FileFingerprint fingerprint;
  int64_t rows = -1, dropped_rows = 0, train_rows = -1, test_rows = -1;

  bool has_split() const { return train_rows >= 0 && test_rows >= 0; }
  nlohmann::json to_json() const;
  // std::invalid_argument on a malformed description.
  static DataRecord from_json(const nlohmann::json& j);
};

struct Prepared {
  Dataset train, test;         // test is empty when test_fraction is 0
  Preprocessor preprocessor;   // fitted on `train`; its to_json() goes into the model file
  Shape input_shape;           // one example's shape
  std::string description;     // for logs: "fashion-mnist: 60000 train, 10000 test, 784 features, 10 classes (multiclass)"
  DataRecord record;           // what the model file keeps about this data
};

// The preprocessing options the spec asks for on this table (the target defaults to the
// last column).
PreprocessOptions preprocess_options(const DataSpec& spec, const Table& table);

// Reads the source and fits the preprocessing on its training part. A CSV's rows without a
// target value are dropped with spec.drop_missing_target (counted in the description and the
// record), else a DataError names the first. With positive values (a binary view) a value
// matches a positive one when the texts are equal or both are numbers and equal ("1" and
// "1.0"); no matching row, or only matching rows, is a DataError. A test_fraction > 0 that
// leaves no test row is a DataError.
Prepared prepare(const DataSpec& spec);

// The part ("test", "train" or "all") of the data named by `spec`, encoded with a saved
// model's preprocessor (or its JSON, in any form Preprocessor::from_json reads). The test and
// train parts are the same rows training used when `spec` is the model's own description
// (its split rule, seed, fraction, positive values and dropping of rows without a target).
// In a positive view a target value that training never saw is still labelled: positive when
// it matches a positive value (as prepare matches them), negative otherwise.
Dataset load_with(const DataSpec& spec, const Preprocessor& preprocessor, std::string_view part);
Dataset load_with(const DataSpec& spec, const nlohmann::json& preprocessing, std::string_view part);

// A binary view's positive values as prepare resolves them for fitting: the distinct values of
// `rows` in the scan that match one of `positive` (equal texts, or both numbers and equal), in
// byte order. DataError naming the values when none of those rows matches.
std::vector<std::string> matching_positive_values(const TargetColumn& target, std::span<const int64_t> rows,
                                                  const std::vector<std::string>& positive);

// The scan with every value a positive-view preprocessor never saw in training replaced by a
// value it saw of the same class (positive when it matches `positive`, as above), so that
// transform labels it instead of refusing it; the scan itself for any other preprocessor.
TargetColumn labelled_for(const TargetColumn& target, const Preprocessor& preprocessor,
                          const std::vector<std::string>& positive);

// Features only (a CSV may lack the target column), for prediction: every row of a CSV
// source; the test part of Fashion-MNIST.
Tensor load_features(const DataSpec& spec, const nlohmann::json& preprocessing);

}  // namespace bp::data
