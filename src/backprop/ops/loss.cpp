// Losses: each returns a scalar and fuses its backward where the lecture's derivation
// gives a short form (softmax + cross-entropy: ŷ − y).
#include <algorithm>
#include <cmath>

#include "backprop/ops/detail.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::make_result;
using detail::log_softmax_rows;
using detail::stable_sigmoid;

namespace {

void same_shape(const Var& a, const Var& b, const char* op) {
  if (a.shape() != b.shape())
    throw ShapeError(std::string(op) + ": prediction " + shape_str(a.shape()) + " and target " +
                     shape_str(b.shape()) + " must have the same shape");
  if (a.numel() == 0) throw ShapeError(std::string(op) + ": empty input");
}

// Squared error Σ (ŷ − y)² times `scale` (1 for SSE, 1/n for MSE).
Var squared_error(const Var& pred, const Var& target, float scale, const char* name) {
  same_shape(pred, target, name);
  const float* p = pred.value().data();
  const float* t = target.value().data();
  const int64_t n = pred.numel();
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(p[i]) - t[i];
    s += d * d;
  }
  return make_result(Tensor(Shape{}, static_cast<float>(s * scale)), {pred, target}, [scale, n](Node& nd) {
    // ∂E/∂ŷ = 2(ŷ − y)·scale, ∂E/∂y = −2(ŷ − y)·scale
    Node& np = *nd.inputs[0];
    Node& nt = *nd.inputs[1];
    const float g = nd.grad[0] * 2.f * scale;
    const float* p = np.value.data();
    const float* t = nt.value.data();
    if (np.requires_grad) {
      Tensor gp = Tensor::empty(np.value.shape());
      for (int64_t i = 0; i < n; ++i) gp[i] = g * (p[i] - t[i]);
      accumulate(np, std::move(gp));
    }
    if (nt.requires_grad) {
      Tensor gt = Tensor::empty(nt.value.shape());
      for (int64_t i = 0; i < n; ++i) gt[i] = -g * (p[i] - t[i]);
      accumulate(nt, std::move(gt));
    }
  }, name);
}

void require_logits_2d(const Var& z, const char* op) {
  if (z.value().ndim() != 2 || z.shape()[0] == 0 || z.shape()[1] == 0)
    throw ShapeError(std::string(op) + ": logits must be (batch, classes) and non-empty, got " + shape_str(z.shape()));
}

}  // namespace

Var sse_loss(const Var& pred, const Var& target) { return squared_error(pred, target, 1.f, "sse_loss"); }

Var mse_loss(const Var& pred, const Var& target) {
  return squared_error(pred, target, 1.f / static_cast<float>(std::max<int64_t>(pred.numel(), 1)), "mse_loss");
}

Var bce_with_logits(const Var& logits, const Var& target) {
  same_shape(logits, target, "bce_with_logits");
  const float* z = logits.value().data();
  const float* t = target.value().data();
  const int64_t n = logits.numel();
  double s = 0;
  for (int64_t i = 0; i < n; ++i)  // max(z,0) − z·t + log(1 + e^−|z|): no overflow for any z
    s += std::max(z[i], 0.f) - z[i] * t[i] + std::log1p(std::exp(-std::fabs(z[i])));
  const float inv_n = 1.f / static_cast<float>(n);
  return make_result(Tensor(Shape{}, static_cast<float>(s * inv_n)), {logits, target}, [n, inv_n](Node& nd) {
    Node& nz = *nd.inputs[0];
    Node& nt = *nd.inputs[1];
    const float g = nd.grad[0] * inv_n;
    const float* z = nz.value.data();
    const float* t = nt.value.data();
    if (nz.requires_grad) {  // ∂/∂z = σ(z) − t
      Tensor gz = Tensor::empty(nz.value.shape());
      for (int64_t i = 0; i < n; ++i) gz[i] = g * (stable_sigmoid(z[i]) - t[i]);
      accumulate(nz, std::move(gz));
    }
    if (nt.requires_grad) {  // ∂/∂t = −z
      Tensor gt = Tensor::empty(nt.value.shape());
      for (int64_t i = 0; i < n; ++i) gt[i] = -g * z[i];
      accumulate(nt, std::move(gt));
    }
  }, "bce_with_logits");
}

Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& classes) {
  require_logits_2d(logits, "softmax_cross_entropy");
  const int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  if (static_cast<int64_t>(classes.size()) != rows)
    throw ShapeError("softmax_cross_entropy: " + std::to_string(classes.size()) + " class labels for " +
                     std::to_string(rows) + " rows of logits");
  for (int32_t c : classes)
    if (c < 0 || c >= cols)
      throw ShapeError("softmax_cross_entropy: class index " + std::to_string(c) + " outside [0, " +
                       std::to_string(cols) + ")");
  // Keep log-probabilities for backward: softmax = exp(logp).
  auto logp = std::make_shared<Tensor>(Tensor::empty({rows, cols}));
  log_softmax_rows(logits.value().data(), logp->data(), rows, cols);
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) s -= (*logp)[r * cols + classes[r]];
  const float inv_b = 1.f / static_cast<float>(rows);
  return make_result(Tensor(Shape{}, static_cast<float>(s * inv_b)), {logits},
                     [logp, classes, rows, cols, inv_b](Node& nd) {
    // ∂E/∂z = (ŷ − y) / batch, y one-hot
    Node& nz = *nd.inputs[0];
    const float g = nd.grad[0] * inv_b;
    Tensor gz = Tensor::empty({rows, cols});
    const float* lp = logp->data();
    float* d = gz.data();
    for (int64_t i = 0; i < rows * cols; ++i) d[i] = g * std::exp(lp[i]);
    for (int64_t r = 0; r < rows; ++r) d[r * cols + classes[r]] -= g;
    accumulate(nz, std::move(gz));
  }, "softmax_cross_entropy");
}

Var softmax_cross_entropy(const Var& logits, const Var& target) {
  require_logits_2d(logits, "softmax_cross_entropy");
  same_shape(logits, target, "softmax_cross_entropy");
  const int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  auto logp = std::make_shared<Tensor>(Tensor::empty({rows, cols}));
  log_softmax_rows(logits.value().data(), logp->data(), rows, cols);
  const float* t = target.value().data();
  double s = 0;
  for (int64_t i = 0; i < rows * cols; ++i) s -= static_cast<double>(t[i]) * (*logp)[i];
  const float inv_b = 1.f / static_cast<float>(rows);
  return make_result(Tensor(Shape{}, static_cast<float>(s * inv_b)), {logits, target},
                     [logp, rows, cols, inv_b](Node& nd) {
    Node& nz = *nd.inputs[0];
    Node& nt = *nd.inputs[1];
    const float g = nd.grad[0] * inv_b;
    const float* lp = logp->data();
    const float* t = nt.value.data();
    if (nz.requires_grad) {  // ∂E/∂z_c = ŷ_c Σ_k t_k − t_c  (= ŷ − y for one-hot targets)
      Tensor gz = Tensor::empty({rows, cols});
      for (int64_t r = 0; r < rows; ++r) {
        float ts = 0;
        for (int64_t c = 0; c < cols; ++c) ts += t[r * cols + c];
        for (int64_t c = 0; c < cols; ++c)
          gz[r * cols + c] = g * (std::exp(lp[r * cols + c]) * ts - t[r * cols + c]);
      }
      accumulate(nz, std::move(gz));
    }
    if (nt.requires_grad) {  // ∂E/∂t_c = −log ŷ_c
      Tensor gt = Tensor::empty({rows, cols});
      for (int64_t i = 0; i < rows * cols; ++i) gt[i] = -g * lp[i];
      accumulate(nt, std::move(gt));
    }
  }, "softmax_cross_entropy");
}

}  // namespace bp::ops
