#include "backprop/nn/norm.hpp"

#include <stdexcept>
#include <string>

#include "backprop/ops/conv_ops.hpp"

namespace bp::nn {

BatchNorm::BatchNorm(int64_t channels, int dims, float momentum, float eps, bool affine, Act act)
    : running_mean({channels}, 0.f), running_var({channels}, 1.f), c_(channels), dims_(dims), momentum_(momentum), eps_(eps),
      act_(act) {
  if (channels <= 0) throw std::invalid_argument("batch norm needs a positive number of channels");
  if (dims != 1 && dims != 2) throw std::invalid_argument("batch norm is 1-D or 2-D");
  if (!(momentum >= 0.f && momentum <= 1.f)) throw std::invalid_argument("batch norm momentum must be in [0, 1]");
  if (!(eps > 0.f)) throw std::invalid_argument("batch norm eps must be positive");
  if (act != Act::Identity && act != Act::ReLU)
    throw std::invalid_argument("batch norm applies no activation or ReLU, not " + to_string(act));
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
  if (act_ == Act::ReLU) return ops::batch_norm_relu(x, weight, bias, &running_mean, &running_var, training_, momentum_, eps_);
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

// "act" only when there is one: configs of plain batch norms stay as they were.
nlohmann::json BatchNorm::config() const {
  nlohmann::json j = {{"type", type()}, {"channels", c_}, {"momentum", momentum_}, {"eps", eps_}, {"affine", weight.defined()}};
  if (act_ != Act::Identity) j["act"] = to_string(act_);
  return j;
}

}  // namespace bp::nn
