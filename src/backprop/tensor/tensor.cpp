#include "backprop/tensor/tensor.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "backprop/tensor/allocator.hpp"

namespace bp {

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + ")";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw ShapeError("negative dimension in shape " + shape_str(s));
    n *= d;
  }
  return n;
}

std::shared_ptr<float[]> alloc_floats(int64_t n) {
  if (n > static_cast<int64_t>(SIZE_MAX / sizeof(float))) throw std::bad_alloc();
  const size_t bytes = static_cast<size_t>(n > 0 ? n : 1) * sizeof(float);
  auto* p = static_cast<float*>(memory::allocate(bytes));
  // If the control block cannot be allocated, shared_ptr itself calls the deleter.
  return std::shared_ptr<float[]>(p, [bytes](float* q) { memory::deallocate(q, bytes); });
}

Tensor Tensor::empty(Shape shape) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.owner_ = alloc_floats(t.numel_);
  t.data_ = t.owner_.get();
  return t;
}

Tensor::Tensor(Shape shape) : Tensor(empty(std::move(shape))) { zero(); }

Tensor::Tensor(Shape shape, float fill_value) : Tensor(empty(std::move(shape))) { fill(fill_value); }

Tensor::Tensor(Shape shape, const std::vector<float>& values) : Tensor(empty(std::move(shape))) {
  if (static_cast<int64_t>(values.size()) != numel_)
    throw ShapeError("tensor of shape " + shape_str(shape_) + " needs " + std::to_string(numel_) +
                     " values, got " + std::to_string(values.size()));
  if (numel_) std::memcpy(data_, values.data(), sizeof(float) * numel_);
}

Tensor Tensor::view(std::shared_ptr<float[]> owner, float* data, Shape shape) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  return t;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw ShapeError("dimension " + std::to_string(i) + " out of range for shape " + shape_str(shape_));
  return shape_[i];
}

float Tensor::item() const {
  if (numel_ != 1) throw ShapeError("item() needs a one-element tensor, shape is " + shape_str(shape_));
  return data_[0];
}

Tensor Tensor::reshape(Shape shape) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ShapeError("reshape: more than one -1 in " + shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel_ % known) throw ShapeError("reshape: cannot view " + shape_str(shape_) + " as " + shape_str(shape));
    shape[infer] = numel_ / known;
  }
  if (shape_numel(shape) != numel_)
    throw ShapeError("reshape: cannot view " + shape_str(shape_) + " as " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_);
  if (numel_) std::memcpy(t.data_, data_, sizeof(float) * numel_);
  return t;
}

void Tensor::fill(float v) {
  for (int64_t i = 0; i < numel_; ++i) data_[i] = v;
}

void Tensor::zero() {
  if (numel_) std::memset(data_, 0, sizeof(float) * numel_);
}

void Tensor::copy_from(const Tensor& src) {
  if (src.numel_ != numel_)
    throw ShapeError("copy_from: " + shape_str(src.shape_) + " into " + shape_str(shape_));
  if (numel_ && src.data_ != data_) std::memmove(data_, src.data_, sizeof(float) * numel_);
}

bool Tensor::all_finite() const {
  for (int64_t i = 0; i < numel_; ++i)
    if (!std::isfinite(data_[i])) return false;
  return true;
}

}  // namespace bp

namespace bp {
Tensor gather_rows(const Tensor& t, const int64_t* idx, int64_t count) {
  if (t.ndim() == 0) throw ShapeError("gather_rows needs at least one dimension");
  Shape s = t.shape();
  const int64_t n = s[0];
  const int64_t row = n ? t.numel() / n : 0;
  s[0] = count;
  Tensor out = Tensor::empty(s);
  for (int64_t i = 0; i < count; ++i) {
    if (idx[i] < 0 || idx[i] >= n) throw ShapeError("gather_rows: row " + std::to_string(idx[i]) + " out of range");
    std::memcpy(out.data() + i * row, t.data() + idx[i] * row, sizeof(float) * row);
  }
  return out;
}
}  // namespace bp
