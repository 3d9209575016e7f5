// Parameters in flat buffers (as llm.c keeps them): every parameter's value is a view into
// one allocation and its gradient a view into another, so an optimizer step is one loop
// over contiguous memory and zeroing the gradients is one memset.
#pragma once

#include <memory>
#include <vector>

#include "backprop/autograd/var.hpp"

namespace bp::optim {

struct FlatParameters {
  std::shared_ptr<float[]> values, grads;
  int64_t size = 0;
  float* value_data() const { return values.get(); }
  float* grad_data() const { return grads.get(); }
  void zero_grad() const;
};

// Moves the parameters into flat buffers (copying their current values) and re-points each
// parameter to its slice, so every holder of the Var sees the flat storage. If they already
// sit contiguously, in order, in one flat buffer, nothing is copied.
FlatParameters flatten(const std::vector<Var>& params);

}  // namespace bp::optim
