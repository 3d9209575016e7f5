// Tensor: a shape and contiguous float32 storage on a device. Nothing else lives here:
// arithmetic is in ops/, gradients in autograd/.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bp {

using Shape = std::vector<int64_t>;

// Where a tensor's storage lives. Only the CPU exists today; the enum is the seam a GPU
// backend extends (see backend/backend.hpp).
enum class Device { CPU };

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// A user-facing error about shapes or values (wrong input), as opposed to a bug.
struct ShapeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape);
  Tensor(Shape shape, float fill);
  // Copies `values` (must have numel(shape) elements).
  Tensor(Shape shape, const std::vector<float>& values);
  // A view of `count` floats that start at `data` and are owned by `owner`
  // (used by the flat parameter buffers: every parameter is a view into one allocation).
  static Tensor view(std::shared_ptr<float[]> owner, float* data, Shape shape);
  // Uninitialised tensor: for outputs that a kernel overwrites completely.
  static Tensor empty(Shape shape);

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  // Size of dimension i; negative i counts from the end.
  int64_t dim(int i) const;
  int64_t numel() const { return numel_; }
  Device device() const { return Device::CPU; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }
  // The single value of a one-element tensor.
  float item() const;

  // Same storage, new shape (one dimension may be -1).
  Tensor reshape(Shape shape) const;
  // Deep copy.
  Tensor clone() const;
  std::vector<float> to_vector() const { return {data_, data_ + numel_}; }
  void fill(float v);
  void zero();
  // Copies the values of `src` (same number of elements) into this tensor's storage.
  void copy_from(const Tensor& src);
  bool same_storage(const Tensor& o) const { return data_ == o.data_; }
  // The allocation this tensor's data lives in (shared by views and reshapes).
  const std::shared_ptr<float[]>& owner() const { return owner_; }
  // True if every element is finite.
  bool all_finite() const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<float[]> owner_;
  float* data_ = nullptr;
};

// 64-byte aligned float allocation from the caching allocator (tensor/allocator.hpp), returned
// to it when the last owner goes.
std::shared_ptr<float[]> alloc_floats(int64_t n);

}  // namespace bp

namespace bp {
// Rows idx[0..count) of t (first dimension) copied into a new tensor of shape (count, ...).
Tensor gather_rows(const Tensor& t, const int64_t* idx, int64_t count);
}  // namespace bp
