// Layers of convolutional networks, built on the blocks of ops/conv_ops.hpp. Each has a
// config() that module_from_config() (nn/factory.cpp) turns back into the same layer.
#pragma once

#include <cstdint>
#include <memory>

#include "backprop/nn/module.hpp"
#include "backprop/ops/conv_ops.hpp"

namespace bp::nn {

struct Conv2dOptions {
  int64_t kernel = 3;  // square kernel
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  Init init = Init::He;
  // Activation applied to the output; ReLU is fused into the convolution (ops::conv2d_relu).
  Act act = Act::Identity;
};

// x (N, in, H, W) -> (N, out, OH, OW); weight (out, in/groups, k, k), bias (out); then the
// options' activation.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, const Conv2dOptions& o, Rng& rng);
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  nlohmann::json config() const override;
  std::string type() const override { return "conv2d"; }
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  const Conv2dOptions& options() const { return o_; }
  Var weight;  // (out, in/groups, k, k)
  Var bias;    // (out), undefined without bias

 private:
  int64_t in_, out_;
  Conv2dOptions o_;
};

// Max or average pooling over kernel×kernel windows (stride defaults to the kernel).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0);
  Var forward(const Var& x) override { return ops::max_pool2d(x, k_, s_, p_); }
  nlohmann::json config() const override;
  std::string type() const override { return "max_pool2d"; }

 private:
  int64_t k_, s_, p_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0);
  Var forward(const Var& x) override { return ops::avg_pool2d(x, k_, s_, p_); }
  nlohmann::json config() const override;
  std::string type() const override { return "avg_pool2d"; }

 private:
  int64_t k_, s_, p_;
};

// (N, C, H, W) -> (N, C): the mean of each plane.
class GlobalAvgPool2d : public Module {
 public:
  Var forward(const Var& x) override { return ops::global_avg_pool2d(x); }
  nlohmann::json config() const override { return {{"type", type()}}; }
  std::string type() const override { return "global_avg_pool2d"; }
};

// Inverted dropout with its own seeded generator: active in training mode, identity in eval.
class Dropout : public Module {
 public:
  explicit Dropout(float p, uint64_t seed = 0x5eed);
  Var forward(const Var& x) override { return ops::dropout(x, p_, training_, rng_); }
  nlohmann::json config() const override;
  std::string type() const override { return "dropout"; }

 private:
  float p_;
  uint64_t seed_;
  Rng rng_;
};

// Training-time augmentation of images (N, C, H, W): random left–right mirroring and shifts
// of up to max_shift pixels (ops::random_shift_flip), from its own seeded generator; the
// identity in eval mode, so a trained model predicts on the images as they are.
class RandomShiftFlip : public Module {
 public:
  explicit RandomShiftFlip(int64_t max_shift = 2, bool flip = true, uint64_t seed = 0x5eed);
  Var forward(const Var& x) override { return ops::random_shift_flip(x, shift_, flip_, training_, rng_); }
  nlohmann::json config() const override;
  std::string type() const override { return "random_shift_flip"; }

 private:
  int64_t shift_;
  bool flip_;
  uint64_t seed_;
  Rng rng_;
};

// Batch normalisation over channels: 2-D for (N, C, H, W), 1-D for (N, C) (or (N, C, L)).
// Running statistics (buffers "running_mean", "running_var") follow PyTorch: momentum 0.1,
// unbiased variance, used in eval mode. Affine γ (weight, ones) and β (bias, zeros).
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t channels, int dims = 2, float momentum = 0.1f, float eps = 1e-5f, bool affine = true);
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  std::vector<Tensor*> buffers() override { return {&running_mean, &running_var}; }
  std::vector<std::string> buffer_names() override { return {"running_mean", "running_var"}; }
  nlohmann::json config() const override;
  std::string type() const override { return dims_ == 1 ? "batch_norm1d" : "batch_norm2d"; }
  Var weight, bias;               // γ, β (C); undefined without affine
  Tensor running_mean, running_var;  // (C)

 private:
  int64_t c_;
  int dims_;
  float momentum_, eps_;
};

// Views each example as `shape`: (N, ...) -> (N, shape...), e.g. flat 784-feature rows as
// (1, 28, 28) images. No copy.
class Reshape : public Module {
 public:
  explicit Reshape(Shape shape);
  Var forward(const Var& x) override;
  nlohmann::json config() const override { return {{"type", type()}, {"shape", shape_}}; }
  std::string type() const override { return "reshape"; }

 private:
  Shape shape_;
};

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
std::unique_ptr<Residual> make_basic_block(int64_t in, int64_t out, int64_t stride, Rng& rng);

}  // namespace bp::nn
