#include "backprop/nn/conv.hpp"

#include <stdexcept>
#include <string>

#include "backprop/ops/ops.hpp"

namespace bp::nn {

// ---- Conv2d
Conv2d::Conv2d(int64_t in, int64_t out, const Conv2dOptions& o, Rng& rng) : in_(in), out_(out), o_(o) {
  if (in <= 0 || out <= 0) throw std::invalid_argument("conv2d needs positive channel counts, got " +
                                                       std::to_string(in) + " -> " + std::to_string(out));
  if (o.kernel <= 0 || o.stride <= 0 || o.dilation <= 0 || o.padding < 0)
    throw std::invalid_argument("conv2d: kernel, stride and dilation must be positive and padding non-negative");
  if (o.groups <= 0 || in % o.groups || out % o.groups)
    throw std::invalid_argument("conv2d: " + std::to_string(o.groups) + " groups must divide " + std::to_string(in) +
                                " input and " + std::to_string(out) + " output channels");
  const int64_t area = o.kernel * o.kernel;
  Tensor w({out, in / o.groups, o.kernel, o.kernel});
  init_weight(w, in / o.groups * area, out / o.groups * area, o.init, rng);
  weight = Var(std::move(w), true);
  if (o.bias) bias = Var(Tensor({out}), true);
}

Var Conv2d::forward(const Var& x) {
  const auto p = ops::conv_params(o_.stride, o_.padding, o_.dilation, o_.groups);
  if (o_.act == Act::ReLU) return ops::conv2d_relu(x, weight, bias, p);
  return apply(o_.act, ops::conv2d(x, weight, bias, p));
}

std::vector<Var> Conv2d::parameters() {
  if (bias.defined()) return {weight, bias};
  return {weight};
}

std::vector<std::string> Conv2d::parameter_names() {
  if (bias.defined()) return {"weight", "bias"};
  return {"weight"};
}

nlohmann::json Conv2d::config() const {
  return {{"type", type()},          {"in", in_},          {"out", out_},
          {"kernel", o_.kernel},     {"stride", o_.stride}, {"padding", o_.padding},
          {"dilation", o_.dilation}, {"groups", o_.groups}, {"bias", o_.bias}, {"act", to_string(o_.act)}};
}

// ---- pooling
namespace {
void check_pool(int64_t k, int64_t s, int64_t p, const char* what) {
  if (k <= 0 || s < 0 || p < 0 || p > k / 2)
    throw std::invalid_argument(std::string(what) + ": need kernel > 0, stride >= 0 (0: the kernel) and 0 <= padding <= kernel/2");
}
}  // namespace

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride, int64_t padding)
    : k_(kernel), s_(stride ? stride : kernel), p_(padding) {
  check_pool(kernel, stride, padding, "max_pool2d");
}

nlohmann::json MaxPool2d::config() const {
  return {{"type", type()}, {"kernel", k_}, {"stride", s_}, {"padding", p_}};
}

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride, int64_t padding)
    : k_(kernel), s_(stride ? stride : kernel), p_(padding) {
  check_pool(kernel, stride, padding, "avg_pool2d");
}

nlohmann::json AvgPool2d::config() const {
  return {{"type", type()}, {"kernel", k_}, {"stride", s_}, {"padding", p_}};
}

}  // namespace bp::nn
