// Training and prediction on numbers already in memory (a feature matrix and a target vector),
// for callers without a CSV file: the Python module (python/, docs/python.md), a library user
// with a matrix. The model they produce is an ordinary model file: its preprocessing names one
// numeric column per feature ("x0", "x1", … unless named) that passes through unchanged, and
// the target "y", so `backprop predict --data rows.csv` reads a CSV with those columns, and a
// model `backprop train` wrote predicts from a matrix of its numeric input columns here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/dataset.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/training.hpp"

namespace bp::pipeline {

// The target column's name in the preprocessing of a model trained from arrays.
inline constexpr const char* kArrayTarget = "y";

// x (n, d) and y (n) as a Dataset; x is shared, not copied. Classification: every y an integer
// in [0, K), class names `class_names` (K of them) or "0" … "K-1" with K = max(y) + 1 (Binary:
// K = 2, class 1 positive); regression: y the target values. Feature names `feature_names`
// (d of them, distinct, none "y") or "x0" … . UsageError naming the first problem: x not 2-D or
// without rows, y of another length, a NaN or infinite value (its row and column), a label
// that is not an integer in range, fewer than two classes.
data::Dataset dataset_from_arrays(const Tensor& x, Task task, std::span<const double> y,
                                  std::vector<std::string> feature_names = {},
                                  std::vector<std::string> class_names = {});

// The preprocessing JSON (data::Preprocessor's) of a model trained on `d`: one numeric column
// per feature, impute = the training mean (what a CSV's missing cell becomes), center 0 and
// scale 1 (the network sees the values as given); a regression target's scaling recorded.
nlohmann::json array_preprocessing(const data::Dataset& d, const data::TargetScaling& target_scaling);

// How a model's rows go from a matrix to its network, read once from its preprocessing JSON:
// the raw input columns are the numeric columns of a table preprocessor, the pixels of an
// image one (name0 …), or the network's inputs when there is no preprocessing (null).
class ArrayInput {
 public:
  // DataError for preprocessing JSON that data::Preprocessor does not accept.
  explicit ArrayInput(const nlohmann::json& preprocessing);
  // The raw columns' names, in order (empty without preprocessing: any width).
  const std::vector<std::string>& names() const { return names_; }
  // The first categorical column ("" when none): such a model takes its encoded features only.
  const std::string& categorical() const { return categorical_; }
  // The encoded feature count (-1 without preprocessing).
  int64_t features() const { return features_; }
  // The network's input for rows x (n, d): every numeric column (x - center) / scale, pixels
  // likewise (in float32, times the reciprocal, as data::Preprocessor::transform_images does);
  // x itself (the same storage, no copy) when every column is the identity.
  // `encoded`: x holds the encoded features already and is returned as it is. UsageError for
  // a model with a categorical column (unless encoded), a column count that differs, or a NaN
  // or infinite value (its row and column: a missing value is refused, never imputed).
  Tensor encode(const Tensor& x, bool encoded = false) const;
  // The same from double values (row-major, `rows` rows): a transformed numeric column is
  // computed in double and rounded once, as the command line does from a CSV's text, so that a tree's
  // threshold sees the value `backprop predict` sees.
  Tensor encode(std::span<const double> x, int64_t rows, bool encoded = false) const;
  // Every column passes through unchanged (or there is no preprocessing).
  bool identity() const { return identity_ && categorical_.empty(); }

 private:
  std::vector<std::string> names_;
  // One raw column's encoded value, computed as the preprocessor computes it from a file.
  float value(double v, int64_t column) const;

  std::vector<double> center_, scale_;  // per raw column
  std::vector<char> pixels_;            // per raw column: part of an image (float32 arithmetic)
  std::string categorical_;
  int64_t features_ = -1;
  bool identity_ = true;
};

// The model file of a model trained by train_model on `d`: task, class names,
// array_preprocessing, and `extra` {"training": {...}} with what was trained.
io::ModelInfo array_model_info(const Trained& t, const data::Dataset& d, const TrainSpec& spec);

}  // namespace bp::pipeline
