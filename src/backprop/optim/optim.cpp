#include "backprop/optim/optim.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "backprop/backend/backend.hpp"

namespace bp::optim {

namespace {

std::string num(float v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

void require(bool ok, const std::string& what, float got) {
  if (!ok) throw std::invalid_argument(what + ", got " + num(got));
}

// The updates run over blocks of this many parameters: the square roots of a block go to a
// small buffer that stays in L1 (see backend::vsqrt for why they are taken separately).
constexpr int64_t kBlock = 256;

// Calls body(start, length) for the blocks of [0, n), split across the backend's threads when
// the work (`arrays` floats read or written per parameter) pays for it (backend::parallel_worth).
// Every parameter's update is independent of the others: the result is the same on any count.
template <class F>
void for_blocks(int64_t n, int64_t arrays, F body) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  backend::parallel_for(blocks, n * arrays, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i) body(i * kBlock, std::min(kBlock, n - i * kBlock));
  });
}

}  // namespace

Optimizer::Optimizer(const std::vector<Var>& params, float lr) : lr_(lr) {
  for (const Var& p : params)
    if (!p.requires_grad()) throw std::invalid_argument("optimizer given a parameter that does not require a gradient");
  require(lr > 0.f && std::isfinite(lr), "learning rate must be a positive number", lr);
  flat_ = flatten(params);
}

void Optimizer::step() {
  ++t_;
  update(flat_.value_data(), flat_.grad_data(), flat_.size);
}

// ---- SGD
SGD::SGD(const std::vector<Var>& params, SGDOptions o)
    : Optimizer(params, o.lr), momentum_(o.momentum), wd_(o.weight_decay), nesterov_(o.nesterov) {
  require(momentum_ >= 0.f && momentum_ < 1.f, "momentum must be in [0, 1)", momentum_);
  if (nesterov_ && momentum_ <= 0.f) throw std::invalid_argument("Nesterov momentum needs momentum > 0");
  require(wd_ >= 0.f && std::isfinite(wd_), "weight decay must be >= 0", wd_);
  if (momentum_ > 0.f) buf_ = state_buffer();
}

// One block of each update, its coefficients passed by value: the compiler then keeps them in
// registers (a lambda capturing them by reference made it reload them after every store,
// as a float store might alias them; that cost Adam a third of its speed).
namespace {

struct SGDCoef {
  float lr, wd, mu, keep;  // keep: μ, or 0 at the first step (the buffer starts as the gradient)
};

void sgd_block(float* p, const float* g, int64_t len, SGDCoef c) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) p[i] -= c.lr * (g[i] + c.wd * p[i]);
}

void momentum_block(float* p, const float* g, float* b, int64_t len, SGDCoef c) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    b[i] = c.keep * b[i] + (g[i] + c.wd * p[i]);
    p[i] -= c.lr * b[i];
  }
}

void nesterov_block(float* p, const float* g, float* b, int64_t len, SGDCoef c) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    const float gi = g[i] + c.wd * p[i];
    b[i] = c.keep * b[i] + gi;
    p[i] -= c.lr * (gi + c.mu * b[i]);
  }
}

}  // namespace

void SGD::update(float* p, const float* g, int64_t n) {
  const SGDCoef c{lr_, wd_, momentum_, t_ == 1 ? 0.f : momentum_};
  float* buf = buf_.data();
  if (momentum_ == 0.f) for_blocks(n, 3, [=](int64_t s, int64_t len) { sgd_block(p + s, g + s, len, c); });
  else if (nesterov_) for_blocks(n, 5, [=](int64_t s, int64_t len) { nesterov_block(p + s, g + s, buf + s, len, c); });
  else for_blocks(n, 5, [=](int64_t s, int64_t len) { momentum_block(p + s, g + s, buf + s, len, c); });
}

// ---- Adagrad
Adagrad::Adagrad(const std::vector<Var>& params, AdagradOptions o)
    : Optimizer(params, o.lr), eps_(o.eps), wd_(o.weight_decay), sum_(state_buffer()) {
  require(eps_ >= 0.f, "Adagrad eps must be >= 0", eps_);
  require(wd_ >= 0.f && std::isfinite(wd_), "weight decay must be >= 0", wd_);
}

namespace {
void adagrad_block(float* p, const float* g, float* sum, int64_t len, float lr, float eps, float wd) {
  alignas(64) float root[kBlock];
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    const float gi = g[i] + wd * p[i];
    sum[i] += gi * gi;
  }
  backend::vsqrt(sum, root, len);
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) p[i] -= lr * (g[i] + wd * p[i]) / (root[i] + eps);
}
}  // namespace

void Adagrad::update(float* p, const float* g, int64_t n) {
  const float lr = lr_, eps = eps_, wd = wd_;
  float* sum = sum_.data();
  for_blocks(n, 4, [=](int64_t s, int64_t len) { adagrad_block(p + s, g + s, sum + s, len, lr, eps, wd); });
}

// ---- RMSprop
RMSprop::RMSprop(const std::vector<Var>& params, RMSpropOptions o)
    : Optimizer(params, o.lr), alpha_(o.alpha), eps_(o.eps), wd_(o.weight_decay), momentum_(o.momentum), sq_(state_buffer()) {
  require(alpha_ >= 0.f && alpha_ < 1.f, "RMSprop alpha must be in [0, 1)", alpha_);
  require(eps_ >= 0.f, "RMSprop eps must be >= 0", eps_);
  require(momentum_ >= 0.f && momentum_ < 1.f, "momentum must be in [0, 1)", momentum_);
  require(wd_ >= 0.f && std::isfinite(wd_), "weight decay must be >= 0", wd_);
  if (momentum_ > 0.f) buf_ = state_buffer();
}

namespace {
struct RMSpropCoef {
  float lr, alpha, eps, wd, mu;
};
// b is null without momentum.
void rmsprop_block(float* p, const float* g, float* sq, float* b, int64_t len, RMSpropCoef c) {
  alignas(64) float root[kBlock];
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    const float gi = g[i] + c.wd * p[i];
    sq[i] = c.alpha * sq[i] + (1.f - c.alpha) * gi * gi;
  }
  backend::vsqrt(sq, root, len);
  if (b) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) {
      b[i] = c.mu * b[i] + (g[i] + c.wd * p[i]) / (root[i] + c.eps);
      p[i] -= c.lr * b[i];
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) p[i] -= c.lr * (g[i] + c.wd * p[i]) / (root[i] + c.eps);
  }
}
}  // namespace

void RMSprop::update(float* p, const float* g, int64_t n) {
  const RMSpropCoef c{lr_, alpha_, eps_, wd_, momentum_};
  float* sq = sq_.data();
  float* buf = momentum_ > 0.f ? buf_.data() : nullptr;
  for_blocks(n, buf ? 6 : 4,
             [=](int64_t s, int64_t len) { rmsprop_block(p + s, g + s, sq + s, buf ? buf + s : nullptr, len, c); });
}

// ---- Adam / AdamW
Adam::Adam(const std::vector<Var>& params, AdamOptions o, bool decoupled)
    : Optimizer(params, o.lr), b1_(o.beta1), b2_(o.beta2), eps_(o.eps), wd_(o.weight_decay), decoupled_(decoupled),
      m_(state_buffer()), v_(state_buffer()) {
  require(b1_ >= 0.f && b1_ < 1.f, "Adam beta1 must be in [0, 1)", b1_);
  require(b2_ >= 0.f && b2_ < 1.f, "Adam beta2 must be in [0, 1)", b2_);
  require(eps_ >= 0.f, "Adam eps must be >= 0", eps_);
  require(wd_ >= 0.f && std::isfinite(wd_), "weight decay must be >= 0", wd_);
}

namespace {
struct AdamCoef {
  float b1, b2, eps, l2, decay, step, bc2_sqrt;
};
void adam_block(float* p, const float* g, float* m, float* v, int64_t len, AdamCoef c) {
  alignas(64) float root[kBlock];
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) {
    const float gi = g[i] + c.l2 * p[i];
    m[i] = c.b1 * m[i] + (1.f - c.b1) * gi;
    v[i] = c.b2 * v[i] + (1.f - c.b2) * gi * gi;
  }
  backend::vsqrt(v, root, len);
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) p[i] = p[i] * c.decay - c.step * m[i] / (root[i] / c.bc2_sqrt + c.eps);
}
}  // namespace

void Adam::update(float* p, const float* g, int64_t n) {
  // The bias corrections in double, as PyTorch computes them in Python.
  const double t = static_cast<double>(t_);
  const double bc1 = 1.0 - std::pow(static_cast<double>(b1_), t);
  AdamCoef c;
  c.b1 = b1_;
  c.b2 = b2_;
  c.eps = eps_;
  c.l2 = decoupled_ ? 0.f : wd_;
  c.decay = decoupled_ ? 1.f - lr_ * wd_ : 1.f;  // AdamW: p ← p(1 − ηλ) first
  c.step = static_cast<float>(static_cast<double>(lr_) / bc1);  // p −= (η/bc1)·m / (√v/√bc2 + ε)
  c.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2_), t)));
  float* m = m_.data();
  float* v = v_.data();
  for_blocks(n, 7, [=](int64_t s, int64_t len) { adam_block(p + s, g + s, m + s, v + s, len, c); });
}

// ---- schedules
StepLR::StepLR(int step_size, float gamma) : step_(step_size), gamma_(gamma) {
  if (step_size <= 0)
    throw std::invalid_argument("step schedule: step size must be a positive number of epochs, got " +
                                std::to_string(step_size));
  require(gamma > 0.f && std::isfinite(gamma), "step schedule: gamma must be a positive number", gamma);
}
float StepLR::lr(float base_lr, int epoch) const {
  return base_lr * static_cast<float>(std::pow(static_cast<double>(gamma_), epoch / step_));
}

CosineLR::CosineLR(int t_max, float eta_min) : t_max_(t_max), eta_min_(eta_min) {
  if (t_max <= 0) throw std::invalid_argument("cosine schedule: period must be positive, got " + std::to_string(t_max));
  require(eta_min >= 0.f && std::isfinite(eta_min), "cosine schedule: minimum rate must be >= 0", eta_min);
}
float CosineLR::lr(float base_lr, int epoch) const {
  const double c = (1.0 + std::cos(M_PI * std::min(epoch, t_max_) / t_max_)) / 2.0;
  return static_cast<float>(eta_min_ + (base_lr - eta_min_) * c);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& s, const std::vector<Var>& params) {
  static const char* kNames[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"};
  if (std::find(std::begin(kNames), std::end(kNames), s.name) == std::end(kNames))
    throw std::invalid_argument("unknown optimizer '" + s.name +
                                "' (choose sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)");
  require(s.weight_decay >= 0.f && std::isfinite(s.weight_decay), "weight decay must be >= 0", s.weight_decay);
  if (s.name == "sgd") return std::make_unique<SGD>(params, SGDOptions{s.lr, 0.f, false, s.weight_decay});
  if (s.name == "momentum") return std::make_unique<SGD>(params, SGDOptions{s.lr, s.momentum, false, s.weight_decay});
  if (s.name == "nesterov") return std::make_unique<SGD>(params, SGDOptions{s.lr, s.momentum, true, s.weight_decay});
  if (s.name == "adagrad") return std::make_unique<Adagrad>(params, AdagradOptions{s.lr, 1e-10f, s.weight_decay});
  if (s.name == "rmsprop") return std::make_unique<RMSprop>(params, RMSpropOptions{s.lr, 0.99f, 1e-8f, s.weight_decay, 0.f});
  if (s.name == "adam") return std::make_unique<Adam>(params, AdamOptions{s.lr, 0.9f, 0.999f, 1e-8f, s.weight_decay});
  return std::make_unique<AdamW>(params, AdamOptions{s.lr, 0.9f, 0.999f, 1e-8f, s.weight_decay});
}

std::unique_ptr<Schedule> make_schedule(const std::string& spec, int epochs) {
  if (spec == "constant" || spec.empty()) return std::make_unique<ConstantLR>();
  if (spec == "cosine") return std::make_unique<CosineLR>(std::max(epochs, 1));
  if (spec.rfind("step:", 0) == 0) {
    std::istringstream in(spec.substr(5));
    int size = 0;
    char colon = 0;
    float gamma = 0;
    if (in >> size >> colon >> gamma && colon == ':' && in.peek() == EOF) {
      try {
        return std::make_unique<StepLR>(size, gamma);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("schedule '" + spec + "': " + e.what());
      }
    }
  }
  throw std::invalid_argument("unknown schedule '" + spec + "' (choose constant, cosine, or step:SIZE:GAMMA e.g. step:5:0.5)");
}

}  // namespace bp::optim
