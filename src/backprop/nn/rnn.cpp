#include "backprop/nn/rnn.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "backprop/ops/conv_ops.hpp"
#include "backprop/ops/ops.hpp"

namespace bp::nn {

// ---- Embedding
Embedding::Embedding(int64_t num_embeddings, int64_t dim, Rng& rng) : num_(num_embeddings), dim_(dim) {
  if (num_embeddings <= 0 || dim <= 0)
    throw std::invalid_argument("embedding: the table needs at least one row and one column, got " +
                                std::to_string(num_embeddings) + " x " + std::to_string(dim));
  Tensor w({num_embeddings, dim});
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = static_cast<float>(rng.normal());
  weight = Var(std::move(w), true);
}

Var Embedding::forward(const Var& indices) {
  const Tensor& t = indices.value();
  std::vector<int64_t> idx(static_cast<size_t>(t.numel()));
  for (int64_t n = 0; n < t.numel(); ++n) {
    const float v = t[n];
    if (!(v == std::floor(v)) || v < 0 || v >= static_cast<float>(num_))
      throw std::invalid_argument("embedding: input value " + std::to_string(v) + " (position " + std::to_string(n) +
                                  ") is not a row index in [0, " + std::to_string(num_) + ")");
    idx[n] = static_cast<int64_t>(v);
  }
  return lookup(idx, t.shape());
}

Var Embedding::lookup(const std::vector<int64_t>& indices, const Shape& index_shape) {
  Var out = ops::embedding(weight, indices, index_shape);
  touched_ = indices;
  std::sort(touched_.begin(), touched_.end());
  touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
  return out;
}

nlohmann::json Embedding::config() const { return {{"type", type()}, {"num", num_}, {"dim", dim_}}; }

// ---- Recurrent
RecurrentState detach(const RecurrentState& s) {
  return {s.h.defined() ? s.h.detach() : Var(), s.c.defined() ? s.c.detach() : Var()};
}

Recurrent::Recurrent(ops::Cell cell, int64_t input_size, int64_t hidden_size, RecurrentOptions o, Rng& rng)
    : cell_(cell), input_(input_size), hidden_(hidden_size), opt_(o), rng_(o.seed) {
  const std::string name = ops::to_string(cell);
  if (input_size <= 0 || hidden_size <= 0)
    throw std::invalid_argument(name + ": input and hidden sizes must be positive, got " + std::to_string(input_size) +
                                " and " + std::to_string(hidden_size));
  if (o.num_layers <= 0) throw std::invalid_argument(name + ": num_layers must be at least 1");
  if (!(o.dropout >= 0.f && o.dropout < 1.f))
    throw std::invalid_argument(name + ": dropout must be in [0, 1), got " + std::to_string(o.dropout));
  const int64_t GH = ops::gate_count(cell) * hidden_size;
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  auto uniform = [&](Shape s) {
    Tensor t(std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-k, k));
    return Var(std::move(t), true);
  };
  for (int64_t l = 0; l < o.num_layers; ++l)
    for (int64_t dir = 0; dir < directions(); ++dir) {
      const int64_t in = l == 0 ? input_size : directions() * hidden_size;
      Weights w{uniform({GH, in}), uniform({GH, hidden_size}), Var(), Var()};
      if (o.bias) w.b_ih = uniform({GH}), w.b_hh = uniform({GH});
      w_.push_back(w);
    }
}

RecurrentOutput Recurrent::forward_seq(const Var& x_in, const RecurrentState& init, const std::vector<int64_t>& lengths) {
  const std::string name = ops::to_string(cell_);
  if (x_in.value().ndim() != 3)
    throw ShapeError(name + ": input must be " + (opt_.batch_first ? "(B, T, I)" : "(T, B, I)") + ", got " +
                     shape_str(x_in.shape()));
  Var x = opt_.batch_first ? ops::swap01(x_in) : x_in;
  const int64_t B = x.shape()[1], H = hidden_, D = directions(), L = opt_.num_layers;
  const Shape state_shape{L * D, B, H};
  if (init.h.defined() && init.h.shape() != state_shape)
    throw ShapeError(name + ": initial h must be " + shape_str(state_shape) + ", got " + shape_str(init.h.shape()));
  if (init.c.defined() && cell_ != ops::Cell::LSTM) throw ShapeError(name + ": only the LSTM has a cell state c");
  if (init.c.defined() && init.c.shape() != state_shape)
    throw ShapeError(name + ": initial c must be " + shape_str(state_shape) + ", got " + shape_str(init.c.shape()));
  auto slot = [&](const Var& s, int64_t k) { return s.defined() ? ops::reshape(ops::narrow(s, 0, k, 1), {B, H}) : Var(); };

  std::vector<Var> hs, cs;  // (1, B, H) each, layer-major then direction
  for (int64_t l = 0; l < L; ++l) {
    if (l > 0 && opt_.dropout > 0.f) x = ops::dropout(x, opt_.dropout, training_, rng_);
    std::vector<Var> outs;
    for (int64_t dir = 0; dir < D; ++dir) {
      const int64_t k = l * D + dir;
      const Weights& w = w_[static_cast<size_t>(k)];
      ops::SequenceResult r = ops::recurrent_sequence(cell_, x, slot(init.h, k), slot(init.c, k), w.w_ih, w.w_hh,
                                                      w.b_ih, w.b_hh, lengths, dir == 1);
      outs.push_back(r.output);
      hs.push_back(ops::reshape(r.h, {1, B, H}));
      if (r.c.defined()) cs.push_back(ops::reshape(r.c, {1, B, H}));
    }
    x = D == 1 ? outs[0] : ops::concat(outs, 2);
  }
  RecurrentOutput res;
  res.output = opt_.batch_first ? ops::swap01(x) : x;
  res.state.h = hs.size() == 1 ? ops::reshape(hs[0], state_shape) : ops::concat(hs, 0);
  if (!cs.empty()) res.state.c = cs.size() == 1 ? ops::reshape(cs[0], state_shape) : ops::concat(cs, 0);
  return res;
}

std::vector<Var> Recurrent::parameters() {
  std::vector<Var> p;
  for (const Weights& w : w_)
    for (const Var* v : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh})
      if (v->defined()) p.push_back(*v);
  return p;
}

std::vector<std::string> Recurrent::parameter_names() {
  std::vector<std::string> n;
  for (int64_t l = 0; l < opt_.num_layers; ++l)
    for (int64_t dir = 0; dir < directions(); ++dir) {
      const std::string sfx = "_l" + std::to_string(l) + (dir == 1 ? "_reverse" : "");
      n.push_back("weight_ih" + sfx);
      n.push_back("weight_hh" + sfx);
      if (opt_.bias) {
        n.push_back("bias_ih" + sfx);
        n.push_back("bias_hh" + sfx);
      }
    }
  return n;
}

nlohmann::json Recurrent::config() const {
  return {{"type", type()},           {"input_size", input_},          {"hidden_size", hidden_},
          {"num_layers", opt_.num_layers}, {"bidirectional", opt_.bidirectional}, {"dropout", opt_.dropout},
          {"batch_first", opt_.batch_first}, {"bias", opt_.bias},             {"seed", opt_.seed}};
}

}  // namespace bp::nn
