// Convolution and pooling layers for images (N, C, H, W), built on the blocks of
// ops/conv_ops.hpp. Each has a config() that module_from_config() (nn/factory.cpp) turns back
// into the same layer.
#pragma once

#include <cstdint>

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

}  // namespace bp::nn
