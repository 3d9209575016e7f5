#include "backprop/nn/models.hpp"

#include <numeric>
#include <stdexcept>

#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"

namespace bp {

namespace nn {

namespace {
void check_rows(const Tensor& x, size_t n_labels, int64_t features, const char* who) {
  if (x.ndim() != 2 || x.dim(1) != features)
    throw ShapeError(std::string(who) + ": expected inputs (n, " + std::to_string(features) + "), got " + shape_str(x.shape()));
  if (static_cast<int64_t>(n_labels) != x.dim(0))
    throw ShapeError(std::string(who) + ": " + std::to_string(n_labels) + " labels for " + std::to_string(x.dim(0)) + " rows");
}

std::vector<int64_t> shuffled(int64_t n, Rng& rng) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  rng.shuffle(idx);
  return idx;
}
}  // namespace

// ---- Perceptron
Perceptron::Perceptron(int64_t features) : weights(static_cast<size_t>(features), 0.f) {}

Perceptron::FitResult Perceptron::fit(const Tensor& x, const std::vector<int>& y, int max_epochs, float lr,
                                      uint64_t shuffle_seed) {
  const int64_t d = static_cast<int64_t>(weights.size());
  check_rows(x, y.size(), d, "perceptron");
  const int64_t n = x.dim(0);
  FitResult r;
  Rng rng(shuffle_seed);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (int e = 0; e < max_epochs; ++e) {
    if (shuffle_seed) order = shuffled(n, rng);
    int64_t mistakes = 0;
    for (int64_t i : order) {
      const float* xi = x.data() + i * d;
      const float yi = y[i] > 0 ? 1.f : -1.f;
      float z = bias;
      for (int64_t j = 0; j < d; ++j) z += weights[j] * xi[j];
      if (yi * z <= 0.f) {  // misclassified (or on the boundary): move the boundary towards xi
        for (int64_t j = 0; j < d; ++j) weights[j] += lr * yi * xi[j];
        bias += lr * yi;
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

std::vector<float> Perceptron::margin(const Tensor& x) const {
  const int64_t d = static_cast<int64_t>(weights.size());
  if (x.ndim() != 2 || x.dim(1) != d)
    throw ShapeError("perceptron: expected inputs (n, " + std::to_string(d) + "), got " + shape_str(x.shape()));
  std::vector<float> m(static_cast<size_t>(x.dim(0)));
  for (int64_t i = 0; i < x.dim(0); ++i) {
    float z = bias;
    for (int64_t j = 0; j < d; ++j) z += weights[j] * x[i * d + j];
    m[i] = z;
  }
  return m;
}

std::vector<int> Perceptron::predict(const Tensor& x) const {
  std::vector<int> out;
  for (float z : margin(x)) out.push_back(z >= 0.f ? 1 : -1);
  return out;
}

// ---- Logistic regression
LogisticRegression::LogisticRegression(int64_t features) : rng_(1), linear_(features, 1, true, Init::Glorot, rng_) {
  linear_.weight.value().zero();  // the convex problem needs no symmetry breaking
}

float LogisticRegression::fit(const Tensor& x, const std::vector<int>& y, const Options& o) {
  check_rows(x, y.size(), linear_.in_features(), "logistic regression");
  const int64_t n = x.dim(0);
  if (n == 0) throw ShapeError("logistic regression: no training rows");
  Tensor t({n, 1});
  for (int64_t i = 0; i < n; ++i) t[i] = y[i] > 0 ? 1.f : 0.f;
  optim::SGD opt(linear_.parameters(), {o.lr, 0.f, false, o.l2});
  const int64_t bs = o.batch_size > 0 ? std::min(o.batch_size, n) : n;
  Rng rng(o.seed);
  float last = 0;
  for (int e = 0; e < o.epochs; ++e) {
    std::vector<int64_t> order = bs < n ? shuffled(n, rng) : std::vector<int64_t>();
    double total = 0;
    for (int64_t s = 0; s < n; s += bs) {
      const int64_t b = std::min(bs, n - s);
      Var xb, tb;
      if (bs == n) {
        xb = Var(x);
        tb = Var(t);
      } else {
        xb = Var(gather_rows(x, order.data() + s, b));
        tb = Var(gather_rows(t, order.data() + s, b));
      }
      opt.zero_grad();
      Var loss = ops::bce_with_logits(linear_.forward(xb), tb);
      loss.backward();
      opt.step();
      total += loss.item() * static_cast<double>(b);
    }
    last = static_cast<float>(total / static_cast<double>(n));
  }
  return last;
}

std::vector<float> LogisticRegression::predict_proba(const Tensor& x) const {
  autograd::NoGradGuard ng;
  auto& self = const_cast<Linear&>(linear_);
  Tensor p = ops::sigmoid(self.forward(Var(x))).value();
  return p.to_vector();
}

// ---- MLP
std::unique_ptr<Sequential> make_mlp(const MLPConfig& c) {
  if (c.inputs <= 0) throw std::invalid_argument("MLP needs at least one input feature");
  if (c.outputs <= 0) throw std::invalid_argument("MLP needs at least one output");
  if (!c.activations.empty() && c.activations.size() != 1 && c.activations.size() != c.hidden.size())
    throw std::invalid_argument("MLP: give one activation, or one per hidden layer (" + std::to_string(c.hidden.size()) + ")");
  if (c.task == Task::Binary && c.outputs != 1) throw std::invalid_argument("a binary MLP has exactly one output");
  Rng rng(c.seed);
  auto net = std::make_unique<Sequential>();
  int64_t prev = c.inputs;
  for (size_t i = 0; i < c.hidden.size(); ++i) {
    const Act a = c.activations.empty() ? Act::ReLU : c.activations[c.activations.size() == 1 ? 0 : i];
    net->emplace<Linear>(prev, c.hidden[i], true, c.init.value_or(default_init(a)), rng);
    net->emplace<Activation>(a);
    prev = c.hidden[i];
  }
  net->emplace<Linear>(prev, c.outputs, true, Init::Glorot, rng);
  return net;
}

}  // namespace nn
}  // namespace bp
