// Elementwise arithmetic with NumPy broadcasting. Forward and backward side by side.
// Backward of a broadcast operand sums the output gradient over the stretched dimensions,
// which the index maps below do implicitly (several outputs map to one input element).
#include <cmath>
#include <cstring>

#include "backprop/ops/detail.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::make_result;
using detail::unary;

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError("shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// How output element o maps to elements of a and b.
struct Bcast {
  enum Kind { Same, ScalarB, ScalarA, General } kind;
  Shape out;
  int64_t n = 0;
  std::vector<int64_t> ia, ib;  // General only: input index of each output element
};

std::vector<int64_t> index_map(const Shape& in, const Shape& out) {
  const size_t nd = out.size();
  std::vector<int64_t> stride(nd, 0);
  int64_t s = 1;
  for (size_t i = nd; i-- > 0;) {
    size_t j = i - (nd - in.size());
    if (i >= nd - in.size()) {
      stride[i] = in[j] == 1 ? 0 : s;
      s *= in[j];
    }
  }
  const int64_t n = shape_numel(out);
  std::vector<int64_t> map(n);
  std::vector<int64_t> idx(nd, 0);
  int64_t cur = 0;
  for (int64_t o = 0; o < n; ++o) {
    map[o] = cur;
    for (size_t d = nd; d-- > 0;) {  // odometer increment
      ++idx[d];
      cur += stride[d];
      if (idx[d] < out[d]) break;
      cur -= stride[d] * idx[d];
      idx[d] = 0;
    }
  }
  return map;
}

Bcast plan(const Tensor& a, const Tensor& b) {
  Bcast p;
  p.out = broadcast_shape(a.shape(), b.shape());
  p.n = shape_numel(p.out);
  if (a.shape() == b.shape()) {
    p.kind = Bcast::Same;
  } else if (b.numel() == 1 && a.shape() == p.out) {
    p.kind = Bcast::ScalarB;
  } else if (a.numel() == 1 && b.shape() == p.out) {
    p.kind = Bcast::ScalarA;
  } else {
    p.kind = Bcast::General;
    p.ia = index_map(a.shape(), p.out);
    p.ib = index_map(b.shape(), p.out);
  }
  return p;
}

template <class F>
void each(const Bcast& p, F f) {
  switch (p.kind) {
    case Bcast::Same:
      for (int64_t o = 0; o < p.n; ++o) f(o, o, o);
      break;
    case Bcast::ScalarB:
      for (int64_t o = 0; o < p.n; ++o) f(o, o, int64_t{0});
      break;
    case Bcast::ScalarA:
      for (int64_t o = 0; o < p.n; ++o) f(o, int64_t{0}, o);
      break;
    case Bcast::General:
      for (int64_t o = 0; o < p.n; ++o) f(o, p.ia[o], p.ib[o]);
      break;
  }
}

// A binary op given its value f(a, b) and partial derivatives da(a, b), db(a, b).
template <class F, class DA, class DB>
Var binary(const Var& a, const Var& b, const char* name, F f, DA dfa, DB dfb) {
  auto p = std::make_shared<Bcast>(plan(a.value(), b.value()));
  Tensor out = Tensor::empty(p->out);
  const float* av = a.value().data();
  const float* bv = b.value().data();
  float* ov = out.data();
  each(*p, [&](int64_t o, int64_t i, int64_t j) { ov[o] = f(av[i], bv[j]); });
  return make_result(std::move(out), {a, b}, [p, dfa, dfb](Node& n) {
    Node& na = *n.inputs[0];
    Node& nb = *n.inputs[1];
    const float* g = n.grad.data();
    const float* av = na.value.data();
    const float* bv = nb.value.data();
    if (na.requires_grad) {
      Tensor ga(na.value.shape());
      float* gp = ga.data();
      each(*p, [&](int64_t o, int64_t i, int64_t j) { gp[i] += g[o] * dfa(av[i], bv[j]); });
      accumulate(na, std::move(ga));
    }
    if (nb.requires_grad) {
      Tensor gb(nb.value.shape());
      float* gp = gb.data();
      each(*p, [&](int64_t o, int64_t i, int64_t j) { gp[j] += g[o] * dfb(av[i], bv[j]); });
      accumulate(nb, std::move(gb));
    }
  }, name);
}

// Adds count values g into n's gradient: a copy when it has none yet (no zero fill), else in place.
void add_gradient(Node& n, const float* g, int64_t count) {
  if (!n.requires_grad) return;
  if (!n.grad.defined()) {
    Tensor t = Tensor::empty(n.value.shape());
    std::memcpy(t.data(), g, static_cast<size_t>(count) * sizeof(float));
    accumulate(n, std::move(t));
    return;
  }
  float* __restrict d = n.grad.data();
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) d[i] += g[i];
}

}  // namespace

// Operands of one shape (the residual sum's case) take a plain loop each way: the output,
// then the gradient passed to each operand unchanged. Broadcasting goes through binary().
Var add(const Var& a, const Var& b) {
  if (a.shape() != b.shape())
    return binary(a, b, "add", [](float x, float y) { return x + y; }, [](float, float) { return 1.f; },
                  [](float, float) { return 1.f; });
  Tensor out = Tensor::empty(a.shape());
  const float* __restrict av = a.value().data();
  const float* __restrict bv = b.value().data();
  float* __restrict ov = out.data();
  const int64_t n = out.numel();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) ov[i] = av[i] + bv[i];
  return make_result(std::move(out), {a, b}, [n](Node& nd) {
    const float* g = nd.grad.data();
    add_gradient(*nd.inputs[0], g, n);
    add_gradient(*nd.inputs[1], g, n);
  }, "add");
}

// y = max(a + b, 0) (a NaN sum becomes 0, as ops::relu);  da = db = dy·[y > 0].
Var add_relu(const Var& a, const Var& b) {
  if (a.shape() != b.shape())
    throw ShapeError("add_relu: operands " + shape_str(a.shape()) + " and " + shape_str(b.shape()) + " differ");
  Tensor out = Tensor::empty(a.shape());
  const float* __restrict av = a.value().data();
  const float* __restrict bv = b.value().data();
  float* __restrict ov = out.data();
  const int64_t n = out.numel();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float s = av[i] + bv[i];
    ov[i] = s > 0.f ? s : 0.f;
  }
  return make_result(std::move(out), {a, b}, [n](Node& nd) {
    Tensor g = Tensor::empty(nd.value.shape());  // dy·[y > 0]
    const float* __restrict y = nd.value.data();
    const float* __restrict dy = nd.grad.data();
    float* __restrict gp = g.data();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) gp[i] = y[i] > 0.f ? dy[i] : 0.f;
    add_gradient(*nd.inputs[1], gp, n);
    Node& na = *nd.inputs[0];  // takes g itself when it has no gradient yet (b may be the same node)
    if (na.requires_grad && !na.grad.defined()) accumulate(na, std::move(g));
    else add_gradient(na, gp, n);
  }, "add_relu");
}

Var sub(const Var& a, const Var& b) {
  return binary(a, b, "sub", [](float x, float y) { return x - y; }, [](float, float) { return 1.f; },
                [](float, float) { return -1.f; });
}

Var mul(const Var& a, const Var& b) {
  return binary(a, b, "mul", [](float x, float y) { return x * y; }, [](float, float y) { return y; },
                [](float x, float) { return x; });
}

Var div(const Var& a, const Var& b) {
  // d(x/y)/dx = 1/y, d(x/y)/dy = -x/y²
  return binary(a, b, "div", [](float x, float y) { return x / y; }, [](float, float y) { return 1.f / y; },
                [](float x, float y) { return -x / (y * y); });
}

Var add_scalar(const Var& a, float s) {
  return unary(a, "add_scalar", [s](float x) { return x + s; }, [](float, float) { return 1.f; });
}

Var mul_scalar(const Var& a, float s) {
  return unary(a, "mul_scalar", [s](float x) { return x * s; }, [s](float, float) { return s; });
}

Var neg(const Var& a) { return mul_scalar(a, -1.f); }

Var exp(const Var& a) {
  return unary(a, "exp", [](float x) { return std::exp(x); }, [](float, float y) { return y; });
}

Var log(const Var& a) {
  return unary(a, "log", [](float x) { return std::log(x); }, [](float x, float) { return 1.f / x; });
}

}  // namespace bp::ops
