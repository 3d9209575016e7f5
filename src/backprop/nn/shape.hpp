// Layers that change only how each example is viewed, never its values: (N, ...) -> (N, ...').
#pragma once

#include "backprop/nn/module.hpp"

namespace bp::nn {

// Views each example as `shape`: (N, ...) -> (N, shape...), e.g. flat 784-feature rows as
// (1, 28, 28) images. No copy.
class Reshape : public Module {
 public:
  explicit Reshape(Shape shape);
  Var forward(const Var& x) override;
  nlohmann::json config() const override { return {{"type", type()}, {"shape", shape_}}; }
  std::string type() const override { return "reshape"; }

 private:
  Shape shape_;
};

// Reshapes (batch, ...) to (batch, features): from feature maps to linear layers. No copy.
class Flatten : public Module {
 public:
  Var forward(const Var& x) override;
  nlohmann::json config() const override { return {{"type", type()}}; }
  std::string type() const override { return "flatten"; }
};

}  // namespace bp::nn
