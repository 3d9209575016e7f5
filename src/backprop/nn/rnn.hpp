// Sequence layers: Embedding and the recurrent layers (tanh RNN, LSTM, GRU), stacked and
// optionally bidirectional, over the fused ops of ops/rnn.hpp. docs/sequences.md shows their use.
#pragma once

#include <cstdint>
#include <vector>

#include "backprop/nn/module.hpp"
#include "backprop/ops/rnn.hpp"

namespace bp::nn {

// A lookup table of V vectors of D values, initialised N(0, 1) as PyTorch's nn.Embedding.
// forward takes a tensor of row indices stored as floats (any shape S, each value a whole
// number in [0, V)) and returns (S..., D); lookup takes the indices as integers.
// Gradient: backward adds into the rows looked up only (ops::embedding), inside the dense
// (V, D) gradient buffer the optimizer owns, and touched_rows() lists those rows; the
// optimizers update every row, as PyTorch's dense-gradient embedding (sparse=False) with Adam
// does (Adam's moments move untouched rows too).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Rng& rng);
  Var forward(const Var& indices) override;
  Var lookup(const std::vector<int64_t>& indices, const Shape& index_shape);
  // The distinct rows the last forward/lookup used, ascending.
  const std::vector<int64_t>& touched_rows() const { return touched_; }
  std::vector<Var> parameters() override { return {weight}; }
  std::vector<std::string> parameter_names() override { return {"weight"}; }
  nlohmann::json config() const override;
  std::string type() const override { return "embedding"; }
  int64_t num_embeddings() const { return num_; }
  int64_t dim() const { return dim_; }
  Var weight;  // (V, D)

 private:
  int64_t num_, dim_;
  std::vector<int64_t> touched_;
};

struct RecurrentOptions {
  int64_t num_layers = 1;
  bool bidirectional = false;
  float dropout = 0.f;       // between stacked layers (not after the last), in training mode only
  bool batch_first = false;  // input and output (B, T, ·) instead of the default time-major (T, B, ·)
  bool bias = true;
  uint64_t seed = 0x5eed;    // the dropout's generator
};

// The state between layers' calls: h and (LSTM only) c, each (num_layers · directions, B, H),
// in PyTorch's order (layer 0 forward, layer 0 reverse, layer 1 forward, …), whatever batch_first.
struct RecurrentState {
  Var h, c;
};
// The same values cut from the graph: carry a chunk's final state into the next chunk with
// this (truncated backpropagation through time), so the next backward stops at the chunk's start.
RecurrentState detach(const RecurrentState& s);

struct RecurrentOutput {
  Var output;            // (T, B, D·H), or (B, T, D·H) batch-first; 0 past a sequence's end
  RecurrentState state;  // after each sequence's last step
};

// A stack of recurrent layers (cell: tanh RNN, LSTM or GRU), PyTorch's nn.RNN/LSTM/GRU with the
// same parameters, names and order: per layer k and direction, weight_ih_l{k}, weight_hh_l{k},
// bias_ih_l{k}, bias_hh_l{k}, the reverse direction's with the suffix _reverse; layer 0's
// weight_ih is (G·H, I), a deeper layer's (G·H, D·H). Initialised U(±1/√H) as PyTorch.
class Recurrent : public Module {
 public:
  Recurrent(ops::Cell cell, int64_t input_size, int64_t hidden_size, RecurrentOptions o, Rng& rng);
  // init: the initial state (undefined members: zeros); lengths: empty or one per sequence,
  // in [0, T] (steps past a sequence's length are masked: see ops::recurrent_sequence).
  RecurrentOutput forward_seq(const Var& x, const RecurrentState& init = {}, const std::vector<int64_t>& lengths = {});
  // The output sequence from a zero state.
  Var forward(const Var& x) override { return forward_seq(x).output; }
  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  nlohmann::json config() const override;
  std::string type() const override { return ops::to_string(cell_); }
  std::vector<Rng*> generators() override { return {&rng_}; }
  ops::Cell cell() const { return cell_; }
  int64_t input_size() const { return input_; }
  int64_t hidden_size() const { return hidden_; }
  const RecurrentOptions& options() const { return opt_; }
  int64_t directions() const { return opt_.bidirectional ? 2 : 1; }
  // The parameters of layer k, direction dir (0 forward, 1 reverse): w_ih, w_hh, b_ih, b_hh.
  struct Weights {
    Var w_ih, w_hh, b_ih, b_hh;
  };
  Weights& weights(int64_t layer, int64_t dir) { return w_[static_cast<size_t>(layer * directions() + dir)]; }

 private:
  ops::Cell cell_;
  int64_t input_, hidden_;
  RecurrentOptions opt_;
  std::vector<Weights> w_;  // layer-major, then direction
  Rng rng_;
};

class RNN : public Recurrent {
 public:
  RNN(int64_t input_size, int64_t hidden_size, RecurrentOptions o, Rng& rng)
      : Recurrent(ops::Cell::RNNTanh, input_size, hidden_size, o, rng) {}
};
class LSTM : public Recurrent {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, RecurrentOptions o, Rng& rng)
      : Recurrent(ops::Cell::LSTM, input_size, hidden_size, o, rng) {}
};
class GRU : public Recurrent {
 public:
  GRU(int64_t input_size, int64_t hidden_size, RecurrentOptions o, Rng& rng)
      : Recurrent(ops::Cell::GRU, input_size, hidden_size, o, rng) {}
};

}  // namespace bp::nn
