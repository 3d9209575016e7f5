// Where training and evaluation data come from, as the command line names it:
//   fashion-mnist[:DIR]   the default data set (IDX files from Debian's dataset-fashion-mnist):
//                         its own train (60000) and test (10000) parts
//   PATH.csv              a CSV file: target column, ignored columns, positive classes; a
//                         seeded, stratified held-out test part (test_fraction)
// Preprocessing is fitted on the training part only and returned as JSON, so a model file
// keeps it and new data is encoded exactly as the training data was.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/data.hpp"

namespace bp::app {

struct DataSpec {
  std::string source = "fashion-mnist";
  std::string target;                  // CSV target column (default: the last column)
  std::vector<std::string> ignore;     // CSV columns that are not features
  std::vector<std::string> positive;   // target values that form the positive class
  std::string view;                    // a named binary view (LETTER.P1, LETTER.P2)
  std::string task;                    // "" (inferred), regression, binary, multiclass
  double test_fraction = 0.2;          // CSV: held out for testing
  uint64_t split_seed = 1;
  bool standardize = true;

  bool is_fashion_mnist() const;
  nlohmann::json to_json() const;
  static DataSpec from_json(const nlohmann::json& j);
};

struct Prepared {
  data::Dataset train, test;      // test is empty when test_fraction is 0
  nlohmann::json preprocessing;   // applied again by load_with()
  Shape input_shape;              // one example's shape
  std::string description;        // for logs: "fashion-mnist: 60000 train, 10000 test, 784 features, 10 classes"
};

// The preprocessing options the spec asks for on this table (target defaults to the last
// column; a named view sets the positive values and, for LETTER, the target column).
data::PreprocessOptions preprocess_options(const DataSpec& spec, const data::Table& table);

// Reads the source and fits the preprocessing on its training part.
Prepared prepare(const DataSpec& spec);

// The part ("test", "train" or "all") of the data named by `spec`, encoded with a saved
// model's preprocessing. The test and train parts are the same rows training used.
data::Dataset load_with(const DataSpec& spec, const nlohmann::json& preprocessing, const std::string& part);

// Features only (a CSV may lack the target column), for prediction; every row of the source.
Tensor load_features(const DataSpec& spec, const nlohmann::json& preprocessing);

}  // namespace bp::app
