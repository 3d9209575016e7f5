// Small helpers shared by the tests.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "backprop/tensor/tensor.hpp"

namespace bp::testing {

// Uniform values in [lo, hi); with `min_abs` > 0, values are kept at least that far from 0
// (away from the kinks of ReLU and the step function).
inline Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f, float min_abs = 0.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v;
    do v = u(rng);
    while (std::fabs(v) < min_abs);
    t[i] = v;
  }
  return t;
}

inline std::string source_path(const std::string& rel) { return std::string(BACKPROP_SOURCE_DIR) + "/" + rel; }
inline std::string shared_data(const std::string& name) {
  return std::string(BACKPROP_SOURCE_DIR) + "/../shared/data/" + name;
}

}  // namespace bp::testing
