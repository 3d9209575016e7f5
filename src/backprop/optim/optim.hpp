// Optimizers. Each keeps its state in flat buffers parallel to the flat parameter buffer
// (optim/flat.hpp), so a step is one fused loop over all parameters. The update rules follow
// PyTorch's definitions exactly (tests compare the first steps against PyTorch).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backprop/optim/flat.hpp"

namespace bp::optim {

class Optimizer {
 public:
  Optimizer(const std::vector<Var>& params, float lr);
  virtual ~Optimizer() = default;
  // Applies one update from the accumulated gradients.
  void step();
  void zero_grad() { flat_.zero_grad(); }
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  int64_t steps() const { return t_; }
  // For checkpoints: the state besides the parameters, as named buffers parallel to the flat
  // parameters (moments, momentum; none for plain SGD), and the step count (Adam's bias
  // corrections and SGD's first-step buffer depend on it). Restoring both, with the
  // parameters, continues the run exactly.
  virtual std::vector<std::pair<std::string, std::vector<float>*>> state_buffers() { return {}; }
  void set_steps(int64_t t) { t_ = t; }
  // The flat parameter and gradient buffers (for clip_grad_norm and checkpoints).
  const FlatParameters& flat() const { return flat_; }
  virtual std::string name() const = 0;

 protected:
  virtual void update(float* p, const float* g, int64_t n) = 0;
  std::vector<float> state_buffer() const { return std::vector<float>(static_cast<size_t>(flat_.size), 0.f); }
  FlatParameters flat_;
  float lr_;
  int64_t t_ = 0;  // number of steps taken, counting this one inside update()
};

// Gradient descent with optional (heavy-ball or Nesterov) momentum and L2 weight decay.
// One example at a time, mini-batch or full batch is the caller's choice of batch size.
//   g ← g + λp;  b ← μb + g (b = g at the first step);  g ← g + μb (Nesterov) or b;  p ← p − ηg
struct SGDOptions {
  float lr = 0.01f;
  float momentum = 0.f;
  bool nesterov = false;
  float weight_decay = 0.f;
};
class SGD : public Optimizer {
 public:
  SGD(const std::vector<Var>& params, SGDOptions o);
  std::string name() const override { return nesterov_ ? "nesterov" : (momentum_ > 0 ? "momentum" : "sgd"); }
  std::vector<std::pair<std::string, std::vector<float>*>> state_buffers() override {
    if (buf_.empty()) return {};
    return {{"momentum_buffer", &buf_}};
  }

 protected:
  void update(float* p, const float* g, int64_t n) override;

 private:
  float momentum_, wd_;
  bool nesterov_;
  std::vector<float> buf_;
};

// s ← s + g²;  p ← p − η g / (√s + ε)
struct AdagradOptions {
  float lr = 0.01f;
  float eps = 1e-10f;
  float weight_decay = 0.f;
};
class Adagrad : public Optimizer {
 public:
  Adagrad(const std::vector<Var>& params, AdagradOptions o);
  std::string name() const override { return "adagrad"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state_buffers() override { return {{"sum", &sum_}}; }

 protected:
  void update(float* p, const float* g, int64_t n) override;

 private:
  float eps_, wd_;
  std::vector<float> sum_;
};

// v ← αv + (1−α)g²;  p ← p − η g / (√v + ε)   (with momentum: b ← μb + g/(√v+ε), p ← p − ηb)
struct RMSpropOptions {
  float lr = 0.01f;
  float alpha = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
  float momentum = 0.f;
};
class RMSprop : public Optimizer {
 public:
  RMSprop(const std::vector<Var>& params, RMSpropOptions o);
  std::string name() const override { return "rmsprop"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state_buffers() override {
    if (buf_.empty()) return {{"square_avg", &sq_}};
    return {{"square_avg", &sq_}, {"momentum_buffer", &buf_}};
  }

 protected:
  void update(float* p, const float* g, int64_t n) override;

 private:
  float alpha_, eps_, wd_, momentum_;
  std::vector<float> sq_, buf_;
};

// m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  p ← p − η (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
// Adam adds weight decay to the gradient (L2); AdamW decays the weights directly:
// p ← p(1 − ηλ) before the Adam step.
struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
};
class Adam : public Optimizer {
 public:
  Adam(const std::vector<Var>& params, AdamOptions o, bool decoupled_weight_decay = false);
  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state_buffers() override {
    return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}};
  }

 protected:
  void update(float* p, const float* g, int64_t n) override;

 private:
  float b1_, b2_, eps_, wd_;
  bool decoupled_;
  std::vector<float> m_, v_;
};
class AdamW : public Adam {
 public:
  AdamW(const std::vector<Var>& params, AdamOptions o) : Adam(params, o, true) {}
};

// ---- learning-rate schedules: the rate for an epoch, from the base rate.
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual float lr(float base_lr, int epoch) const = 0;
};
class ConstantLR : public Schedule {
 public:
  float lr(float base_lr, int) const override { return base_lr; }
};
// η·γ^⌊epoch/step⌋
class StepLR : public Schedule {
 public:
  StepLR(int step_size, float gamma);
  float lr(float base_lr, int epoch) const override;

 private:
  int step_;
  float gamma_;
};
// η_min + (η − η_min)(1 + cos(π·epoch/T))/2  (PyTorch's CosineAnnealingLR, closed form) for
// epoch <= T; after T the rate stays at η_min, where PyTorch's would rise again.
class CosineLR : public Schedule {
 public:
  CosineLR(int t_max, float eta_min = 0.f);
  float lr(float base_lr, int epoch) const override;

 private:
  int t_max_;
  float eta_min_;
};

// Options a user can name on the command line or in a config, in one place.
struct OptimizerSpec {
  std::string name = "adam";  // sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw
  float lr = 1e-3f;
  float momentum = 0.9f;      // for momentum / nesterov ("rmsprop" has none, PyTorch's default)
  float weight_decay = 0.f;
};
// Throws std::invalid_argument naming the choices for an unknown name, or the bad value
// (the constructors check theirs: lr > 0, momentum and betas in [0, 1), eps and weight decay >= 0).
std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, const std::vector<Var>& params);
// "constant", "step:SIZE:GAMMA", "cosine" (over `epochs`); throws std::invalid_argument
// naming the spec and the choices.
std::unique_ptr<Schedule> make_schedule(const std::string& spec, int epochs);

}  // namespace bp::optim
