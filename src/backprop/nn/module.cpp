#include "backprop/nn/module.hpp"

#include <cmath>
#include <stdexcept>

#include "backprop/ops/ops.hpp"

namespace bp::nn {

Init init_from_string(const std::string& s) {
  if (s == "glorot" || s == "xavier") return Init::Glorot;
  if (s == "he" || s == "kaiming") return Init::He;
  throw std::invalid_argument("unknown initialisation '" + s + "' (choose glorot or he)");
}

std::string to_string(Init i) { return i == Init::Glorot ? "glorot" : "he"; }

void init_weight(Tensor& w, int64_t fan_in, int64_t fan_out, Init init, Rng& rng) {
  if (init == Init::Glorot) {
    const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = static_cast<float>(rng.uniform(-a, a));
  } else {
    const double sd = std::sqrt(2.0 / static_cast<double>(fan_in));
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = static_cast<float>(rng.normal(0.0, sd));
  }
}

namespace {
struct ActName {
  Act act;
  const char* name;
};
constexpr ActName kActs[] = {{Act::Identity, "identity"}, {Act::Step, "step"},          {Act::Sigmoid, "sigmoid"},
                             {Act::Tanh, "tanh"},         {Act::ReLU, "relu"},          {Act::LeakyReLU, "leaky_relu"},
                             {Act::Softplus, "softplus"}, {Act::Softmax, "softmax"},    {Act::LogSoftmax, "log_softmax"}};
}  // namespace

Act act_from_string(const std::string& s) {
  std::string choices;
  for (const auto& a : kActs) {
    if (s == a.name) return a.act;
    choices += choices.empty() ? a.name : std::string(", ") + a.name;
  }
  if (s == "logistic") return Act::Sigmoid;
  throw std::invalid_argument("unknown activation '" + s + "' (choose " + choices + ")");
}

std::string to_string(Act a) {
  for (const auto& x : kActs)
    if (x.act == a) return x.name;
  return "?";
}

Var apply(Act a, const Var& x) {
  switch (a) {
    case Act::Identity: return x;
    case Act::Step: return ops::step(x);
    case Act::Sigmoid: return ops::sigmoid(x);
    case Act::Tanh: return ops::tanh(x);
    case Act::ReLU: return ops::relu(x);
    case Act::LeakyReLU: return ops::leaky_relu(x);
    case Act::Softplus: return ops::softplus(x);
    case Act::Softmax: return ops::softmax(x);
    case Act::LogSoftmax: return ops::log_softmax(x);
  }
  return x;
}

Init default_init(Act a) {
  return (a == Act::ReLU || a == Act::LeakyReLU || a == Act::Softplus) ? Init::He : Init::Glorot;
}

// ---- Linear
Linear::Linear(int64_t in, int64_t out, bool with_bias, Init init, Rng& rng) : in_(in), out_(out) {
  if (in <= 0 || out <= 0)
    throw std::invalid_argument("linear layer needs positive sizes, got " + std::to_string(in) + " -> " + std::to_string(out));
  Tensor w({out, in});
  init_weight(w, in, out, init, rng);
  weight = Var(std::move(w), true);
  if (with_bias) bias = Var(Tensor({out}), true);
}

Var Linear::forward(const Var& x) { return ops::linear(x, weight, bias); }

std::vector<Var> Linear::parameters() {
  if (bias.defined()) return {weight, bias};
  return {weight};
}

std::vector<std::string> Linear::parameter_names() {
  if (bias.defined()) return {"weight", "bias"};
  return {"weight"};
}

nlohmann::json Linear::config() const {
  return {{"type", type()}, {"in", in_}, {"out", out_}, {"bias", bias.defined()}};
}

nlohmann::json Activation::config() const { return {{"type", type()}, {"act", to_string(act_)}}; }

// ---- Sequential
Sequential& Sequential::add(std::unique_ptr<Module> m) {
  layers_.push_back(std::move(m));
  return *this;
}

Var Sequential::forward(const Var& x) {
  Var h = x;
  for (auto& l : layers_) h = l->forward(h);
  return h;
}

std::vector<Var> Sequential::parameters() {
  std::vector<Var> out;
  for (auto& l : layers_)
    for (auto& p : l->parameters()) out.push_back(p);
  return out;
}

std::vector<std::string> Sequential::parameter_names() {
  std::vector<std::string> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    for (auto& n : layers_[i]->parameter_names()) out.push_back(std::to_string(i) + "." + n);
  return out;
}

std::vector<Tensor*> Sequential::buffers() {
  std::vector<Tensor*> out;
  for (auto& l : layers_)
    for (auto* b : l->buffers()) out.push_back(b);
  return out;
}

std::vector<Rng*> Sequential::generators() {
  std::vector<Rng*> out;
  for (auto& l : layers_)
    for (auto* g : l->generators()) out.push_back(g);
  return out;
}

std::vector<std::string> Sequential::buffer_names() {
  std::vector<std::string> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    for (auto& n : layers_[i]->buffer_names()) out.push_back(std::to_string(i) + "." + n);
  return out;
}

void Sequential::set_training(bool on) {
  training_ = on;
  for (auto& l : layers_) l->set_training(on);
}

nlohmann::json Sequential::config() const {
  nlohmann::json layers = nlohmann::json::array();
  for (auto& l : layers_) layers.push_back(l->config());
  return {{"type", type()}, {"layers", layers}};
}

int64_t parameter_count(Module& m) {
  int64_t n = 0;
  for (auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace bp::nn
