// The `quantize` workflow: a saved network converted to bfloat16 or int8 weights
// (nn::QuantizedNet), written as a model file that `evaluate` and `predict` use directly
// (docs/performance.md, "Quantized inference"). int8 calibrates each layer's input range on a
// seeded sample of the rows the model was trained on (its training part, found as `evaluate`
// finds the data), or of another file given.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace bp::pipeline {

struct QuantizeOptions {
  std::string model;             // the float model file
  std::string output;            // the quantized model file, written atomically
  std::string to;                // "bf16" or "int8"
  int64_t calibration_rows = 1000;  // int8: rows sampled (all, if the data has fewer)
  double percentile = 100.0;     // int8: each layer's input range, from the (100−p)-th to the p-th percentile
  std::string calibration_data;  // int8: sample this file's rows instead of the training data
  uint64_t seed = 0;             // the sample's seed
};

struct QuantizeResult {
  std::string dtype;
  int64_t calibration_rows = 0;   // int8: rows the ranges were taken from
  std::string calibration_source; // int8: where they came from
  int64_t weight_bytes = 0;       // packed weights streamed per example, quantized
  int64_t float_weight_bytes = 0; // the same for the float network's linear and convolution weights
};

// UsageError: an unknown --to, a model that cannot be quantized (a tree or other learner, a
// character language model, an already quantized one, a network with layers the quantized
// form does not take), bad calibration settings, an output that names an input.
// DataError: calibration data that cannot be found or read. ModelFileError: a bad model file.
QuantizeResult quantize_model(const QuantizeOptions& o);

}  // namespace bp::pipeline
