#include "backprop/optim/optim.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace bp::optim {

Optimizer::Optimizer(const std::vector<Var>& params, float lr) : flat_(nn::flatten(params)), lr_(lr) {
  for (const Var& p : params)
    if (!p.requires_grad()) throw std::invalid_argument("optimizer given a parameter that does not require a gradient");
  if (!(lr > 0.f) || !std::isfinite(lr)) throw std::invalid_argument("learning rate must be a positive number");
}

void Optimizer::step() {
  ++t_;
  update(flat_.value_data(), flat_.grad_data(), flat_.size);
}

// ---- SGD
SGD::SGD(const std::vector<Var>& params, SGDOptions o)
    : Optimizer(params, o.lr), momentum_(o.momentum), wd_(o.weight_decay), nesterov_(o.nesterov) {
  if (momentum_ < 0.f || momentum_ >= 1.f) throw std::invalid_argument("momentum must be in [0, 1)");
  if (nesterov_ && momentum_ <= 0.f) throw std::invalid_argument("Nesterov momentum needs momentum > 0");
  if (momentum_ > 0.f) buf_ = state_buffer();
}

void SGD::update(float* p, const float* g, int64_t n) {
  const float lr = lr_, mu = momentum_, wd = wd_;
  if (mu == 0.f) {
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  float* b = buf_.data();
  const bool first = t_ == 1;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd * p[i];
    b[i] = first ? gi : mu * b[i] + gi;
    p[i] -= lr * (nesterov_ ? gi + mu * b[i] : b[i]);
  }
}

// ---- Adagrad
Adagrad::Adagrad(const std::vector<Var>& params, AdagradOptions o)
    : Optimizer(params, o.lr), eps_(o.eps), wd_(o.weight_decay), sum_(state_buffer()) {}

void Adagrad::update(float* p, const float* g, int64_t n) {
  float* s = sum_.data();
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd_ * p[i];
    s[i] += gi * gi;
    p[i] -= lr_ * gi / (std::sqrt(s[i]) + eps_);
  }
}

// ---- RMSprop
RMSprop::RMSprop(const std::vector<Var>& params, RMSpropOptions o)
    : Optimizer(params, o.lr), alpha_(o.alpha), eps_(o.eps), wd_(o.weight_decay), momentum_(o.momentum), sq_(state_buffer()) {
  if (momentum_ > 0.f) buf_ = state_buffer();
}

void RMSprop::update(float* p, const float* g, int64_t n) {
  float* v = sq_.data();
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd_ * p[i];
    v[i] = alpha_ * v[i] + (1.f - alpha_) * gi * gi;
    const float step = gi / (std::sqrt(v[i]) + eps_);
    if (momentum_ > 0.f) {
      buf_[i] = momentum_ * buf_[i] + step;
      p[i] -= lr_ * buf_[i];
    } else {
      p[i] -= lr_ * step;
    }
  }
}

// ---- Adam / AdamW
Adam::Adam(const std::vector<Var>& params, AdamOptions o, bool decoupled)
    : Optimizer(params, o.lr), b1_(o.beta1), b2_(o.beta2), eps_(o.eps), wd_(o.weight_decay), decoupled_(decoupled),
      m_(state_buffer()), v_(state_buffer()) {
  if (b1_ < 0.f || b1_ >= 1.f || b2_ < 0.f || b2_ >= 1.f) throw std::invalid_argument("Adam betas must be in [0, 1)");
}

void Adam::update(float* p, const float* g, int64_t n) {
  const double t = static_cast<double>(t_);
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1_), t));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2_), t)));
  const float step = lr_ / bc1;  // as PyTorch: p −= (η/bc1)·m / (√v/√bc2 + ε)
  const float b1 = b1_, b2 = b2_, eps = eps_;
  const float l2 = decoupled_ ? 0.f : wd_;
  const float decay = decoupled_ ? 1.f - lr_ * wd_ : 1.f;
  float* m = m_.data();
  float* v = v_.data();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + l2 * p[i];
    m[i] = b1 * m[i] + (1.f - b1) * gi;
    v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
    p[i] = p[i] * decay - step * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

// ---- schedules
StepLR::StepLR(int step_size, float gamma) : step_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw std::invalid_argument("step schedule: step size must be positive");
  if (!(gamma > 0.f)) throw std::invalid_argument("step schedule: gamma must be positive");
}
float StepLR::lr(float base_lr, int epoch) const {
  return base_lr * static_cast<float>(std::pow(static_cast<double>(gamma_), epoch / step_));
}

CosineLR::CosineLR(int t_max, float eta_min) : t_max_(t_max), eta_min_(eta_min) {
  if (t_max <= 0) throw std::invalid_argument("cosine schedule: period must be positive");
}
float CosineLR::lr(float base_lr, int epoch) const {
  const double c = (1.0 + std::cos(M_PI * std::min(epoch, t_max_) / t_max_)) / 2.0;
  return static_cast<float>(eta_min_ + (base_lr - eta_min_) * c);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& s, const std::vector<Var>& params) {
  if (!(s.weight_decay >= 0.f)) throw std::invalid_argument("weight decay must be >= 0");
  if (s.name == "sgd") return std::make_unique<SGD>(params, SGDOptions{s.lr, 0.f, false, s.weight_decay});
  if (s.name == "momentum") return std::make_unique<SGD>(params, SGDOptions{s.lr, s.momentum, false, s.weight_decay});
  if (s.name == "nesterov") return std::make_unique<SGD>(params, SGDOptions{s.lr, s.momentum, true, s.weight_decay});
  if (s.name == "adagrad") return std::make_unique<Adagrad>(params, AdagradOptions{s.lr, 1e-10f, s.weight_decay});
  if (s.name == "rmsprop") return std::make_unique<RMSprop>(params, RMSpropOptions{s.lr, 0.99f, 1e-8f, s.weight_decay, 0.f});
  if (s.name == "adam") return std::make_unique<Adam>(params, AdamOptions{s.lr, 0.9f, 0.999f, 1e-8f, s.weight_decay});
  if (s.name == "adamw") return std::make_unique<AdamW>(params, AdamOptions{s.lr, 0.9f, 0.999f, 1e-8f, s.weight_decay});
  throw std::invalid_argument("unknown optimizer '" + s.name + "' (choose sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)");
}

std::unique_ptr<Schedule> make_schedule(const std::string& spec, int epochs) {
  if (spec == "constant" || spec.empty()) return std::make_unique<ConstantLR>();
  if (spec == "cosine") return std::make_unique<CosineLR>(std::max(epochs, 1));
  if (spec.rfind("step:", 0) == 0) {
    std::istringstream in(spec.substr(5));
    int size = 0;
    char colon = 0;
    float gamma = 0;
    if (in >> size >> colon >> gamma && colon == ':' && in.peek() == EOF) return std::make_unique<StepLR>(size, gamma);
  }
  throw std::invalid_argument("unknown schedule '" + spec + "' (choose constant, cosine, or step:SIZE:GAMMA e.g. step:5:0.5)");
}

}  // namespace bp::optim
