// Sequence blocks, forward beside backward (rnn.cpp): the fused recurrent layers (tanh RNN,
// LSTM, GRU) over a whole sequence, the embedding lookup, and the few shape blocks that
// stacking and bidirectional layers need (narrow, concat, swapping the first two dims).
//
// Layout (PyTorch's, so weights and fixtures carry over): a sequence is time-major
// x (T, B, I); the G gate blocks of H rows each are stacked in the weights
//   w_ih (G·H, I), w_hh (G·H, H), b_ih (G·H), b_hh (G·H)
// in PyTorch's order: LSTM i, f, g, o (G = 4); GRU r, z, n (G = 3); tanh RNN one block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backprop/autograd/var.hpp"

namespace bp::ops {

enum class Cell { RNNTanh, LSTM, GRU };
int gate_count(Cell c);          // 1, 4, 3
std::string to_string(Cell c);   // "rnn", "lstm", "gru"

// One direction of one recurrent layer over a sequence.
//   output (T, B, H): h_t, and 0 at steps past a sequence's length
//   h, c   (B, H):    the state after each sequence's last step (c for the LSTM only)
struct SequenceResult {
  Var output, h, c;
};

// The equations, per step t (σ the logistic function, ⊙ elementwise):
//   tanh RNN  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
//   LSTM      [i f g o] = W_ih x + b_ih + W_hh h + b_hh;  i, f, o ← σ(·), g ← tanh(·)
//             c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
//   GRU       r = σ(W_ir x + b_ir + W_hr h + b_hr);  z = σ(W_iz x + b_iz + W_hz h + b_hz)
//             n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn));  h' = (1 − z) ⊙ n + z ⊙ h
// Fused: one GEMM projects the inputs of all T steps at once, (T·B, I) × (I, G·H); each step
// adds one (B, H) × (H, G·H) GEMM and one elementwise gate kernel. Backward runs the steps in
// reverse with the saved gates, then forms dW_ih, dW_hh and dx with one GEMM each over all steps.
//
// h0, c0 (B, H): the initial state, or undefined for zeros (c0 is for the LSTM only). Giving
// the final state of one chunk, detached, as h0/c0 of the next is truncated backpropagation
// through time. b_ih, b_hh may be undefined (no bias).
// lengths: empty (every sequence has T steps) or B values in [0, T]. Sequence b takes part in
// steps t < lengths[b] only: past its end its output is 0 and its state stops changing, so
// its final state is the one after its last real step (what PyTorch's packed sequences give).
// reverse: run from the last step to the first (the second direction of a bidirectional
// layer); a shorter sequence then starts at its own last step, from h0.
SequenceResult recurrent_sequence(Cell cell, const Var& x, const Var& h0, const Var& c0, const Var& w_ih,
                                  const Var& w_hh, const Var& b_ih, const Var& b_hh,
                                  const std::vector<int64_t>& lengths = {}, bool reverse = false);

// The same function composed of primitive ops, one small graph per step: the obviously-correct
// reference the fused op is tested against. Slow; for tests.
SequenceResult recurrent_sequence_reference(Cell cell, const Var& x, const Var& h0, const Var& c0, const Var& w_ih,
                                            const Var& w_hh, const Var& b_ih, const Var& b_hh,
                                            const std::vector<int64_t>& lengths = {}, bool reverse = false);

// Embedding lookup: weight (V, D), `indices` (numel(index_shape) values in [0, V)) →
// (index_shape..., D), row n = weight[indices[n]]. Backward adds each output row's gradient
// into the row it came from, so it touches only the rows looked up (O(#indices·D), never V·D
// work); a row looked up twice receives both gradients. Throws std::invalid_argument naming a
// bad index.
Var embedding(const Var& weight, const std::vector<int64_t>& indices, const Shape& index_shape);

// ---- shape blocks (copies; backward adds the gradient back into place)
// x's slice [begin, begin + count) along `dim`.
Var narrow(const Var& x, int dim, int64_t begin, int64_t count);
// The tensors joined along `dim` (all other dims equal).
Var concat(const std::vector<Var>& xs, int dim);
// (A, B, ...) → (B, A, ...): batch-first ↔ time-major.
Var swap01(const Var& x);

}  // namespace bp::ops
