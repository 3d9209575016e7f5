// Reverse-mode automatic differentiation over a tape.
//
// Every op (a "block" in the lecture's words) computes its output value and, if any input
// needs a gradient and grad mode is on, records a Node on the thread's tape together with a
// closure that, given the gradient of the loss w.r.t. the output, adds the gradients w.r.t.
// its inputs (its local derivative times the incoming gradient). backward() walks the tape
// in reverse recording order, which is a topological order of the graph.
//
// Convention (as in llm.c): gradients accumulate (+=). A leaf's gradient persists across
// backward() calls until zero_grad(); the tape is released after each backward().
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "backprop/tensor/tensor.hpp"

namespace bp {

struct Node {
  Tensor value;
  Tensor grad;  // undefined until a gradient reaches this node
  bool requires_grad = false;
  // Propagates this->grad into the inputs' gradients. Empty for leaves and constants.
  std::function<void(Node&)> backward;
  std::vector<std::shared_ptr<Node>> inputs;  // keeps the graph alive while anything uses it
  const char* op = "leaf";
};

class Var {
 public:
  Var() = default;
  // A leaf (input or parameter).
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& value() { return node_->value; }
  // Gradient of the last backward()'s loss w.r.t. this value; undefined if none reached it.
  const Tensor& grad() const { return node_->grad; }
  Tensor& grad() { return node_->grad; }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  void set_requires_grad(bool r) { node_->requires_grad = r; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t numel() const { return node_->value.numel(); }
  float item() const { return node_->value.item(); }
  const char* op() const { return node_->op; }
  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

  // Runs reverse mode from this value: a scalar (seeded with 1) or, with `seed`, any shape.
  void backward() const;
  void backward(const Tensor& seed) const;
  // Sets this leaf's gradient to zero (keeps its buffer).
  void zero_grad();
  // The same value, cut from the graph.
  Var detach() const { return Var(node_->value, false); }

 private:
  std::shared_ptr<Node> node_;
};

namespace autograd {

// Is recording on for this thread?
bool grad_enabled();
void set_grad_enabled(bool on);

// Inference mode: nothing is recorded while one of these lives.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Creates an op's result. If grad mode is on and an input requires a gradient, the result
// requires one too, keeps its inputs and `backward`, and is recorded on the tape.
Var make_result(Tensor value, std::vector<Var> inputs, std::function<void(Node&)> backward,
                const char* op);
// A result that records nothing (a constant with the op's name).
Var make_unrecorded(Tensor value, const char* op);
// The same for a fixed list of inputs and any callable. Nothing that only recording needs
// (the std::function, the inputs vector) is built unless the result is recorded, so inference
// under NoGradGuard costs one Node and the value's storage per op.
template <class F>
Var make_result(Tensor value, std::initializer_list<Var> inputs, F&& backward, const char* op) {
  const bool record =
      grad_enabled() && std::any_of(inputs.begin(), inputs.end(), [](const Var& v) { return v.requires_grad(); });
  if (!record) return make_unrecorded(std::move(value), op);
  return make_result(std::move(value), std::vector<Var>(inputs), std::function<void(Node&)>(std::forward<F>(backward)),
                     op);
}

// Adds `g` into n's gradient. A fresh gradient takes g's storage without copying, so `g`
// must be a tensor the caller owns and will not reuse.
void accumulate(Node& n, Tensor&& g);
// Returns n's gradient buffer, allocating it zero-filled if absent (for kernels that add
// into it in place, such as a GEMM with beta = 1).
Tensor& grad_buffer(Node& n);

// Number of live nodes on this thread's tape (for tests).
size_t tape_size();
void clear_tape();

}  // namespace autograd
}  // namespace bp
