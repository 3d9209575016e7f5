// Activation functions and their derivatives (the lecture's table), forward beside backward.
#include <algorithm>
#include <cmath>

#include "backprop/ops/detail.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::make_result;
using detail::log_softmax_rows;
using detail::stable_sigmoid;
using detail::unary;

namespace {
// (rows, cols) view of a tensor along its last dimension.
inline void rows_cols(const Tensor& t, int64_t& rows, int64_t& cols) {
  if (t.ndim() == 0) throw ShapeError("softmax needs at least one dimension");
  cols = t.dim(-1);
  rows = cols ? t.numel() / cols : 0;
}
}  // namespace

Var step(const Var& z) {
  return unary(z, "step", [](float x) { return x >= 0.f ? 1.f : 0.f; }, [](float, float) { return 0.f; });
}

Var sigmoid(const Var& z) {
  return unary(z, "sigmoid", stable_sigmoid, [](float, float y) { return y * (1.f - y); });
}

Var tanh(const Var& z) {
  return unary(z, "tanh", [](float x) { return std::tanh(x); }, [](float, float y) { return 1.f - y * y; });
}

Var relu(const Var& z) {
  return unary(z, "relu", [](float x) { return x > 0.f ? x : 0.f; }, [](float x, float) { return x > 0.f ? 1.f : 0.f; });
}

Var leaky_relu(const Var& z, float slope) {
  return unary(z, "leaky_relu", [slope](float x) { return x > 0.f ? x : slope * x; },
               [slope](float x, float) { return x > 0.f ? 1.f : slope; });
}

Var softplus(const Var& z) {
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
  return unary(z, "softplus", [](float x) { return std::max(x, 0.f) + std::log1p(std::exp(-std::fabs(x))); },
               [](float x, float) { return stable_sigmoid(x); });
}

Var softmax(const Var& z) {
  int64_t rows, cols;
  rows_cols(z.value(), rows, cols);
  Tensor out = Tensor::empty(z.shape());
  const float* x = z.value().data();
  float* y = out.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float mx = *std::max_element(xr, xr + cols);  // shift for stability: softmax(z) = softmax(z - max)
    float s = 0;
    for (int64_t c = 0; c < cols; ++c) s += (yr[c] = std::exp(xr[c] - mx));
    const float inv = 1.f / s;
    for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
  }
  return make_result(std::move(out), {z}, [rows, cols](Node& n) {
    // dz_c = y_c (g_c - Σ_k g_k y_k)
    Node& in = *n.inputs[0];
    Tensor gi = Tensor::empty(in.value.shape());
    const float* y = n.value.data();
    const float* g = n.grad.data();
    float* d = gi.data();
    for (int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * cols;
      const float* gr = g + r * cols;
      float dot = 0;
      for (int64_t c = 0; c < cols; ++c) dot += gr[c] * yr[c];
      for (int64_t c = 0; c < cols; ++c) d[r * cols + c] = yr[c] * (gr[c] - dot);
    }
    accumulate(in, std::move(gi));
  }, "softmax");
}

Var log_softmax(const Var& z) {
  int64_t rows, cols;
  rows_cols(z.value(), rows, cols);
  Tensor out = Tensor::empty(z.shape());
  log_softmax_rows(z.value().data(), out.data(), rows, cols);
  return make_result(std::move(out), {z}, [rows, cols](Node& n) {
    // dz_c = g_c - softmax_c Σ_k g_k
    Node& in = *n.inputs[0];
    Tensor gi = Tensor::empty(in.value.shape());
    const float* y = n.value.data();
    const float* g = n.grad.data();
    float* d = gi.data();
    for (int64_t r = 0; r < rows; ++r) {
      float gs = 0;
      for (int64_t c = 0; c < cols; ++c) gs += g[r * cols + c];
      for (int64_t c = 0; c < cols; ++c) d[r * cols + c] = g[r * cols + c] - std::exp(y[r * cols + c]) * gs;
    }
    accumulate(in, std::move(gi));
  }, "log_softmax");
}

}  // namespace bp::ops
