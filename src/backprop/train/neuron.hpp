// Training the lecture's single neurons: Rosenblatt's perceptron (its own rule, fed by the
// same train::Batches as every other model) and logistic regression (a one-output network
// trained by train::fit).
#pragma once

#include <cstdint>
#include <vector>

#include "backprop/nn/models.hpp"
#include "backprop/train/fit.hpp"

namespace bp::train {

struct PerceptronOptions {
  int max_epochs = 100;
  float lr = 1.f;             // η
  uint64_t shuffle_seed = 0;  // 0: examples in order every epoch; else a seeded order per epoch
};

struct PerceptronResult {
  bool converged = false;  // an epoch without mistakes happened
  int epochs = 0;          // epochs run
  int64_t mistakes_last_epoch = 0;
};

// Rosenblatt's rule, one example at a time: for each misclassified example
// (y·(w·x + b) <= 0): w ← w + η·y·x, b ← b + η·y. Stops after the first epoch without a
// mistake (converged) or after max_epochs (not separable, or not yet). x (n, features);
// y in {−1, +1} (0 is read as −1).
PerceptronResult fit_perceptron(nn::Perceptron& p, const Tensor& x, const std::vector<int>& y,
                                const PerceptronOptions& o = {});

struct LogisticOptions {
  int epochs = 200;
  float lr = 0.1f;
  int64_t batch_size = 0;  // 0: full batch
  float l2 = 0.f;          // weight decay of the SGD step
  uint64_t seed = 1;       // order of the mini-batches
};

// Gradient descent (SGD, no momentum) on the mean cross-entropy of σ(w·x + b) against y in
// {0, 1} (any y > 0 is read as 1), through train::fit. history.back().train.loss is the
// last epoch's mean training loss.
FitResult fit_logistic(nn::LogisticRegression& m, const Tensor& x, const std::vector<int>& y,
                       const LogisticOptions& o = {});

}  // namespace bp::train
