// Dataset: a feature matrix and its targets, ready for training. The readers (csv.hpp,
// idx.hpp) and the Preprocessor (preprocess.hpp) produce it; splits (split.hpp) index it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backprop/data/error.hpp"
#include "backprop/tensor/tensor.hpp"
#include "backprop/util/task.hpp"

namespace bp::data {

// The project's one Task (util/task.hpp: its names, to and from text), named here for the
// data module's users.
using Task = ::bp::Task;

struct Dataset {
  Task task = Task::Regression;
  Tensor x;                                 // (n, d) float32 features, all finite
  std::vector<std::string> feature_names;   // d names ("Motor=A" for an indicator column)
  // Classification (Binary, Multiclass): labels[i] in [0, class_names.size()).
  // Binary: class 1 is the positive class.
  std::vector<int32_t> labels;              // (n)
  std::vector<std::string> class_names;
  // Regression: the target values.
  Tensor targets;                           // (n, 1) float32, all finite

  int64_t size() const { return x.defined() ? x.dim(0) : 0; }  // number of rows
  int64_t num_features() const { return x.defined() ? x.dim(1) : 0; }
  int num_classes() const { return static_cast<int>(class_names.size()); }
  bool is_classification() const { return task != Task::Regression; }

  // The rows `rows` (in that order, repeats allowed) as a new Dataset (copies).
  // An index outside [0, size()) is a DataError.
  Dataset subset(std::span<const int64_t> rows) const;

  // Checks the invariants above (shapes agree, features and targets finite, labels in
  // range, Binary has two classes); DataError naming `source` and the first bad row.
  void validate(std::string_view source = "dataset") const;
};

}  // namespace bp::data
