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

  bool is_fashion_mnist() const;
  nlohmann::json to_json() const;
  // Reads what to_json wrote; std::invalid_argument on bad JSON. The "view" field of
  // earlier model files is ignored: their preprocessor holds its target and positive values.
  static DataSpec from_json(const nlohmann::json& j);
};

struct Prepared {
  Dataset train, test;         // test is empty when test_fraction is 0
  Preprocessor preprocessor;   // fitted on `train`; its to_json() goes into the model file
  Shape input_shape;           // one example's shape
  std::string description;     // for logs: "fashion-mnist: 60000 train, 10000 test, 784 features, 10 classes (multiclass)"
};

// The preprocessing options the spec asks for on this table (the target defaults to the
// last column).
PreprocessOptions preprocess_options(const DataSpec& spec, const Table& table);

// Reads the source and fits the preprocessing on its training part.
Prepared prepare(const DataSpec& spec);

// The part ("test", "train" or "all") of the data named by `spec`, encoded with a saved
// model's preprocessor (or its JSON, in any form Preprocessor::from_json reads). The test and
// train parts are the same rows training used.
Dataset load_with(const DataSpec& spec, const Preprocessor& preprocessor, std::string_view part);
Dataset load_with(const DataSpec& spec, const nlohmann::json& preprocessing, std::string_view part);

// Features only (a CSV may lack the target column), for prediction: every row of a CSV
// source; the test part of Fashion-MNIST.
Tensor load_features(const DataSpec& spec, const nlohmann::json& preprocessing);

}  // namespace bp::data
