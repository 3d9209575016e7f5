// An LSTM encoder–decoder (Sutskever, Vinyals & Le 2014; the lecture's "two RNNs for machine
// translation"), composed of the sequence blocks of nn/rnn.hpp. docs/sequences.md shows its use.
//
//   source tokens ─ embedding ─ LSTM encoder ─► final (h, c) ─┐
//   <start> y1 … yn ─ embedding ─ LSTM decoder (from that state) ─ linear ─► y1 … yn <end>
//
// Tokens are integers: a source sequence's in [0, source_vocab), a target's in [0, target_vocab).
// The class adds the two special tokens itself, both numbered target_vocab: the decoder's input
// table has one more row (<start>, fed first) and its output one more class (<end>, predicted last).
// Sequences in a batch may have different lengths (masked in the encoder: its final state is
// each source's own; padded positions of the decoder are left out of the loss).
#pragma once

#include <cstdint>
#include <vector>

#include "backprop/nn/module.hpp"
#include "backprop/nn/rnn.hpp"

namespace bp::nn {

using TokenSequences = std::vector<std::vector<int64_t>>;

class Seq2Seq : public Module {
 public:
  Seq2Seq(int64_t source_vocab, int64_t target_vocab, int64_t embedding_dim, int64_t hidden, Rng& rng,
          int64_t num_layers = 1);

  // Teacher forcing: the decoder reads <start> and the true target tokens and predicts each next
  // token and <end>. Logits (T + 1, B, target_vocab + 1), T the longest target; row t of sequence
  // b is the prediction of token t (t = its length: <end>); rows past that are padding.
  Var logits(const TokenSequences& sources, const TokenSequences& targets);
  // The mean softmax cross-entropy of those predictions over the real positions (Σ (length + 1)).
  Var loss(const TokenSequences& sources, const TokenSequences& targets);
  // Greedy decoding, recording nothing: from <start>, each step feeds back the most probable
  // token, until <end> or max_length tokens.
  TokenSequences greedy(const TokenSequences& sources, int64_t max_length);

  // forward: the greedy translations (max_length = 2·T) of a batch of full-length sources
  // given as a (T, B) tensor of token ids stored as floats; (max_length, B), padded with the
  // <end> token. For code that treats every module alike; loss and greedy are the real API.
  Var forward(const Var& sources) override;

  std::vector<Var> parameters() override;
  std::vector<std::string> parameter_names() override;
  void set_training(bool on) override;
  nlohmann::json config() const override;
  std::string type() const override { return "seq2seq"; }
  int64_t source_vocab() const { return source_vocab_; }
  int64_t target_vocab() const { return target_vocab_; }
  int64_t end_token() const { return target_vocab_; }  // = the start token's row

  // The blocks, public so that tests can route finite-difference copies of the weights in.
  Embedding source_embedding;  // (source_vocab, E)
  LSTM encoder;                // E → H
  Embedding target_embedding;  // (target_vocab + 1, E); the last row is <start>
  LSTM decoder;                // E → H
  Linear head;                 // H → target_vocab + 1; the last class is <end>

 private:
  RecurrentState encode(const TokenSequences& sources);
  int64_t source_vocab_, target_vocab_;
};

}  // namespace bp::nn
