#include "backprop/optim/clip.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace bp::optim {

namespace {

void check(float max_norm) {
  if (!(max_norm > 0.f) || !std::isfinite(max_norm))
    throw std::invalid_argument("gradient clipping: max_norm must be a positive number, got " + std::to_string(max_norm));
}

// The factor the gradients are scaled by (1: leave them), from their total squared norm.
float factor(double sq, float max_norm, float& total) {
  total = static_cast<float>(std::sqrt(sq));
  if (!std::isfinite(total)) return 1.f;
  const double coef = static_cast<double>(max_norm) / (static_cast<double>(total) + 1e-6);
  return coef < 1.0 ? static_cast<float>(coef) : 1.f;
}

double sum_squares(const float* g, int64_t n) {
  double s = 0;  // double: the sum runs over every parameter of the model
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
  return s;
}

void scale(float* g, int64_t n, float f) {
  for (int64_t i = 0; i < n; ++i) g[i] *= f;
}

}  // namespace

float clip_grad_norm(const std::vector<Var>& params, float max_norm) {
  check(max_norm);
  double sq = 0;
  for (const Var& p : params)
    if (p.defined() && p.grad().defined()) sq += sum_squares(p.grad().data(), p.grad().numel());
  float total;
  const float f = factor(sq, max_norm, total);
  if (f < 1.f)
    for (Var p : params)
      if (p.defined() && p.grad().defined()) scale(p.grad().data(), p.grad().numel(), f);
  return total;
}

float clip_grad_norm(Optimizer& opt, float max_norm) {
  check(max_norm);
  const FlatParameters& flat = opt.flat();
  float total;
  const float f = factor(sum_squares(flat.grad_data(), flat.size), max_norm, total);
  if (f < 1.f) scale(flat.grad_data(), flat.size, f);
  return total;
}

}  // namespace bp::optim
