// Quantized inference: a trained network's linear and convolution layers with bfloat16 or int8
// weights, run through backend/qgemm.hpp's kernels (docs/performance.md, "Quantized inference";
// docs/model-files.md, "Quantized models").
//
//   bf16: each weight rounded to bfloat16, activations rounded to bfloat16 before each product,
//         sums in float32.
//   int8: symmetric int8 weights with one scale per output channel (max |w| / 127); each
//         quantized layer's input affine-quantized to u8 with one (scale, zero point), its range
//         calibrated on a sample of training rows run through the float network.
//
// Bias, the activation functions, pooling and reshaping stay float32. A ReLU that follows a
// linear or convolution layer is fused into it.
//
//   auto q = nn::QuantizedNet::quantize(*net, {.dtype = nn::QuantDtype::Int8, .calibration = rows});
//   Tensor logits = q->forward(Var(x)).value();   // or q->infer(x, rows, out), no allocation
//
// A QuantizedNet is a Module for inference only: forward records nothing on the tape and has no
// parameters; it can be evaluated, scored and saved (io::save_model) like any network.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backprop/nn/module.hpp"

namespace bp::nn {

enum class QuantDtype { BF16, Int8 };
QuantDtype quant_dtype_from_string(const std::string& s);  // "bf16", "int8"; throws std::invalid_argument
std::string to_string(QuantDtype d);

struct QuantizeOptions {
  QuantDtype dtype = QuantDtype::Int8;
  // int8: rows of the network's input (features as the network takes them), through which the
  // float network runs once to find each quantized layer's input range. Required for int8.
  Tensor calibration;
  // The range kept of each layer's inputs: from the (100 − p)-th to the p-th percentile of the
  // sample's values (100: min to max); values outside it saturate.
  double percentile = 100.0;
};

class QuantizedNet : public Module {
 public:
  // Converts `model` (a Sequential, nested ones included, of Linear, Conv2d (groups 1, dilation
  // 1), activations, pooling, Reshape, Flatten, Dropout). Throws std::invalid_argument naming a
  // layer it cannot take (batch norm, residual blocks, recurrent layers, …), an int8 request
  // without calibration rows, calibration rows that do not fit or hold NaN.
  static std::unique_ptr<QuantizedNet> quantize(Module& model, const QuantizeOptions& o);

  ~QuantizedNet() override;
  QuantizedNet(const QuantizedNet&) = delete;
  QuantizedNet& operator=(const QuantizedNet&) = delete;

  // Inference; records nothing. Throws std::invalid_argument for an input of the wrong shape
  // or with NaN or infinite values (int8 cannot represent them).
  Var forward(const Var& x) override;
  // The same on raw rows: x (rows, in_features) → y (rows, outputs). For a network of linear
  // layers only, it allocates nothing once its scratch has grown to `rows` (batch-1 serving).
  // Not safe to call from two threads at once on one QuantizedNet (the scratch is shared).
  void infer(const float* x, int64_t rows, float* y);
  // Whether infer() takes raw rows (a network of linear layers and activations only).
  bool rows_only() const;
  int64_t in_features() const;  // of the first linear layer (rows_only networks), else 0
  int64_t out_features() const;

  nlohmann::json config() const override;  // {"type": "quantized", "dtype": ..., "stages": [...]}
  std::string type() const override { return "quantized"; }
  QuantDtype dtype() const { return dtype_; }
  // The float network's architecture it was made from (informational).
  const nlohmann::json& source_architecture() const { return source_; }
  // Bytes of packed weights the products stream per example (a measure for the docs).
  int64_t weight_bytes() const;

  // What a model file holds: `meta` (the config above plus a format number), the arrays by name
  // ("q.<stage>.weight" and so on) and the container dtype of each array stored other than F32
  // ("I8" for int8 weights, "BF16" for bf16 ones; their values are exact in float32).
  struct Stored {
    nlohmann::json meta;
    std::vector<std::pair<std::string, Tensor>> arrays;
    std::map<std::string, std::string> dtypes;
  };
  Stored save() const;
  // Rebuilds a saved network, checking everything (stage kinds and sizes, every array present
  // with its shape and none extra, int8 weights integers in [−127, 127], bf16 weights exact
  // bfloat16 values, scales positive and finite, zero points in 0..255, biases finite).
  // Throws std::invalid_argument naming the problem.
  static std::unique_ptr<QuantizedNet> load(const nlohmann::json& meta,
                                            const std::vector<std::pair<std::string, Tensor>>& arrays);

  struct Stage;  // one layer (quantized.cpp)

 private:
  QuantizedNet();
  Tensor run_stage(Stage& s, const Tensor& x);
  QuantDtype dtype_ = QuantDtype::Int8;
  nlohmann::json source_;
  std::vector<std::unique_ptr<Stage>> stages_;
  struct Scratch;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace bp::nn
