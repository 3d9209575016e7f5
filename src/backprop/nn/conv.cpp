#include "backprop/nn/conv.hpp"

#include <stdexcept>

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

// ---- Dropout
Dropout::Dropout(float p, uint64_t seed) : p_(p), seed_(seed), rng_(seed) {
  if (!(p >= 0.f && p < 1.f)) throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}

nlohmann::json Dropout::config() const { return {{"type", type()}, {"p", p_}, {"seed", seed_}}; }

// ---- RandomShiftFlip
RandomShiftFlip::RandomShiftFlip(int64_t max_shift, bool flip, uint64_t seed)
    : shift_(max_shift), flip_(flip), seed_(seed), rng_(seed) {
  if (max_shift < 0) throw std::invalid_argument("random_shift_flip: max_shift must be >= 0");
}

nlohmann::json RandomShiftFlip::config() const {
  return {{"type", type()}, {"max_shift", shift_}, {"flip", flip_}, {"seed", seed_}};
}

// ---- BatchNorm
BatchNorm::BatchNorm(int64_t channels, int dims, float momentum, float eps, bool affine)
    : running_mean({channels}, 0.f), running_var({channels}, 1.f), c_(channels), dims_(dims), momentum_(momentum), eps_(eps) {
  if (channels <= 0) throw std::invalid_argument("batch norm needs a positive number of channels");
  if (dims != 1 && dims != 2) throw std::invalid_argument("batch norm is 1-D or 2-D");
  if (!(momentum >= 0.f && momentum <= 1.f)) throw std::invalid_argument("batch norm momentum must be in [0, 1]");
  if (!(eps > 0.f)) throw std::invalid_argument("batch norm eps must be positive");
  if (affine) {
    weight = Var(Tensor({channels}, 1.f), true);
    bias = Var(Tensor({channels}), true);
  }
}

Var BatchNorm::forward(const Var& x) {
  const int nd = x.value().ndim();
  if ((dims_ == 2 && nd != 4) || (dims_ == 1 && nd != 2 && nd != 3))
    throw ShapeError(type() + ": input of shape " + shape_str(x.shape()) + " is not " +
                     (dims_ == 2 ? "(N, C, H, W)" : "(N, C) or (N, C, L)"));
  if (x.shape()[1] != c_)
    throw ShapeError(type() + ": input has " + std::to_string(x.shape()[1]) + " channels, layer has " + std::to_string(c_));
  return ops::batch_norm(x, weight, bias, &running_mean, &running_var, training_, momentum_, eps_);
}

std::vector<Var> BatchNorm::parameters() {
  if (weight.defined()) return {weight, bias};
  return {};
}

std::vector<std::string> BatchNorm::parameter_names() {
  if (weight.defined()) return {"weight", "bias"};
  return {};
}

nlohmann::json BatchNorm::config() const {
  return {{"type", type()}, {"channels", c_}, {"momentum", momentum_}, {"eps", eps_}, {"affine", weight.defined()}};
}

// ---- Reshape
Reshape::Reshape(Shape shape) : shape_(std::move(shape)) {
  int64_t n = 1;
  for (int64_t d : shape_) {
    if (d <= 0) throw std::invalid_argument("reshape: dimensions must be positive, got " + shape_str(shape_));
    n *= d;
  }
}

Var Reshape::forward(const Var& x) {
  if (x.value().ndim() < 1) throw ShapeError("reshape needs a batch dimension");
  const int64_t per = x.shape()[0] ? x.numel() / x.shape()[0] : 0;
  if (per != shape_numel(shape_))
    throw ShapeError("reshape: examples of shape " + shape_str(Shape(x.shape().begin() + 1, x.shape().end())) +
                     " cannot be viewed as " + shape_str(shape_));
  Shape s{x.shape()[0]};
  s.insert(s.end(), shape_.begin(), shape_.end());
  return ops::reshape(x, s);
}

// ---- Residual
Residual::Residual(std::unique_ptr<Module> block, std::unique_ptr<Module> projection, Act post)
    : block_(std::move(block)), proj_(std::move(projection)), post_(post) {
  if (!block_) throw std::invalid_argument("residual: needs an inner block");
}

Var Residual::forward(const Var& x) {
  Var y = block_->forward(x);
  Var s = proj_ ? proj_->forward(x) : x;
  if (y.shape() != s.shape())
    throw ShapeError("residual: block output " + shape_str(y.shape()) + " and shortcut " + shape_str(s.shape()) +
                     " differ (give the block a projection)");
  return apply(post_, ops::add(y, s));
}

std::vector<Var> Residual::parameters() {
  std::vector<Var> out = block_->parameters();
  if (proj_)
    for (auto& p : proj_->parameters()) out.push_back(p);
  return out;
}

std::vector<std::string> Residual::parameter_names() {
  std::vector<std::string> out;
  for (auto& n : block_->parameter_names()) out.push_back("block." + n);
  if (proj_)
    for (auto& n : proj_->parameter_names()) out.push_back("projection." + n);
  return out;
}

std::vector<Tensor*> Residual::buffers() {
  std::vector<Tensor*> out = block_->buffers();
  if (proj_)
    for (auto* b : proj_->buffers()) out.push_back(b);
  return out;
}

std::vector<std::string> Residual::buffer_names() {
  std::vector<std::string> out;
  for (auto& n : block_->buffer_names()) out.push_back("block." + n);
  if (proj_)
    for (auto& n : proj_->buffer_names()) out.push_back("projection." + n);
  return out;
}

void Residual::set_training(bool on) {
  training_ = on;
  block_->set_training(on);
  if (proj_) proj_->set_training(on);
}

nlohmann::json Residual::config() const {
  return {{"type", type()},
          {"block", block_->config()},
          {"projection", proj_ ? proj_->config() : nlohmann::json(nullptr)},
          {"post", to_string(post_)}};
}

std::unique_ptr<Residual> make_basic_block(int64_t in, int64_t out, int64_t stride, Rng& rng) {
  auto block = std::make_unique<Sequential>();
  block->emplace<Conv2d>(in, out, Conv2dOptions{.kernel = 3, .stride = stride, .padding = 1, .bias = false}, rng);
  block->emplace<BatchNorm>(out);
  block->emplace<Activation>(Act::ReLU);
  block->emplace<Conv2d>(out, out, Conv2dOptions{.kernel = 3, .stride = 1, .padding = 1, .bias = false}, rng);
  block->emplace<BatchNorm>(out);
  std::unique_ptr<Module> proj;
  if (in != out || stride != 1)
    proj = std::make_unique<Conv2d>(in, out, Conv2dOptions{.kernel = 1, .stride = stride, .padding = 0, .bias = true}, rng);
  return std::make_unique<Residual>(std::move(block), std::move(proj), Act::ReLU);
}

}  // namespace bp::nn
