// Internal helpers shared by the op families (not part of the public API).
#pragma once

#include "backprop/autograd/var.hpp"

namespace bp::ops::detail {

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
