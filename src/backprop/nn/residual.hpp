// Residual connections: a block plus its shortcut, and He et al.'s basic block built from the
// convolution and batch-norm layers.
#pragma once

#include <cstdint>
#include <memory>

#include "backprop/nn/module.hpp"

namespace bp::nn {

// y = post(block(x) + shortcut(x)): shortcut is the identity, or a projection (a 1×1
// convolution with the block's stride) where the block changes the shape.
class Residual : public Module {
 public:
  Residual(std::unique_ptr<Module> block, std::unique_ptr<Module> projection = nullptr, Act post = Act::Identity);
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  std::vector<Tensor*> buffers() override;
  std::vector<std::string> buffer_names() override;
  std::vector<Rng*> generators() override;
  void set_training(bool on) override;
  nlohmann::json config() const override;
  std::string type() const override { return "residual"; }
  Module& block() { return *block_; }
  Module* projection() { return proj_.get(); }

 private:
  std::unique_ptr<Module> block_, proj_;
  Act post_;
};

// The basic residual block of He et al. (2016): conv3×3(stride)–BN–ReLU–conv3×3–BN, plus
// the shortcut, then ReLU. The shortcut projects (1×1 conv, stride) when in != out or stride != 1.
// The block is a Sequential of conv, BatchNorm with the ReLU fused (act = ReLU), conv, BatchNorm.
std::unique_ptr<Residual> make_basic_block(int64_t in, int64_t out, int64_t stride, Rng& rng);

}  // namespace bp::nn
