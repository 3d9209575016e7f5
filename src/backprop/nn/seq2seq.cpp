#include "backprop/nn/seq2seq.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "backprop/ops/ops.hpp"

namespace bp::nn {

namespace {

// Time-major (T, B) token ids of `seqs`, padded with `pad`; each sequence's length; T.
struct Padded {
  std::vector<int64_t> ids, lengths;
  int64_t T = 0;
};
Padded pad_time_major(const TokenSequences& seqs, int64_t vocab, int64_t pad, const char* what) {
  Padded p;
  const auto B = static_cast<int64_t>(seqs.size());
  for (const auto& s : seqs) p.T = std::max(p.T, static_cast<int64_t>(s.size()));
  p.ids.assign(static_cast<size_t>(p.T * B), pad);
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = seqs[static_cast<size_t>(b)];
    for (size_t t = 0; t < s.size(); ++t) {
      if (s[t] < 0 || s[t] >= vocab)
        throw std::invalid_argument(std::string("seq2seq: ") + what + " " + std::to_string(b) + " has token " +
                                    std::to_string(s[t]) + " at position " + std::to_string(t) + ", outside [0, " +
                                    std::to_string(vocab) + ")");
      p.ids[t * static_cast<size_t>(B) + static_cast<size_t>(b)] = s[t];
    }
    p.lengths.push_back(static_cast<int64_t>(s.size()));
  }
  return p;
}

}  // namespace

Seq2Seq::Seq2Seq(int64_t source_vocab, int64_t target_vocab, int64_t embedding_dim, int64_t hidden, Rng& rng,
                 int64_t num_layers)
    : source_embedding(source_vocab, embedding_dim, rng),
      encoder(embedding_dim, hidden, {.num_layers = num_layers}, rng),
      target_embedding(target_vocab + 1, embedding_dim, rng),
      decoder(embedding_dim, hidden, {.num_layers = num_layers}, rng),
      head(hidden, target_vocab + 1, true, Init::Glorot, rng),
      source_vocab_(source_vocab),
      target_vocab_(target_vocab) {}

RecurrentState Seq2Seq::encode(const TokenSequences& sources) {
  if (sources.empty()) throw std::invalid_argument("seq2seq: the batch is empty");
  for (size_t b = 0; b < sources.size(); ++b)
    if (sources[b].empty()) throw std::invalid_argument("seq2seq: source " + std::to_string(b) + " is empty");
  const Padded src = pad_time_major(sources, source_vocab_, 0, "source");
  const auto B = static_cast<int64_t>(sources.size());
  return encoder.forward_seq(source_embedding.lookup(src.ids, {src.T, B}), {}, src.lengths).state;
}

Var Seq2Seq::logits(const TokenSequences& sources, const TokenSequences& targets) {
  if (targets.size() != sources.size())
    throw std::invalid_argument("seq2seq: " + std::to_string(sources.size()) + " sources but " +
                                std::to_string(targets.size()) + " targets");
  const RecurrentState state = encode(sources);
  // Decoder input: <start> then the target, one step longer than the longest target.
  pad_time_major(targets, target_vocab_, 0, "target");  // checks the tokens: <end> is not one
  TokenSequences inputs;
  for (const auto& t : targets) {
    inputs.push_back({end_token()});
    inputs.back().insert(inputs.back().end(), t.begin(), t.end());
  }
  const Padded in = pad_time_major(inputs, target_vocab_ + 1, end_token(), "target");
  const auto B = static_cast<int64_t>(sources.size());
  const int64_t H = decoder.hidden_size();
  Var h = decoder.forward_seq(target_embedding.lookup(in.ids, {in.T, B}), state, in.lengths).output;  // (T+1, B, H)
  return ops::reshape(head.forward(ops::reshape(h, {in.T * B, H})), {in.T, B, target_vocab_ + 1});
}

Var Seq2Seq::loss(const TokenSequences& sources, const TokenSequences& targets) {
  Var z = logits(sources, targets);
  const int64_t T = z.shape()[0], B = z.shape()[1], C = z.shape()[2];
  // The real positions' rows of the (T·B, C) logits, gathered with the embedding lookup (its
  // backward adds each row's gradient back into place), and their next tokens.
  std::vector<int64_t> rows;
  std::vector<int32_t> next;
  for (int64_t b = 0; b < B; ++b) {
    const auto& t = targets[static_cast<size_t>(b)];
    for (int64_t k = 0; k <= static_cast<int64_t>(t.size()); ++k) {
      rows.push_back(k * B + b);
      next.push_back(static_cast<int32_t>(k < static_cast<int64_t>(t.size()) ? t[static_cast<size_t>(k)] : end_token()));
    }
  }
  Var picked = ops::embedding(ops::reshape(z, {T * B, C}), rows, {static_cast<int64_t>(rows.size())});
  return ops::softmax_cross_entropy(picked, next);
}

TokenSequences Seq2Seq::greedy(const TokenSequences& sources, int64_t max_length) {
  autograd::NoGradGuard no_grad;
  RecurrentState state = encode(sources);
  const auto B = static_cast<int64_t>(sources.size());
  const int64_t C = target_vocab_ + 1, H = decoder.hidden_size();
  TokenSequences out(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  std::vector<int64_t> current(static_cast<size_t>(B), end_token());  // <start>
  for (int64_t step = 0; step <= max_length; ++step) {
    RecurrentOutput r = decoder.forward_seq(target_embedding.lookup(current, {1, B}), state);
    const Tensor z = head.forward(ops::reshape(r.output, {B, H})).value();
    state = r.state;
    bool all_done = true;
    for (int64_t b = 0; b < B; ++b) {
      const float* row = z.data() + b * C;
      const int64_t best = std::max_element(row, row + C) - row;
      current[static_cast<size_t>(b)] = best;
      if (done[static_cast<size_t>(b)]) continue;
      if (best == end_token() || step == max_length)
        done[static_cast<size_t>(b)] = true;
      else
        out[static_cast<size_t>(b)].push_back(best);
      all_done = all_done && done[static_cast<size_t>(b)];
    }
    if (all_done) break;
  }
  return out;
}

Var Seq2Seq::forward(const Var& sources) {
  const Tensor& x = sources.value();
  if (x.ndim() != 2) throw ShapeError("seq2seq: sources must be (T, B) token ids, got " + shape_str(x.shape()));
  const int64_t T = x.shape()[0], B = x.shape()[1];
  TokenSequences src(static_cast<size_t>(B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const float v = x[t * B + b];
      if (!(v >= 0 && v < static_cast<float>(source_vocab_)) || v != static_cast<float>(static_cast<int64_t>(v)))
        throw std::invalid_argument("seq2seq: source value " + std::to_string(v) + " is not a token in [0, " +
                                    std::to_string(source_vocab_) + ")");
      src[static_cast<size_t>(b)].push_back(static_cast<int64_t>(v));
    }
  const TokenSequences y = greedy(src, 2 * T);
  Tensor out({2 * T, B});
  for (int64_t i = 0; i < out.numel(); ++i) out[i] = static_cast<float>(end_token());
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < y[static_cast<size_t>(b)].size(); ++t)
      out[static_cast<int64_t>(t) * B + b] = static_cast<float>(y[static_cast<size_t>(b)][t]);
  return Var(std::move(out));
}

std::vector<Var> Seq2Seq::parameters() {
  std::vector<Var> p;
  for (Module* m : std::initializer_list<Module*>{&source_embedding, &encoder, &target_embedding, &decoder, &head})
    for (Var& v : m->parameters()) p.push_back(v);
  return p;
}

std::vector<std::string> Seq2Seq::parameter_names() {
  std::vector<std::string> n;
  const std::pair<const char*, Module*> parts[] = {{"source_embedding.", &source_embedding},
                                                   {"encoder.", &encoder},
                                                   {"target_embedding.", &target_embedding},
                                                   {"decoder.", &decoder},
                                                   {"head.", &head}};
  for (const auto& [prefix, m] : parts)
    for (const std::string& s : m->parameter_names()) n.push_back(prefix + s);
  return n;
}

void Seq2Seq::set_training(bool on) {
  Module::set_training(on);
  for (Module* m : std::initializer_list<Module*>{&source_embedding, &encoder, &target_embedding, &decoder, &head})
    m->set_training(on);
}

nlohmann::json Seq2Seq::config() const {
  return {{"type", type()},
          {"source_vocab", source_vocab_},
          {"target_vocab", target_vocab_},
          {"embedding", source_embedding.dim()},
          {"hidden", encoder.hidden_size()},
          {"num_layers", encoder.options().num_layers}};
}

}  // namespace bp::nn
