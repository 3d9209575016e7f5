#include "backprop/nn/residual.hpp"

#include <stdexcept>

#include "backprop/nn/conv.hpp"
#include "backprop/nn/norm.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::nn {

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
  if (post_ == Act::ReLU) return ops::add_relu(y, s);  // one block: no tensor for the sum
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

std::vector<Rng*> Residual::generators() {
  std::vector<Rng*> out = block_->generators();
  if (proj_)
    for (auto* g : proj_->generators()) out.push_back(g);
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
  block->emplace<BatchNorm>(out, 2, 0.1f, 1e-5f, true, Act::ReLU);  // BN–ReLU in one block
  block->emplace<Conv2d>(out, out, Conv2dOptions{.kernel = 3, .stride = 1, .padding = 1, .bias = false}, rng);
  block->emplace<BatchNorm>(out);
  std::unique_ptr<Module> proj;
  if (in != out || stride != 1)
    proj = std::make_unique<Conv2d>(in, out, Conv2dOptions{.kernel = 1, .stride = stride, .padding = 0, .bias = true}, rng);
  return std::make_unique<Residual>(std::move(block), std::move(proj), Act::ReLU);
}

}  // namespace bp::nn
