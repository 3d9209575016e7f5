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

// Rosenblatt's perceptron: ŷ = step(w·x + b) reported as ±1. Learning rule, for each
// misclassified example (y·(w·x + b) <= 0): w ← w + η·y·x, b ← b + η·y. It converges iff the
// data are linearly separable (Novikoff); otherwise it cycles and fit() reports failure.
class Perceptron {
 public:
  explicit Perceptron(int64_t features);
  struct FitResult {
    bool converged = false;  // an epoch without mistakes happened
    int epochs = 0;          // epochs run
    int64_t mistakes_last_epoch = 0;
  };
  // x (n, features); y in {−1, +1} (0 is read as −1). Visits examples in order, or in a
  // seeded shuffled order per epoch when shuffle_seed != 0.
  FitResult fit(const Tensor& x, const std::vector<int>& y, int max_epochs = 100, float lr = 1.f,
                uint64_t shuffle_seed = 0);
  // w·x + b for each row: (n)
  std::vector<float> margin(const Tensor& x) const;
  // ±1 for each row
  std::vector<int> predict(const Tensor& x) const;
  std::vector<float> weights;  // (features)
  float bias = 0.f;
};

// One sigmoid neuron: P(y=1|x) = σ(w·x + b), trained on mean cross-entropy by gradient
// descent (full batch by default, or mini-batches) — the lecture's "single neuron".
class LogisticRegression {
 public:
  explicit LogisticRegression(int64_t features);
  struct Options {
    int epochs = 200;
    float lr = 0.1f;
    int64_t batch_size = 0;  // 0: full batch
    float l2 = 0.f;
    uint64_t seed = 1;
  };
  // x (n, features), y in {0, 1}. Returns the final training loss.
  float fit(const Tensor& x, const std::vector<int>& y, const Options& o);
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
