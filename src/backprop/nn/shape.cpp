#include "backprop/nn/shape.hpp"

#include <stdexcept>

#include "backprop/ops/ops.hpp"

namespace bp::nn {

Reshape::Reshape(Shape shape) : shape_(std::move(shape)) {
  int64_t n = 1;
  for (int64_t d : shape_) {
    if (d <= 0) throw std::invalid_argument("reshape: dimensions must be positive, got " + shape_str(shape_));
    n *= d;
  }
}

Var Reshape::forward(const Var& x) {
  if (x.value().ndim() < 1) throw ShapeError("reshape needs a batch dimension");
  const int64_t per = x.shape()[0] ? x.numel() / x.shape()[0] : 0;
  if (per != shape_numel(shape_))
    throw ShapeError("reshape: examples of shape " + shape_str(Shape(x.shape().begin() + 1, x.shape().end())) +
                     " cannot be viewed as " + shape_str(shape_));
  Shape s{x.shape()[0]};
  s.insert(s.end(), shape_.begin(), shape_.end());
  return ops::reshape(x, s);
}

Var Flatten::forward(const Var& x) {
  if (x.value().ndim() < 1) throw ShapeError("flatten needs a batch dimension");
  return ops::reshape(x, {x.shape()[0], -1});
}

}  // namespace bp::nn
