// Reductions and reshape.
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::make_result;

namespace {

Var scaled_total(const Var& a, float scale, const char* name) {
  double s = 0;  // double accumulation: a float running sum loses digits on long vectors
  const float* x = a.value().data();
  for (int64_t i = 0; i < a.numel(); ++i) s += x[i];
  Tensor out(Shape{}, static_cast<float>(s * scale));
  return make_result(std::move(out), {a}, [scale](Node& n) {
    Node& in = *n.inputs[0];
    accumulate(in, Tensor(in.value.shape(), n.grad[0] * scale));
  }, name);
}

// View a tensor as (outer, d, inner) around dimension `dim`.
void split_at(const Shape& s, int& dim, int64_t& outer, int64_t& d, int64_t& inner) {
  const int nd = static_cast<int>(s.size());
  if (dim < 0) dim += nd;
  if (dim < 0 || dim >= nd) throw ShapeError("reduction dimension out of range for shape " + shape_str(s));
  outer = inner = 1;
  for (int i = 0; i < dim; ++i) outer *= s[i];
  for (int i = dim + 1; i < nd; ++i) inner *= s[i];
  d = s[dim];
}

Var reduce_dim(const Var& a, int dim, bool keepdim, bool average, const char* name) {
  int64_t outer, d, inner;
  split_at(a.shape(), dim, outer, d, inner);
  Shape os = a.shape();
  if (keepdim) os[dim] = 1;
  else os.erase(os.begin() + dim);
  const float scale = average ? (d ? 1.f / static_cast<float>(d) : 0.f) : 1.f;
  Tensor out(os);
  const float* x = a.value().data();
  float* y = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t i = 0; i < inner; ++i) y[o * inner + i] += x[(o * d + k) * inner + i];
  if (average)
    for (int64_t i = 0; i < out.numel(); ++i) y[i] *= scale;
  return make_result(std::move(out), {a}, [outer, d, inner, scale](Node& n) {
    Node& in = *n.inputs[0];
    Tensor gi = Tensor::empty(in.value.shape());
    const float* g = n.grad.data();
    float* gp = gi.data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < d; ++k)
        for (int64_t i = 0; i < inner; ++i) gp[(o * d + k) * inner + i] = g[o * inner + i] * scale;
    accumulate(in, std::move(gi));
  }, name);
}

}  // namespace

Var sum(const Var& a) { return scaled_total(a, 1.f, "sum"); }

Var mean(const Var& a) {
  if (a.numel() == 0) throw ShapeError("mean of an empty tensor");
  return scaled_total(a, 1.f / static_cast<float>(a.numel()), "mean");
}

Var sum(const Var& a, int dim, bool keepdim) { return reduce_dim(a, dim, keepdim, false, "sum_dim"); }
Var mean(const Var& a, int dim, bool keepdim) { return reduce_dim(a, dim, keepdim, true, "mean_dim"); }

Var reshape(const Var& a, Shape shape) {
  Tensor out = a.value().reshape(std::move(shape));  // shares storage: no copy
  return make_result(std::move(out), {a}, [](Node& n) {
    Node& in = *n.inputs[0];
    accumulate(in, n.grad.clone().reshape(in.value.shape()));
  }, "reshape");
}

}  // namespace bp::ops
