// The blocks of convolutional networks, forward beside backward, one .cpp per family:
//   conv.cpp   2-D convolution (NCHW): the fast one (im2col + backend::gemm, batch split over
//              threads) and the direct loop it is tested against
//   pool.cpp   max / average pooling, global average pooling
//   norm.cpp   batch normalisation (1-D and 2-D), dropout, random shift/flip augmentation
// Layout everywhere: NCHW, contiguous; a "plane" is one (n, c) slice of H·W values.
#pragma once

#include <cstdint>

#include "backprop/autograd/var.hpp"
#include "backprop/util/rng.hpp"

namespace bp::ops {

// ---- convolution
// Geometry of a 2-D convolution; the kernel size comes from the weight's shape.
struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;      // zero padding on each side
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;                // in and out channels split into this many independent groups
};
// Square shorthand.
inline Conv2dParams conv_params(int64_t stride, int64_t pad, int64_t dilation = 1, int64_t groups = 1) {
  return {stride, stride, pad, pad, dilation, dilation, groups};
}

// y[n, o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v] · x[n, g·C/G + c, i·s − p + u·d, j·s − p + v·d]
// (cross-correlation, as every framework calls "convolution"; g = o / (O/G)).
// x (N, C, H, W), w (O, C/G, KH, KW), b (O) or undefined -> (N, O, OH, OW) with
// OH = ⌊(H + 2p − d(KH − 1) − 1)/s⌋ + 1 (likewise OW). Throws ShapeError on mismatched shapes.
Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p = {});
// relu(conv2d(x, w, b)) fused: the ReLU is applied as the output is stored, and backward masks
// the gradient by y > 0 sample by sample, so no separate activation tensor is made (LeNet).
Var conv2d_relu(const Var& x, const Var& w, const Var& b, const Conv2dParams& p = {});
// The same block computed by the obvious seven nested loops (double accumulation), forward and
// backward: the reference the fast conv2d is tested against. Slow; for tests only.
Var conv2d_reference(const Var& x, const Var& w, const Var& b, const Conv2dParams& p = {});
// Output size of one spatial dimension (throws ShapeError if the window does not fit).
int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation = 1);

// ---- pooling, x (N, C, H, W)
// Windows of kernel×kernel every `stride`, padded with `pad` on each side (pad <= kernel/2).
// Max: padding never wins; gradient goes to the first maximum of each window (as PyTorch).
Var max_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t pad = 0);
// Average over the kernel×kernel window, padding counted as zeros (PyTorch's default
// count_include_pad=True).
Var avg_pool2d(const Var& x, int64_t kernel, int64_t stride, int64_t pad = 0);
// Mean of each plane: (N, C, H, W) -> (N, C).
Var global_avg_pool2d(const Var& x);

// ---- normalisation and regularisation
// Batch normalisation over dimension 1 of x (N, C) or (N, C, H, W) (any trailing dims):
//   training: x̂ = (x − μ_B)/√(σ²_B + ε) with the batch's per-channel mean and biased variance,
//             and running ← (1 − momentum)·running + momentum·batch (unbiased variance, as PyTorch);
//   eval:     x̂ = (x − running_mean)/√(running_var + ε).
// y = γ x̂ + β (gamma/beta (C), or undefined for no affine transform). running_* (C) may be
// null in training mode (no statistics kept); eval mode needs them.
Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor* running_mean, Tensor* running_var,
               bool training, float momentum = 0.1f, float eps = 1e-5f);
// relu(batch_norm(...)) as one block (the same values; no separate activation tensor): the
// residual net's BN–ReLU pairs.
Var batch_norm_relu(const Var& x, const Var& gamma, const Var& beta, Tensor* running_mean, Tensor* running_var,
                    bool training, float momentum = 0.1f, float eps = 1e-5f);
// Inverted dropout: in training, each element is zeroed with probability p and survivors are
// scaled by 1/(1 − p), so eval mode is the identity. Draws come from `rng` (seeded by the caller).
Var dropout(const Var& x, float p, bool training, Rng& rng);

// Data augmentation as a block, x (N, C, H, W): in training, each example is mirrored left–right
// with probability 1/2 (if `flip`) and shifted by a whole number of pixels in [−max_shift,
// max_shift] along each axis, zeros filling in; in eval it is the identity. Backward routes
// each output's gradient to the input pixel it came from.
Var random_shift_flip(const Var& x, int64_t max_shift, bool flip, bool training, Rng& rng);

}  // namespace bp::ops
