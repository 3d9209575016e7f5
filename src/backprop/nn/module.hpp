// Modules: layers built from ops, with their parameters. A module's forward needs no
// backward code: the ops it calls record their own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/autograd/var.hpp"
#include "backprop/util/rng.hpp"

namespace bp::nn {

class Module {
 public:
  virtual ~Module() = default;
  virtual Var forward(const Var& x) = 0;
  Var operator()(const Var& x) { return forward(x); }
  // Trainable parameters of this module and its children, in a fixed order (model files and
  // optimizers rely on the order).
  virtual std::vector<Var> parameters() { return {}; }
  // Names parallel to parameters(), e.g. "0.weight".
  virtual std::vector<std::string> parameter_names() { return {}; }
  // Non-trainable state saved with the model (batch-norm running statistics, …).
  virtual std::vector<Tensor*> buffers() { return {}; }
  virtual std::vector<std::string> buffer_names() { return {}; }
  // The random generators this module and its children draw from in training (dropout,
  // augmentation), in a fixed order: a checkpoint saves and restores their states.
  virtual std::vector<Rng*> generators() { return {}; }
  // Train mode (dropout active, batch norm uses batch statistics) or eval mode.
  virtual void set_training(bool on) { training_ = on; }
  bool training() const { return training_; }
  // The architecture, enough for module_from_config() to rebuild this module (weights apart).
  virtual nlohmann::json config() const = 0;
  virtual std::string type() const = 0;

 protected:
  bool training_ = true;
};

// Weight initialisation. Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))), for tanh and
// sigmoid units; He (Kaiming) normal: N(0, √(2/fan_in)), for ReLU-family units.
enum class Init { Glorot, He };
Init init_from_string(const std::string& s);
std::string to_string(Init i);
void init_weight(Tensor& w, int64_t fan_in, int64_t fan_out, Init init, Rng& rng);

// The activations of the lecture as a layer.
enum class Act { Identity, Step, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Softmax, LogSoftmax };
Act act_from_string(const std::string& s);  // "relu", "tanh", …; throws std::invalid_argument listing the choices
std::string to_string(Act a);
Var apply(Act a, const Var& x);
// The initialisation that suits units with this activation.
Init default_init(Act a);

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias, Init init, Rng& rng);
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  nlohmann::json config() const override;
  std::string type() const override { return "linear"; }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Var weight;  // (out, in)
  Var bias;    // (out), undefined without bias

 private:
  int64_t in_, out_;
};

class Activation : public Module {
 public:
  explicit Activation(Act a) : act_(a) {}
  Var forward(const Var& x) override { return apply(act_, x); }
  nlohmann::json config() const override;
  std::string type() const override { return "activation"; }
  Act act() const { return act_; }

 private:
  Act act_;
};

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential& add(std::unique_ptr<Module> m);
  template <class M, class... A>
  Sequential& emplace(A&&... args) {
    return add(std::make_unique<M>(std::forward<A>(args)...));
  }
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  std::vector<Tensor*> buffers() override;
  std::vector<std::string> buffer_names() override;
  std::vector<Rng*> generators() override;
  void set_training(bool on) override;
  nlohmann::json config() const override;
  std::string type() const override { return "sequential"; }
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) { return *layers_[i]; }

 private:
  std::vector<std::unique_ptr<Module>> layers_;
};

// Rebuilds a module from its config() (weights freshly initialised with `rng`; a model
// file then loads the saved ones). Throws std::invalid_argument on an unknown or malformed
// config. New layer types register themselves in nn/factory.cpp.
std::unique_ptr<Module> module_from_config(const nlohmann::json& cfg, Rng& rng);

// Total number of scalars in the parameters.
int64_t parameter_count(Module& m);

}  // namespace bp::nn
