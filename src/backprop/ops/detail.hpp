// Internal helpers shared by the op families (not part of the public API).
#pragma once

#include <algorithm>
#include <cmath>

#include "backprop/autograd/var.hpp"

namespace bp::ops::detail {

// σ(z) without overflow: for z < 0 use e^z/(1+e^z) so exp never sees a large argument.
inline float stable_sigmoid(float z) {
  if (z >= 0) return 1.f / (1.f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.f + e);
}

// Row-wise log-softmax of (rows, cols) values x into out: x − max − log Σ e^(x − max).
inline void log_softmax_rows(const float* x, float* out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float mx = *std::max_element(xr, xr + cols);
    float s = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(xr[c] - mx);
    const float lse = mx + std::log(s);
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = xr[c] - lse;
  }
}

// A unary op given f(x) and its derivative expressed through x and y = f(x).
template <class F, class D>
inline Var unary(const Var& a, const char* name, F f, D dfdx) {
  Tensor out = Tensor::empty(a.shape());
  const float* x = a.value().data();
  float* y = out.data();
  const int64_t n = out.numel();
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  return autograd::make_result(std::move(out), {a}, [dfdx](Node& nd) {
    Node& in = *nd.inputs[0];
    Tensor gi = Tensor::empty(in.value.shape());
    const float* x = in.value.data();
    const float* y = nd.value.data();
    const float* g = nd.grad.data();
    float* gp = gi.data();
    const int64_t n = gi.numel();
    for (int64_t i = 0; i < n; ++i) gp[i] = g[i] * dfdx(x[i], y[i]);
    autograd::accumulate(in, std::move(gi));
  }, name);
}


}  // namespace bp::ops::detail
