// Normalisation layers (batch norm), with running statistics kept as buffers in the model file.
#pragma once

#include <cstdint>

#include "backprop/nn/module.hpp"

namespace bp::nn {

// Batch normalisation over channels: 2-D for (N, C, H, W), 1-D for (N, C) (or (N, C, L)).
// Running statistics (buffers "running_mean", "running_var") follow PyTorch: momentum 0.1,
// unbiased variance, used in eval mode. Affine γ (weight, ones) and β (bias, zeros).
// act = ReLU applies the ReLU inside the block (ops::batch_norm_relu: the same values as a
// BatchNorm followed by an Activation(ReLU), without the activation's tensor and passes);
// Identity and ReLU are the choices.
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t channels, int dims = 2, float momentum = 0.1f, float eps = 1e-5f, bool affine = true,
            Act act = Act::Identity);
  Var forward(const Var& x) override;
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  std::vector<Tensor*> buffers() override { return {&running_mean, &running_var}; }
  std::vector<std::string> buffer_names() override { return {"running_mean", "running_var"}; }
  nlohmann::json config() const override;
  std::string type() const override { return dims_ == 1 ? "batch_norm1d" : "batch_norm2d"; }
  Act act() const { return act_; }
  Var weight, bias;               // γ, β (C); undefined without affine
  Tensor running_mean, running_var;  // (C)

 private:
  int64_t c_;
  int dims_;
  float momentum_, eps_;
  Act act_;
};

}  // namespace bp::nn
