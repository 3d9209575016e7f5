#include "backprop/optim/flat.hpp"

#include <cstring>

namespace bp::optim {

void FlatParameters::zero_grad() const {
  if (size) std::memset(grads.get(), 0, sizeof(float) * size);
}

FlatParameters flatten(const std::vector<Var>& params) {
  int64_t total = 0;
  for (const Var& p : params) total += p.numel();
  FlatParameters flat;
  flat.size = total;
  // Already flat and in order?
  if (!params.empty() && params[0].grad().defined()) {
    const float* v0 = params[0].value().data();
    const float* g0 = params[0].grad().data();
    bool contiguous = true;
    int64_t off = 0;
    for (const Var& p : params) {
      contiguous = contiguous && p.grad().defined() && p.value().data() == v0 + off && p.grad().data() == g0 + off;
      off += p.numel();
    }
    if (contiguous && params[0].node()->value.owner() && params[0].node()->grad.owner()) {
      flat.values = params[0].node()->value.owner();
      flat.grads = params[0].node()->grad.owner();
      if (flat.values.get() == v0 && flat.grads.get() == g0) return flat;
    }
  }
  flat.values = alloc_floats(total);
  flat.grads = alloc_floats(total);
  std::memset(flat.grads.get(), 0, sizeof(float) * std::max<int64_t>(total, 1));
  int64_t off = 0;
  for (const Var& p : params) {
    Node& n = *p.node();
    const int64_t k = n.value.numel();
    std::memcpy(flat.values.get() + off, n.value.data(), sizeof(float) * k);
    if (n.grad.defined()) std::memcpy(flat.grads.get() + off, n.grad.data(), sizeof(float) * k);
    const Shape shape = n.value.shape();
    n.value = Tensor::view(flat.values, flat.values.get() + off, shape);
    n.grad = Tensor::view(flat.grads, flat.grads.get() + off, shape);
    off += k;
  }
  return flat;
}

}  // namespace bp::optim
