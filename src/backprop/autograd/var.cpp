#include "backprop/autograd/var.hpp"

#include <algorithm>

namespace bp {
namespace {

thread_local bool t_grad_enabled = true;

// The tape holds weak references: a graph nobody holds any more (a forward pass whose loss
// was dropped without backward) frees itself, and its dead entries are swept out here.
struct Tape {
  std::vector<std::weak_ptr<Node>> entries;
  size_t sweep_at = 1024;

  void push(const std::shared_ptr<Node>& n) {
    if (entries.size() >= sweep_at) {
      std::erase_if(entries, [](const std::weak_ptr<Node>& w) { return w.expired(); });
      sweep_at = std::max<size_t>(1024, 2 * entries.size());
    }
    entries.push_back(n);
  }
};
thread_local Tape t_tape;

}  // namespace

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

void Var::backward() const {
  if (node_->value.numel() != 1)
    throw ShapeError("backward() without a seed needs a scalar, got shape " + shape_str(shape()));
  backward(Tensor(node_->value.shape(), 1.0f));
}

void Var::backward(const Tensor& seed) const {
  if (!node_->requires_grad)
    throw std::logic_error("backward(): this value does not depend on anything that requires a gradient");
  if (seed.shape() != node_->value.shape())
    throw ShapeError("backward(): seed shape " + shape_str(seed.shape()) + " differs from " + shape_str(shape()));
  autograd::accumulate(*node_, seed.clone());
  auto& entries = t_tape.entries;
  // Find this node on the tape; everything recorded after it cannot be among its inputs.
  size_t end = entries.size();
  while (end > 0 && entries[end - 1].lock() != node_) --end;
  for (size_t i = end; i-- > 0;) {
    std::shared_ptr<Node> n = entries[i].lock();
    if (!n || !n->backward || !n->grad.defined()) continue;
    n->backward(*n);
  }
  autograd::clear_tape();
}

void Var::zero_grad() {
  if (node_->grad.defined()) node_->grad.zero();
}

namespace autograd {

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }

Var make_result(Tensor value, std::vector<Var> inputs, std::function<void(Node&)> backward, const char* op) {
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->op = op;
  if (t_grad_enabled) {
    bool any = false;
    for (const Var& v : inputs) any = any || v.requires_grad();
    if (any) {
      n->requires_grad = true;
      n->backward = std::move(backward);
      n->inputs.reserve(inputs.size());
      for (Var& v : inputs) n->inputs.push_back(v.node_ptr());
      t_tape.push(n);
    }
  }
  return Var(std::move(n));
}

Var make_unrecorded(Tensor value, const char* op) {
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->op = op;
  return Var(std::move(n));
}

void accumulate(Node& n, Tensor&& g) {
  if (!n.requires_grad) return;
  if (g.numel() != n.value.numel())
    throw ShapeError(std::string("gradient of ") + shape_str(g.shape()) + " for a value of shape " +
                     shape_str(n.value.shape()) + " (op " + n.op + ")");
  if (!n.grad.defined()) {
    n.grad = g.reshape(n.value.shape());
    return;
  }
  float* dst = n.grad.data();
  const float* src = g.data();
  const int64_t count = n.grad.numel();
  for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
}

Tensor& grad_buffer(Node& n) {
  if (!n.grad.defined()) n.grad = Tensor(n.value.shape());
  return n.grad;
}

size_t tape_size() {
  return static_cast<size_t>(std::count_if(t_tape.entries.begin(), t_tape.entries.end(),
                                           [](const std::weak_ptr<Node>& w) { return !w.expired(); }));
}

void clear_tape() { t_tape.entries.clear(); }

}  // namespace autograd
}  // namespace bp
