// The data sets inside the learner fixtures (tests/fixtures/learners/fixture_data.py writes them):
// a training and a test part, float32 matrices and 0/1 labels.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/learners/tree.hpp"

namespace bp::learners::testing {

struct Part {
  std::vector<float> X;
  std::vector<int32_t> y;
  int64_t n = 0, d = 0;
  MatrixView view() const { return {X.data(), n, d}; }
  TrainSet set(int K = 2) const {
    TrainSet t;
    t.X = view();
    t.y = y.data();
    t.n_classes = K;
    return t;
  }
};

inline Part part(const nlohmann::json& ds, const char* x, const char* y) {
  Part p;
  for (const auto& row : ds.at(x)) {
    p.d = static_cast<int64_t>(row.size());
    for (const auto& v : row) p.X.push_back(v.get<float>());
  }
  p.y = ds.at(y).get<std::vector<int32_t>>();
  p.n = static_cast<int64_t>(p.y.size());
  return p;
}
inline Part train_part(const nlohmann::json& ds) { return part(ds, "X_train", "y_train"); }
inline Part test_part(const nlohmann::json& ds) { return part(ds, "X_test", "y_test"); }

}  // namespace bp::learners::testing
