// Matrix products: every one goes through backend::gemm (the BLAS seam).
#include "backprop/backend/backend.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::make_result;

namespace {
// Where a GEMM should write an input's gradient: straight into a new buffer (beta = 0)
// on first touch, or added into the existing one (beta = 1).
float* gemm_grad_target(Node& n, float& beta) {
  if (!n.grad.defined()) {
    n.grad = Tensor::empty(n.value.shape());
    beta = 0.f;
  } else {
    beta = 1.f;
  }
  return n.grad.data();
}

void require_2d(const Tensor& t, const char* what, const char* op) {
  if (t.ndim() != 2)
    throw ShapeError(std::string(op) + ": " + what + " must be 2-D, got shape " + shape_str(t.shape()));
}
}  // namespace

Var matmul(const Var& a, const Var& b) {
  require_2d(a.value(), "left operand", "matmul");
  require_2d(b.value(), "right operand", "matmul");
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (b.shape()[0] != k)
    throw ShapeError("matmul: " + shape_str(a.shape()) + " x " + shape_str(b.shape()) + ": inner dimensions differ");
  Tensor out = Tensor::empty({m, n});
  backend::gemm(false, false, m, n, k, 1.f, a.value().data(), k, b.value().data(), n, 0.f, out.data(), n);
  return make_result(std::move(out), {a, b}, [m, k, n](Node& nd) {
    Node& na = *nd.inputs[0];
    Node& nb = *nd.inputs[1];
    const float* g = nd.grad.data();  // (m, n)
    float beta;
    if (na.requires_grad) {  // dA = G B^T  (m, k)
      float* ga = gemm_grad_target(na, beta);
      backend::gemm(false, true, m, k, n, 1.f, g, n, nb.value.data(), n, beta, ga, k);
    }
    if (nb.requires_grad) {  // dB = A^T G  (k, n)
      float* gb = gemm_grad_target(nb, beta);
      backend::gemm(true, false, k, n, m, 1.f, na.value.data(), k, g, n, beta, gb, n);
    }
  }, "matmul");
}

Var linear(const Var& x, const Var& w, const Var& b) {
  require_2d(x.value(), "input", "linear");
  require_2d(w.value(), "weight", "linear");
  const int64_t batch = x.shape()[0], in = x.shape()[1], out_f = w.shape()[0];
  if (w.shape()[1] != in)
    throw ShapeError("linear: input has " + std::to_string(in) + " features but the weight " +
                     shape_str(w.shape()) + " expects " + std::to_string(w.shape()[1]));
  const bool has_bias = b.defined();
  if (has_bias && (b.value().numel() != out_f))
    throw ShapeError("linear: bias " + shape_str(b.shape()) + " does not match " + std::to_string(out_f) + " outputs");
  Tensor out = Tensor::empty({batch, out_f});
  // Fused: start every row from the bias, then add x W^T in the same GEMM (beta = 1).
  float beta = 0.f;
  if (has_bias) {
    const float* bv = b.value().data();
    float* o = out.data();
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t c = 0; c < out_f; ++c) o[r * out_f + c] = bv[c];
    beta = 1.f;
  }
  backend::gemm(false, true, batch, out_f, in, 1.f, x.value().data(), in, w.value().data(), in, beta, out.data(), out_f);
  auto backward = [batch, in, out_f, has_bias](Node& nd) {
    Node& nx = *nd.inputs[0];
    Node& nw = *nd.inputs[1];
    const float* g = nd.grad.data();  // (batch, out)
    float beta;
    if (nx.requires_grad) {  // dx = G W  (batch, in)
      float* gx = gemm_grad_target(nx, beta);
      backend::gemm(false, false, batch, in, out_f, 1.f, g, out_f, nw.value.data(), in, beta, gx, in);
    }
    if (nw.requires_grad) {  // dW = G^T x  (out, in)
      float* gw = gemm_grad_target(nw, beta);
      backend::gemm(true, false, out_f, in, batch, 1.f, g, out_f, nx.value.data(), in, beta, gw, in);
    }
    if (has_bias && nd.inputs[2]->requires_grad) {  // db = Σ_rows G  (out)
      Node& nb = *nd.inputs[2];
      Tensor& gb = autograd::grad_buffer(nb);
      float* d = gb.data();
      for (int64_t r = 0; r < batch; ++r)
        for (int64_t c = 0; c < out_f; ++c) d[c] += g[r * out_f + c];
    }
  };
  if (has_bias) return make_result(std::move(out), {x, w, b}, backward, "linear");
  return make_result(std::move(out), {x, w}, backward, "linear");
}

}  // namespace bp::ops
