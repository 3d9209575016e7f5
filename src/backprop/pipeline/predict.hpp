// The `predict` workflow: a saved model's predictions (and class probabilities) as CSV.
//   regression:      row,prediction
//   classification:  row,prediction,p_<class 0>,p_<class 1>,…   (a binary model's calibrator applied)
// Fields are quoted as RFC 4180 says where a class name needs it.
#pragma once

#include <cstdint>
#include <string>

#include "backprop/data/source.hpp"

namespace bp::pipeline {

struct PredictOptions {
  std::string model;           // the model file
  data::DataSpec data;          // the rows to predict (a CSV may lack the target column)
  std::string output = "-";    // the CSV file, written atomically; "-": returned in `csv`
};

struct PredictResult {
  int64_t rows = 0;
  std::string csv;  // the whole table when output is "-", else empty
};

PredictResult predict_to_csv(const PredictOptions& o);

}  // namespace bp::pipeline
