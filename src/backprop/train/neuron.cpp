#include "backprop/train/neuron.hpp"

#include <string>

#include "backprop/train/batches.hpp"

namespace bp::train {

namespace {
void check_rows(const Tensor& x, size_t n_labels, int64_t features, const char* who) {
  if (x.ndim() != 2 || x.dim(1) != features)
    throw ShapeError(std::string(who) + ": expected inputs (n, " + std::to_string(features) + "), got " + shape_str(x.shape()));
  if (static_cast<int64_t>(n_labels) != x.dim(0))
    throw ShapeError(std::string(who) + ": " + std::to_string(n_labels) + " labels for " + std::to_string(x.dim(0)) + " rows");
}
}  // namespace

// How the rule fits the one loop: it is stochastic gradient descent (batch size 1, step η)
// on the perceptron criterion max(0, −y·(w·x + b)), whose gradient at a mistake is
// −y·(x, 1). But the criterion is not differentiable at y·(w·x + b) = 0, and there the rule
// takes the step anyway (a subgradient of 0 would leave the all-zero start where it is);
// and its stopping test, an epoch without mistakes, is not a loss value. So the update is
// written out here instead of going through train::fit's autograd step and optimizer; the
// examples come from the same Batches as fit's, in order or shuffled per (seed, epoch).
PerceptronResult fit_perceptron(nn::Perceptron& p, const Tensor& x, const std::vector<int>& y,
                                const PerceptronOptions& o) {
  const int64_t d = p.features();
  check_rows(x, y.size(), d, "perceptron");
  Batches batches(x.dim(0), 1, o.shuffle_seed, /*shuffle=*/o.shuffle_seed != 0);
  PerceptronResult r;
  for (int e = 0; e < o.max_epochs; ++e) {
    batches.start_epoch(e);
    int64_t mistakes = 0;
    for (auto rows = batches.next(); !rows.empty(); rows = batches.next()) {
      const int64_t i = rows[0];
      const float* xi = x.data() + i * d;
      const float yi = y[static_cast<size_t>(i)] > 0 ? 1.f : -1.f;
      float z = p.bias;
      for (int64_t j = 0; j < d; ++j) z += p.weights[j] * xi[j];
      if (yi * z <= 0.f) {  // misclassified (or on the boundary): move the boundary towards xi
        for (int64_t j = 0; j < d; ++j) p.weights[j] += o.lr * yi * xi[j];
        p.bias += o.lr * yi;
        ++mistakes;
      }
    }
    r.epochs = e + 1;
    r.mistakes_last_epoch = mistakes;
    if (mistakes == 0) {
      r.converged = true;
      break;
    }
  }
  return r;
}

FitResult fit_logistic(nn::LogisticRegression& m, const Tensor& x, const std::vector<int>& y,
                       const LogisticOptions& o) {
  check_rows(x, y.size(), m.layer().in_features(), "logistic regression");
  if (x.dim(0) == 0) throw ShapeError("logistic regression: no training rows");
  Targets t;
  t.classes.reserve(y.size());
  for (int v : y) t.classes.push_back(v > 0 ? 1 : 0);
  optim::SGD opt(m.layer().parameters(), {.lr = o.lr, .weight_decay = o.l2});
  FitOptions fo;
  fo.epochs = o.epochs;
  fo.batch_size = o.batch_size;
  fo.seed = o.seed;
  return fit(m.layer(), Task::Binary, x, t, opt, fo);
}

}  // namespace bp::train
