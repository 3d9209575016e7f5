// The blocks. Each op computes its output and records, beside it, the local backward that
// turns the output's gradient into its inputs' gradients. One .cpp per family:
//   elementwise.cpp  add, sub, mul, div (NumPy broadcasting), scalar forms, exp, log, neg
//   activation.cpp   binary step, sigmoid, tanh, ReLU, leaky ReLU, softplus, softmax, log-softmax
//   linear.cpp       matmul, linear (GEMM + bias, fused)
//   reduce.cpp       sum, mean (all or along one dimension), reshape
//   loss.cpp         SSE, MSE, BCE on logits, softmax cross-entropy (fused)
#pragma once

#include <cstdint>
#include <vector>

#include "backprop/autograd/var.hpp"

namespace bp::ops {

// ---- elementwise, with NumPy broadcasting (shapes aligned from the right; size-1 dims stretch)
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add_scalar(const Var& a, float s);
Var mul_scalar(const Var& a, float s);
Var neg(const Var& a);
Var exp(const Var& a);
Var log(const Var& a);
// relu(a + b) for operands of one shape, as one block (a residual block's sum and its ReLU:
// no tensor for the sum); the gradient dy·[y > 0] goes to both.
Var add_relu(const Var& a, const Var& b);
// The shape two operands broadcast to; throws ShapeError if they do not.
Shape broadcast_shape(const Shape& a, const Shape& b);

// ---- activations (elementwise unless stated)
// Rosenblatt's binary step: 1 if z >= 0 else 0. Its derivative is 0 wherever it exists
// (and undefined at 0), so backward passes a zero gradient: a step unit cannot be trained
// by backpropagation, which is why the perceptron has its own learning rule.
Var step(const Var& z);
Var sigmoid(const Var& z);   // 1/(1+e^-z), computed without overflow for any z; σ' = σ(1-σ)
Var tanh(const Var& z);      // tanh' = 1 - tanh²
Var relu(const Var& z);      // max(0, z); derivative 1 for z > 0, 0 for z <= 0 (0 at the kink, as PyTorch)
Var leaky_relu(const Var& z, float slope = 0.01f);  // z > 0 ? z : slope·z
Var softplus(const Var& z);  // log(1 + e^z), stable; derivative σ(z)
// Along the last dimension.
Var softmax(const Var& z);
Var log_softmax(const Var& z);

// ---- matrix products
// (m, k) x (k, n) -> (m, n)
Var matmul(const Var& a, const Var& b);
// y = x W^T + b, the fused fully connected layer. x (batch, in), w (out, in), b (out) or
// undefined for no bias. -> (batch, out)
Var linear(const Var& x, const Var& w, const Var& b);

// ---- reductions and shape
Var sum(const Var& a);                        // -> scalar (shape {})
Var mean(const Var& a);                       // -> scalar
Var sum(const Var& a, int dim, bool keepdim = false);
Var mean(const Var& a, int dim, bool keepdim = false);
Var reshape(const Var& a, Shape shape);

// ---- losses (all return a scalar)
// Sum of squared errors Σ (y - ŷ)² and its mean over elements. pred and target same shape.
Var sse_loss(const Var& pred, const Var& target);
Var mse_loss(const Var& pred, const Var& target);
// Mean binary cross-entropy on logits z with targets t in [0,1]:
// mean(max(z,0) - z·t + log(1 + e^-|z|)), exact for any |z|; gradient (σ(z) - t)/n.
Var bce_with_logits(const Var& logits, const Var& target);
// Mean softmax cross-entropy over a batch of logits (batch, classes).
// With class indices: -mean log softmax(z)[y]. Gradient (ŷ - y)/batch with y one-hot.
Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& classes);
// With one-hot (or any probability) targets of the same shape: -mean Σ_k t_k log softmax(z)_k.
Var softmax_cross_entropy(const Var& logits, const Var& target);

}  // namespace bp::ops
