// Gradient-norm clipping (PyTorch's clip_grad_norm_), the usual guard against the exploding
// gradients of recurrent networks: call it between backward() and step().
#pragma once

#include <vector>

#include "backprop/optim/optim.hpp"

namespace bp::optim {

// total = ‖(g₁, …, gₙ)‖₂, the 2-norm of all the gradients together (undefined ones skipped);
// if max_norm / (total + 1e-6) < 1, every gradient is multiplied by that factor. Returns total
// as it was before clipping. A non-finite total leaves the gradients as they are (the caller
// sees it and decides; PyTorch would scale them all to NaN). Throws std::invalid_argument
// unless max_norm > 0.
float clip_grad_norm(const std::vector<Var>& params, float max_norm);
// The same over an optimizer's parameters: one loop over its flat gradient buffer.
float clip_grad_norm(Optimizer& opt, float max_norm);

}  // namespace bp::optim
