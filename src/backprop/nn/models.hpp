// The lecture's models as library types: Rosenblatt's perceptron, logistic regression (one
// neuron), and the multilayer perceptron for regression, binary and multi-class tasks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backprop/nn/module.hpp"
#include "backprop/util/task.hpp"

namespace bp {

namespace nn {

// Rosenblatt's perceptron: ŷ = step(w·x + b) reported as ±1. Its learning rule (for each
// misclassified example: w ← w + η·y·x, b ← b + η·y) is train::fit_perceptron; it converges
// iff the data are linearly separable (Novikoff), otherwise it cycles and reports failure.
class Perceptron {
 public:
  explicit Perceptron(int64_t features);
  // w·x + b for each row: (n)
  std::vector<float> margin(const Tensor& x) const;
  // ±1 for each row
  std::vector<int> predict(const Tensor& x) const;
  int64_t features() const { return static_cast<int64_t>(weights.size()); }
  std::vector<float> weights;  // (features)
  float bias = 0.f;
};

// One sigmoid neuron: P(y=1|x) = σ(w·x + b) — the lecture's "single neuron", a one-output
// Linear layer trained on mean cross-entropy by train::fit_logistic (which runs train::fit).
// The weights start at zero: the convex problem needs no symmetry breaking.
class LogisticRegression {
 public:
  explicit LogisticRegression(int64_t features);
  std::vector<float> predict_proba(const Tensor& x) const;
  Linear& layer() { return linear_; }

 private:
  Rng rng_;
  Linear linear_;
};

struct MLPConfig {
  int64_t inputs = 0;
  std::vector<int64_t> hidden;      // sizes of the hidden layers
  std::vector<Act> activations;     // one per hidden layer, or a single one for all
  int64_t outputs = 1;              // classes (multi-class), 1 (binary), targets (regression)
  Task task = Task::Multiclass;
  uint64_t seed = 42;
  // Hidden layers' initialisation; unset: He for ReLU-family units, Glorot otherwise.
  // The output layer is always Glorot.
  std::optional<Init> init;
};

// Linear → activation → … → Linear. forward() returns the raw outputs (logits for the
// classification tasks); the loss and the output activation come from the task.
std::unique_ptr<Sequential> make_mlp(const MLPConfig& c);

}  // namespace nn
}  // namespace bp
