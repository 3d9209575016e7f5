#include "backprop/pipeline/char_lm.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "backprop/autograd/var.hpp"
#include "backprop/data/error.hpp"
#include "backprop/data/io_util.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/rnn.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/clip.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/rng.hpp"

namespace bp::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

// The three layers of a char-lstm network, or nullptrs when `net` is not one.
struct Layers {
  nn::Embedding* emb = nullptr;
  nn::Recurrent* lstm = nullptr;
  nn::Linear* head = nullptr;
};
Layers layers_of(nn::Module& net) {
  auto* seq = dynamic_cast<nn::Sequential*>(&net);
  if (!seq || seq->size() != 3) return {};
  Layers l{dynamic_cast<nn::Embedding*>(&(*seq)[0]), dynamic_cast<nn::Recurrent*>(&(*seq)[1]),
           dynamic_cast<nn::Linear*>(&(*seq)[2])};
  if (!l.emb || !l.lstm || !l.head || l.lstm->cell() != ops::Cell::LSTM || l.lstm->options().num_layers != 1 ||
      l.lstm->directions() != 1 || l.lstm->options().batch_first || l.lstm->input_size() != l.emb->dim() ||
      l.head->in_features() != l.lstm->hidden_size())
    return {};
  return l;
}

// Logits (T·B, V) of the windows `tokens` (T, B), time-major, each from a zero state.
Var logits_of(const Layers& l, const std::vector<int64_t>& tokens, int64_t T, int64_t B) {
  Var h = l.lstm->forward_seq(l.emb->lookup(tokens, {T, B})).output;  // (T, B, H)
  return l.head->forward(ops::reshape(h, {T * B, l.lstm->hidden_size()}));
}

// Inputs (T, B) and next-character targets of the windows starting at `starts`.
void windows(const std::vector<int32_t>& ids, const std::vector<int64_t>& starts, int64_t T,
             std::vector<int64_t>& x, std::vector<int32_t>& y) {
  const auto B = static_cast<int64_t>(starts.size());
  x.resize(static_cast<size_t>(T * B));
  y.resize(static_cast<size_t>(T * B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const auto i = static_cast<size_t>(starts[static_cast<size_t>(b)] + t);
      x[static_cast<size_t>(t * B + b)] = ids[i];
      y[static_cast<size_t>(t * B + b)] = ids[i + 1];
    }
}

// Mean cross-entropy (nats/char) over consecutive windows of T characters, recording nothing.
double validation_loss(const Layers& l, const std::vector<int32_t>& ids, int64_t T, int64_t B) {
  autograd::NoGradGuard no_grad;
  std::vector<int64_t> starts, x;
  std::vector<int32_t> y;
  double total = 0;
  int64_t count = 0;
  const auto n = static_cast<int64_t>(ids.size());
  for (int64_t s = 0; s + T + 1 <= n; s += T) {
    starts.push_back(s);
    if (static_cast<int64_t>(starts.size()) == B || s + 2 * T + 1 > n) {
      const auto b = static_cast<int64_t>(starts.size());
      windows(ids, starts, T, x, y);
      total += static_cast<double>(ops::softmax_cross_entropy(logits_of(l, x, T, b), y).item()) * static_cast<double>(T * b);
      count += T * b;
      starts.clear();
    }
  }
  return total / static_cast<double>(count);
}

constexpr const char* kExtraKey = "char_lm";

}  // namespace

bool is_char_lm(const io::ModelInfo& info) { return info.extra.is_object() && info.extra.contains(kExtraKey); }

CharLmResult train_char_lm(const CharLmOptions& o, const Observer& observer) {
  if (o.text.empty()) throw UsageError("--model char-lstm needs --text FILE");
  if (o.hidden < 1 || o.embedding < 1 || o.seq_len < 1 || o.batch_size < 1)
    throw UsageError("char-lstm: --hidden, --embedding, --seq-len and --batch-size must be at least 1");
  if (!(o.lr > 0) || !std::isfinite(o.lr) || !(o.clip >= 0) || !std::isfinite(o.clip) || o.steps < 0 ||
      !(o.minutes >= 0) || o.eval_every < 1)
    throw UsageError("char-lstm: --lr must be positive, --clip, --steps and --minutes non-negative");
  if (o.steps > 0 && o.minutes > 0) throw UsageError("char-lstm: give --steps or --minutes, not both");
  if (o.output.empty()) throw UsageError("--output: give a file name");

  std::string text = data::read_file_text(o.text);
  if (text.size() >= 2 && text[0] == '\x1f' && text[1] == '\x8b') text = data::gunzip(text, o.text);
  if (text.empty()) data::fail(o.text, 0, "the text is empty");

  // Vocabulary: the distinct bytes, ascending; ids: the text as tokens.
  bool seen[256] = {};
  for (unsigned char ch : text) seen[ch] = true;
  std::vector<uint8_t> vocab;
  int32_t token_of[256];
  for (int c = 0; c < 256; ++c)
    if (seen[c]) token_of[c] = static_cast<int32_t>(vocab.size()), vocab.push_back(static_cast<uint8_t>(c));
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = token_of[static_cast<unsigned char>(text[i])];
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t n_train = n * 9 / 10;
  const std::vector<int32_t> train_ids(ids.begin(), ids.begin() + n_train), val_ids(ids.begin() + n_train, ids.end());
  const int64_t T = o.seq_len;
  if (static_cast<int64_t>(val_ids.size()) < T + 1)
    data::fail(o.text, 0,
               "the text has " + std::to_string(n) + " characters: too short for --seq-len " + std::to_string(T) +
                   " (the last 10 %, the validation part, needs at least " + std::to_string(T + 1) + ")");
  const auto V = static_cast<int64_t>(vocab.size());
  if (observer.data_ready)
    observer.data_ready(o.text + ": " + std::to_string(n) + " characters, " + std::to_string(V) + " distinct; " +
                        std::to_string(n_train) + " train, " + std::to_string(val_ids.size()) + " validation");

  Rng rng(o.seed);
  nn::Sequential net;
  net.emplace<nn::Embedding>(V, o.embedding, rng);
  net.emplace<nn::LSTM>(o.embedding, o.hidden, nn::RecurrentOptions{}, rng);
  net.emplace<nn::Linear>(o.hidden, V, true, nn::Init::Glorot, rng);
  const Layers l = layers_of(net);
  optim::Adam opt(net.parameters(), {static_cast<float>(o.lr)});

  const int64_t B = o.batch_size;
  const int64_t max_steps = o.steps > 0 ? o.steps : o.minutes > 0 ? INT64_MAX : 1000;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::vector<int64_t> starts(static_cast<size_t>(B)), x;
  std::vector<int32_t> y;
  CharLmResult r;
  double period_loss = 0, period_start = 0;
  int64_t period_steps = 0;
  // The weights at the best validation loss so far: the ones saved (the model overfits a
  // text of 1 MB within minutes).
  std::vector<Var> params = net.parameters();
  std::vector<Tensor> best_weights;
  r.validation_loss = std::numeric_limits<double>::infinity();
  for (int64_t step = 1; step <= max_steps; ++step) {
    for (auto& s : starts) s = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_train - T)));
    windows(train_ids, starts, T, x, y);
    opt.zero_grad();
    Var loss = ops::softmax_cross_entropy(logits_of(l, x, T, B), y);
    loss.backward();
    const double value = loss.item();
    if (!std::isfinite(value))
      throw train::DivergenceError("training diverged at step " + std::to_string(step) +
                                   ": the loss is not finite (try a smaller --lr)");
    if (o.clip > 0) optim::clip_grad_norm(opt, static_cast<float>(o.clip));
    opt.step();
    period_loss += value, ++period_steps;
    r.steps = step;
    const bool out_of_time = o.minutes > 0 && elapsed() >= o.minutes * 60;
    if (step % o.eval_every == 0 || step == max_steps || out_of_time) {
      r.train_loss = period_loss / static_cast<double>(period_steps);
      const double val = validation_loss(l, val_ids, T, B);
      if (val < r.validation_loss) {
        r.validation_loss = val, r.best_step = step;
        best_weights.clear();
        for (Var& p : params) best_weights.push_back(p.value().clone());
      }
      const double now = elapsed();
      if (observer.line) {
        char buf[320];
        std::snprintf(buf, sizeof buf,
                      "step %lld%s  train %.4f nats/char (%.3f bits)  validation %.4f nats/char (%.3f bits)  %.0fs  "
                      "%.0f chars/s",
                      static_cast<long long>(step),
                      o.steps > 0 ? ("/" + std::to_string(max_steps)).c_str() : "", r.train_loss,
                      r.train_loss / std::log(2.0), val, val / std::log(2.0), now,
                      static_cast<double>(period_steps * T * B) / std::max(now - period_start, 1e-9));
        observer.line(buf);
      }
      period_loss = 0, period_steps = 0, period_start = elapsed();
    }
    if (out_of_time) break;
  }
  r.seconds = elapsed();
  for (size_t i = 0; i < params.size(); ++i) params[i].value().copy_from(best_weights[i]);
  r.vocabulary = V;
  r.train_chars = n_train;
  r.validation_chars = static_cast<int64_t>(val_ids.size());

  io::ModelInfo info;
  info.task = Task::Multiclass;
  info.extra = {{kExtraKey,
                 {{"vocabulary", vocab},
                  {"training",
                   {{"text", o.text}, {"steps", r.steps}, {"seq_len", T}, {"batch_size", B}, {"lr", o.lr},
                    {"clip", o.clip}, {"seed", o.seed}, {"best_step", r.best_step}, {"validation_loss", r.validation_loss}}}}}};
  io::save_model(o.output, net, info);
  r.model_file = o.output;
  return r;
}

CharLm load_char_lm(const std::filesystem::path& path) {
  io::ModelFile f = io::load_model(path);
  if (!f.module) throw io::ModelFileError(path, "not a char-lstm model (it holds a tree learner)");
  const Layers l = layers_of(*f.module);
  if (!l.emb) throw io::ModelFileError(path, "not a char-lstm model (embedding, one LSTM layer, linear)");
  const nlohmann::json& extra = f.info.extra;
  if (!extra.is_object() || !extra.contains(kExtraKey) || !extra.at(kExtraKey).is_object() ||
      !extra.at(kExtraKey).contains("vocabulary") || !extra.at(kExtraKey).at("vocabulary").is_array())
    throw io::ModelFileError(path, "not a char-lstm model (no vocabulary in backprop.extra)");
  CharLm m;
  for (const auto& v : extra.at(kExtraKey).at("vocabulary")) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 255 ||
        (!m.vocabulary.empty() && v.get<int64_t>() <= m.vocabulary.back()))
      throw io::ModelFileError(path, "the vocabulary must be ascending distinct bytes (0 to 255)");
    m.vocabulary.push_back(static_cast<uint8_t>(v.get<int64_t>()));
  }
  const auto V = static_cast<int64_t>(m.vocabulary.size());
  if (V != l.emb->num_embeddings() || V != l.head->out_features())
    throw io::ModelFileError(path, "the vocabulary has " + std::to_string(V) + " characters but the embedding has " +
                                       std::to_string(l.emb->num_embeddings()) + " rows and the output " +
                                       std::to_string(l.head->out_features()) + " classes");
  m.net = std::move(f.module);
  return m;
}

std::string sample_char_lm(CharLm& model, const SampleOptions& o) {
  const Layers l = layers_of(*model.net);
  if (!l.emb) throw std::invalid_argument("sample_char_lm: not a char-lstm network");
  if (o.prime.empty()) throw UsageError("--prime: give at least one character");
  if (!(o.temperature > 0) || !std::isfinite(o.temperature)) throw UsageError("--temperature must be a positive number");
  if (o.length < 0) throw UsageError("--length must be at least 0");
  int32_t token_of[256];
  std::fill(std::begin(token_of), std::end(token_of), -1);
  for (size_t k = 0; k < model.vocabulary.size(); ++k) token_of[model.vocabulary[k]] = static_cast<int32_t>(k);
  std::vector<int64_t> prime;
  for (size_t i = 0; i < o.prime.size(); ++i) {
    const int32_t t = token_of[static_cast<unsigned char>(o.prime[i])];
    if (t < 0)
      throw UsageError("--prime: character " + data::quote_text(o.prime.substr(i, 1)) + " (at position " +
                       std::to_string(i) + ") is not in the model's vocabulary of " +
                       std::to_string(model.vocabulary.size()) + " characters");
    prime.push_back(t);
  }

  autograd::NoGradGuard no_grad;
  const int64_t V = static_cast<int64_t>(model.vocabulary.size()), H = l.lstm->hidden_size();
  Rng gen(o.seed);
  std::string out = o.prime;
  // The prime in one sequence; then one character at a time, the state carried.
  nn::RecurrentOutput step = l.lstm->forward_seq(l.emb->lookup(prime, {static_cast<int64_t>(prime.size()), 1}));
  Var last = ops::narrow(step.output, 0, static_cast<int64_t>(prime.size()) - 1, 1);
  std::vector<double> p(static_cast<size_t>(V));
  for (int64_t i = 0; i < o.length; ++i) {
    const Tensor z = l.head->forward(ops::reshape(last, {1, H})).value();
    double mx = z[0];
    for (int64_t k = 1; k < V; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    double total = 0;
    for (int64_t k = 0; k < V; ++k) total += p[static_cast<size_t>(k)] = std::exp((z[k] - mx) / o.temperature);
    double u = gen.uniform() * total;
    int64_t ch = V - 1;
    for (int64_t k = 0; k < V; ++k)
      if ((u -= p[static_cast<size_t>(k)]) < 0) {
        ch = k;
        break;
      }
    out += static_cast<char>(model.vocabulary[static_cast<size_t>(ch)]);
    step = l.lstm->forward_seq(l.emb->lookup({ch}, {1, 1}), step.state);
    last = step.output;
  }
  return out;
}

}  // namespace bp::pipeline
