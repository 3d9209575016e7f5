// Named architectures, as `backprop train --model NAME` and C++ users ask for them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backprop/nn/models.hpp"

namespace bp::nn {

struct ModelSpec {
  std::string name = "mlp";            // mlp, and the names listed by model_names()
  Shape input_shape;                   // one example's shape, e.g. {784} or {1, 28, 28}
  int64_t outputs = 1;                 // classes (multi-class), 1 (binary), targets (regression)
  Task task = Task::Multiclass;
  std::vector<int64_t> hidden{256, 128};  // MLP hidden sizes
  std::vector<Act> activations{Act::ReLU};
  uint64_t seed = 42;
  std::optional<Init> init;            // MLP hidden layers (unset: chosen by activation)
};

// Builds the named model; throws std::invalid_argument for an unknown name or a spec that
// does not fit it (listing the known names).
std::unique_ptr<Module> make_model(const ModelSpec& spec);
std::vector<std::string> model_names();

}  // namespace bp::nn
