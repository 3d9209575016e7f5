// Batch normalisation and dropout, forward beside backward.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/ops/conv_ops.hpp"

namespace bp::ops {

using autograd::accumulate;
using autograd::grad_buffer;
using autograd::make_result;

namespace {

// Sums over a channel's values are float within one (n, c) row of S values (vectorised: the
// simd reductions allow reassociation) and double across rows.
// Per channel c over its M = N·S values (S = product of the dims after C):
//   forward   x̂ = (x − μ)·r with r = 1/√(σ² + ε);  z = γ x̂ + β;  y = z, or max(z, 0) with relu
//   backward  g = dy, or dy·[y > 0] with relu (z > 0 exactly where y > 0)
//             dβ = Σ g;  dγ = Σ g·x̂
//             training (μ, σ² depend on x):  dx = γ r (g − dβ/M − x̂ dγ/M)
//             eval (μ, σ² are constants):    dx = γ r g
// The forward keeps μ and r per channel (not x̂): backward recomputes x̂ from x. The statistics
// take two passes over the channel (the mean, then the spread around it: no cancellation); its
// N rows of S values stay in cache between the passes. Each channel's numbers come from its own
// values in a fixed order, so they do not depend on how the channels are split over threads.
// Fusing the ReLU saves the activation's own tensor and its two passes, forward and backward.
Var batch_norm_impl(const Var& x, const Var& gamma, const Var& beta, Tensor* running_mean, Tensor* running_var,
                    bool training, float momentum, float eps, bool relu) {
  const Tensor& xv = x.value();
  if (xv.ndim() < 2) throw ShapeError("batch_norm: input must be (N, C, ...), got " + shape_str(xv.shape()));
  const int64_t N = xv.dim(0), C = xv.dim(1), S = N ? xv.numel() / (N * C) : 0, M = N * S;
  const bool affine = gamma.defined();
  if (affine && (gamma.numel() != C || !beta.defined() || beta.numel() != C))
    throw ShapeError("batch_norm: gamma and beta must both have " + std::to_string(C) + " values");
  for (Tensor* r : {running_mean, running_var})
    if (r && r->numel() != C)
      throw ShapeError("batch_norm: running statistics " + shape_str(r->shape()) + " for " + std::to_string(C) + " channels");
  if (!training && (!running_mean || !running_var))
    throw std::invalid_argument("batch_norm: eval mode needs running statistics");
  if (training && M < 2)
    throw ShapeError("batch_norm: training needs more than one value per channel, input " + shape_str(xv.shape()));

  auto mean = std::make_shared<std::vector<float>>(static_cast<size_t>(C));
  auto rstd = std::make_shared<std::vector<float>>(static_cast<size_t>(C));
  const float* xp = xv.data();
  Tensor out = Tensor::empty(xv.shape());
  float* yp = out.data();
  const float* gp = affine ? gamma.value().data() : nullptr;
  const float* bp_ = affine ? beta.value().data() : nullptr;
  backend::parallel_for(C, 3 * M * C, [&](int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    float mu, var;
    if (training) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* r = xp + (n * C + c) * S;
        float part = 0.f;
#pragma omp simd reduction(+ : part)
        for (int64_t i = 0; i < S; ++i) part += r[i];
        s += part;
      }
      mu = static_cast<float>(s / static_cast<double>(M));
      double q = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* r = xp + (n * C + c) * S;
        float part = 0.f;
#pragma omp simd reduction(+ : part)
        for (int64_t i = 0; i < S; ++i) part += (r[i] - mu) * (r[i] - mu);
        q += part;
      }
      var = static_cast<float>(q / static_cast<double>(M));
      if (running_mean) {
        float* rm = running_mean->data();
        rm[c] = (1.f - momentum) * rm[c] + momentum * mu;
      }
      if (running_var) {
        float* rv = running_var->data();
        const float unbiased = static_cast<float>(q / static_cast<double>(M - 1));
        rv[c] = (1.f - momentum) * rv[c] + momentum * unbiased;
      }
    } else {
      mu = (*running_mean)[c];
      var = (*running_var)[c];
    }
    const float r = 1.f / std::sqrt(var + eps);
    (*mean)[c] = mu;
    (*rstd)[c] = r;
    const float scale = affine ? gp[c] * r : r;  // y = x·scale + shift
    const float shift = (affine ? bp_[c] : 0.f) - mu * scale;
    for (int64_t n = 0; n < N; ++n) {
      const float* __restrict xr = xp + (n * C + c) * S;
      float* __restrict yr = yp + (n * C + c) * S;
      if (relu) {
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) {
          const float z = xr[i] * scale + shift;
          yr[i] = z > 0.f ? z : 0.f;  // as ops::relu (a NaN becomes 0)
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) yr[i] = xr[i] * scale + shift;
      }
    }
  }
  });
  std::vector<Var> inputs{x};
  if (affine) inputs.insert(inputs.end(), {gamma, beta});
  return make_result(std::move(out), std::move(inputs), [N, C, S, M, affine, training, relu, mean, rstd](Node& nd) {
    Node& nx = *nd.inputs[0];
    Node* ng = affine ? nd.inputs[1].get() : nullptr;
    Node* nb = affine ? nd.inputs[2].get() : nullptr;
    const float* xp = nx.value.data();  // (N, C, S)
    const float* yp = nd.value.data();  // (N, C, S): the output, for the ReLU's mask
    const float* dy = nd.grad.data();   // (N, C, S)
    const float* gp = affine ? ng->value.data() : nullptr;
    // dx is written into a fresh tensor when x has no gradient yet (no zero fill, no read),
    // else added into the one it has.
    const bool fresh = nx.requires_grad && !nx.grad.defined();
    Tensor dx_new = fresh ? Tensor::empty(nx.value.shape()) : Tensor();
    float* dx = fresh ? dx_new.data() : nx.requires_grad ? nx.grad.data() : nullptr;
    float* dg = ng && ng->requires_grad ? grad_buffer(*ng).data() : nullptr;
    float* db = nb && nb->requires_grad ? grad_buffer(*nb).data() : nullptr;
    backend::parallel_for(C, 3 * M * C, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float mu = (*mean)[c], r = (*rstd)[c];
      double sdy = 0, sdyx = 0;  // Σ g, Σ g·(x − μ)
      for (int64_t n = 0; n < N; ++n) {
        const float* xr = xp + (n * C + c) * S;
        const float* yr = yp + (n * C + c) * S;
        const float* gr = dy + (n * C + c) * S;
        float a = 0.f, b = 0.f;
        if (relu) {
#pragma omp simd reduction(+ : a, b)
          for (int64_t i = 0; i < S; ++i) {
            const float g = yr[i] > 0.f ? gr[i] : 0.f;
            a += g;
            b += g * (xr[i] - mu);
          }
        } else {
#pragma omp simd reduction(+ : a, b)
          for (int64_t i = 0; i < S; ++i) {
            a += gr[i];
            b += gr[i] * (xr[i] - mu);
          }
        }
        sdy += a;
        sdyx += b;
      }
      sdyx *= r;
      if (dg) dg[c] += static_cast<float>(sdyx);
      if (db) db[c] += static_cast<float>(sdy);
      if (!dx) continue;
      const float k = (affine ? gp[c] : 1.f) * r;
      const float mdy = training ? static_cast<float>(sdy / static_cast<double>(M)) : 0.f;
      const float mdyx = training ? static_cast<float>(sdyx / static_cast<double>(M)) : 0.f;
      for (int64_t n = 0; n < N; ++n) {
        const float* __restrict xr = xp + (n * C + c) * S;
        const float* __restrict yr = yp + (n * C + c) * S;
        const float* __restrict gr = dy + (n * C + c) * S;
        float* __restrict d = dx + (n * C + c) * S;
        if (fresh) {
#pragma omp simd
          for (int64_t i = 0; i < S; ++i) {
            const float g = !relu || yr[i] > 0.f ? gr[i] : 0.f;
            d[i] = k * (g - mdy - (xr[i] - mu) * r * mdyx);
          }
        } else {
#pragma omp simd
          for (int64_t i = 0; i < S; ++i) {
            const float g = !relu || yr[i] > 0.f ? gr[i] : 0.f;
            d[i] += k * (g - mdy - (xr[i] - mu) * r * mdyx);
          }
        }
      }
    }
    });
    if (fresh) accumulate(nx, std::move(dx_new));
  }, relu ? (training ? "batch_norm_relu" : "batch_norm_relu_eval") : (training ? "batch_norm" : "batch_norm_eval"));
}

}  // namespace

Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor* running_mean, Tensor* running_var,
               bool training, float momentum, float eps) {
  return batch_norm_impl(x, gamma, beta, running_mean, running_var, training, momentum, eps, false);
}

Var batch_norm_relu(const Var& x, const Var& gamma, const Var& beta, Tensor* running_mean, Tensor* running_var,
                    bool training, float momentum, float eps) {
  return batch_norm_impl(x, gamma, beta, running_mean, running_var, training, momentum, eps, true);
}

// y = x·m with m = 1/(1 − p) (kept) or 0 (dropped); dx = dy·m. The mask is kept as one byte
// per element (kept or not) for backward.
// An element is dropped when the generator's uniform() = k·2⁻⁵³ (k its word's top 53 bits)
// is below p, i.e. when k < ⌈p·2⁵³⌉: the same draws as comparing uniform() with p, without
// the conversion, and written branch-free (the outcome is a coin toss the branch predictor
// cannot learn).
Var dropout(const Var& x, float p, bool training, Rng& rng) {
  if (!(p >= 0.f && p <= 1.f)) throw std::invalid_argument("dropout: probability must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0.f) return x;
  const float keep = p < 1.f ? 1.f / (1.f - p) : 0.f;
  const auto threshold = static_cast<uint64_t>(std::ceil(std::ldexp(static_cast<double>(p), 53)));
  const int64_t count = x.numel();
  auto kept = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(count));
  uint8_t* k = kept->data();
  for (int64_t i = 0; i < count; ++i) k[i] = (rng.next_u64() >> 11) >= threshold;
  const float* __restrict xv = x.value().data();
  Tensor out = Tensor::empty(x.shape());
  float* __restrict y = out.data();
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) y[i] = xv[i] * (k[i] ? keep : 0.f);  // as x·m: a NaN stays NaN
  return make_result(std::move(out), {x}, [kept, keep, count](Node& nd) {
    Node& in = *nd.inputs[0];
    Tensor g = Tensor::empty(in.value.shape());
    const uint8_t* __restrict k = kept->data();
    const float* __restrict dy = nd.grad.data();
    float* __restrict gp = g.data();
#pragma omp simd
    for (int64_t i = 0; i < count; ++i) gp[i] = dy[i] * (k[i] ? keep : 0.f);
    accumulate(in, std::move(g));
  }, "dropout");
}

// y[n, c, i, j] = x[n, c, i − dy_n, j' − dx_n] with j' = j or W−1−j (mirrored), 0 outside;
// the per-example draws (flip, dy, dx) are kept for backward, which adds each output's
// gradient to the pixel it was read from.
Var random_shift_flip(const Var& x, int64_t max_shift, bool flip, bool training, Rng& rng) {
  if (x.value().ndim() != 4) throw ShapeError("random_shift_flip: input must be (N, C, H, W), got " + shape_str(x.shape()));
  if (max_shift < 0) throw std::invalid_argument("random_shift_flip: max_shift must be >= 0");
  if (!training || (max_shift == 0 && !flip)) return x;
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  struct Draw {
    bool mirror;
    int64_t sy, sx;
  };
  auto draws = std::make_shared<std::vector<Draw>>(static_cast<size_t>(N));
  for (auto& d : *draws) {
    d.mirror = flip && rng.uniform() < 0.5;
    d.sy = max_shift ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(2 * max_shift + 1))) - max_shift : 0;
    d.sx = max_shift ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(2 * max_shift + 1))) - max_shift : 0;
  }
  // Calls f(output index, input index) for every output pixel that reads an input pixel.
  auto each = [N, C, H, W, draws](auto&& f) {
    for (int64_t n = 0; n < N; ++n) {
      const Draw d = (*draws)[n];
      for (int64_t c = 0; c < C; ++c) {
        const int64_t base = (n * C + c) * H * W;
        for (int64_t i = 0; i < H; ++i) {
          const int64_t si = i - d.sy;
          if (si < 0 || si >= H) continue;
          for (int64_t j = 0; j < W; ++j) {
            int64_t sj = j - d.sx;
            if (sj < 0 || sj >= W) continue;
            if (d.mirror) sj = W - 1 - sj;
            f(base + i * W + j, base + si * W + sj);
          }
        }
      }
    }
  };
  Tensor out(x.shape());
  const float* xv = x.value().data();
  float* y = out.data();
  each([&](int64_t o, int64_t i) { y[o] = xv[i]; });
  return make_result(std::move(out), {x}, [each](Node& nd) {
    Node& in = *nd.inputs[0];
    float* dx = grad_buffer(in).data();
    const float* dy = nd.grad.data();
    each([&](int64_t o, int64_t i) { dx[i] += dy[o]; });
  }, "random_shift_flip");
}

}  // namespace bp::ops
