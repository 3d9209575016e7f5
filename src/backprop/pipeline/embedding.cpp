// Skip-gram with negative sampling, written as a direct loop rather than through autograd:
// each (centre, context) pair reads and writes 1 + negative rows of D floats — a few hundred
// flops — while a graph would allocate tensors per pair and an optimizer step would sweep the
// whole (V, D) tables. Updates are plain SGD on those rows only (sparse), as word2vec's.
#include "backprop/pipeline/embedding.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "backprop/data/error.hpp"
#include "backprop/data/io_util.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/io/safetensors.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/atomic_file.hpp"
#include "backprop/util/rng.hpp"

namespace bp::pipeline {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kMetaKey = "backprop.embedding";
constexpr const char* kTensor = "vectors";

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
bool is_punct(unsigned char c) { return c < 128 && std::ispunct(c); }

// Vose's alias method: exact draws from a discrete distribution in O(1) with O(V) memory
// (word2vec's table approximates unigram^0.75 with 10^8 entries).
struct AliasTable {
  std::vector<float> prob;
  std::vector<int32_t> alias;
  explicit AliasTable(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob.assign(n, 1.f);
    alias.resize(n);
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<int32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      alias[i] = static_cast<int32_t>(i);
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1 ? small : large).push_back(static_cast<int32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const int32_t s = small.back(), l = large.back();
      small.pop_back();
      prob[static_cast<size_t>(s)] = static_cast<float>(scaled[static_cast<size_t>(s)]);
      alias[static_cast<size_t>(s)] = l;
      scaled[static_cast<size_t>(l)] -= 1 - scaled[static_cast<size_t>(s)];
      if (scaled[static_cast<size_t>(l)] < 1) large.pop_back(), small.push_back(l);
    }
    // What is left has probability 1 up to rounding: prob stays 1.
  }
  // One draw from a 64-bit random word: the high half picks a column, the low half decides.
  int32_t draw(uint64_t r) const {
    const auto k = static_cast<size_t>(((r >> 32) * static_cast<uint64_t>(prob.size())) >> 32);
    const float u = static_cast<float>(r & 0xffffffu) * 0x1.0p-24f;
    return u < prob[k] ? static_cast<int32_t>(k) : alias[k];
  }
};

// σ and log σ tabulated over [-kMaxExp, kMaxExp], as word2vec (beyond it the gradient is
// taken as saturated).
constexpr float kMaxExp = 6.f;
constexpr int kTable = 4096;
struct SigmoidTable {
  float sig[kTable + 1], logsig[kTable + 1];
  SigmoidTable() {
    for (int i = 0; i <= kTable; ++i) {
      const double x = (2.0 * i / kTable - 1.0) * kMaxExp;
      sig[i] = static_cast<float>(1 / (1 + std::exp(-x)));
      logsig[i] = static_cast<float>(-std::log1p(std::exp(-x)));
    }
  }
  static int index(float f) { return static_cast<int>((f + kMaxExp) * (kTable / (2 * kMaxExp)) + 0.5f); }
};

}  // namespace

double sgns_step(float* in, float* const* out, int n, int64_t D, float alpha, float* e) {
  static const SigmoidTable table;
  double loss = 0;
  std::fill(e, e + D, 0.f);
  for (int k = 0; k < n; ++k) {
    const float label = k == 0 ? 1.f : 0.f;
    float* l2 = out[k];
    float f = 0;
#pragma omp simd reduction(+ : f)
    for (int64_t d = 0; d < D; ++d) f += in[d] * l2[d];
    // g = (label − σ(f))·alpha; the loss −log σ(±f)
    float sig;
    if (f > kMaxExp) {
      sig = 1.f, loss -= label > 0 ? 0.0 : -static_cast<double>(f);
    } else if (f >= -kMaxExp) {
      const int at = SigmoidTable::index(f);
      sig = table.sig[at];
      loss -= label > 0 ? table.logsig[at] : table.logsig[kTable - at];
    } else {  // below the table, or NaN (diverged: the epoch's end reports it)
      sig = 0.f, loss -= label > 0 ? static_cast<double>(f) : 0.0;
    }
    const float g = (label - sig) * alpha;
    // The input vector's gradient gathers every output's before any changes; it moves last.
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) e[d] += g * l2[d];
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) l2[d] += g * in[d];
  }
#pragma omp simd
  for (int64_t d = 0; d < D; ++d) in[d] += e[d];
  return loss;
}

namespace {

struct Shared {
  const std::vector<std::vector<int32_t>>* sentences;
  const std::vector<float>* keep;  // subsampling: the probability of keeping each word
  const AliasTable* noise;
  float* syn0;  // (V, D) input vectors: the embedding
  float* syn1;  // (V, D) output vectors of the negative-sampling objective
  int64_t D, window, negative;
  double lr, total_words;  // all epochs' kept tokens, for the learning-rate schedule
  std::atomic<int64_t>* words_done;
};

struct ThreadTotals {
  double loss = 0;
  int64_t pairs = 0;
};

// One thread's pass over sentences [begin, end).
ThreadTotals train_range(const Shared& s, size_t begin, size_t end, uint64_t seed) {
  Rng rng(seed);
  const int64_t D = s.D;
  std::vector<int32_t> buf;
  std::vector<float> neu1e(static_cast<size_t>(D));
  std::vector<float*> outs(static_cast<size_t>(s.negative) + 1);
  ThreadTotals tot;
  int64_t local = 0;  // words read since the last update of the shared count
  auto alpha_now = [&] {
    const double a = s.lr * (1 - static_cast<double>(s.words_done->load(std::memory_order_relaxed)) / (s.total_words + 1));
    return static_cast<float>(std::max(a, s.lr * 1e-4));
  };
  float alpha = alpha_now();
  for (size_t si = begin; si < end; ++si) {
    const auto& sentence = (*s.sentences)[si];
    buf.clear();
    for (int32_t w : sentence) {
      const float keep = (*s.keep)[static_cast<size_t>(w)];
      if (keep >= 1.f || static_cast<float>(rng.next_u64() & 0xffffffu) * 0x1.0p-24f < keep) buf.push_back(w);
    }
    local += static_cast<int64_t>(sentence.size());
    if (local >= 10000) {
      s.words_done->fetch_add(local, std::memory_order_relaxed);
      local = 0;
      alpha = alpha_now();
    }
    const auto n = static_cast<int64_t>(buf.size());
    for (int64_t i = 0; i < n; ++i) {
      const int32_t centre = buf[static_cast<size_t>(i)];
      // The dynamic window: 1..window, so nearer words are used more often.
      const auto reach =
          s.window - static_cast<int64_t>(((rng.next_u64() >> 32) * static_cast<uint64_t>(s.window)) >> 32);
      const int64_t lo = std::max<int64_t>(0, i - reach), hi = std::min<int64_t>(n - 1, i + reach);
      for (int64_t j = lo; j <= hi; ++j) {
        if (j == i) continue;
        float* l1 = s.syn0 + static_cast<int64_t>(buf[static_cast<size_t>(j)]) * D;
        int n_out = 0;
        outs[n_out++] = s.syn1 + static_cast<int64_t>(centre) * D;
        for (int64_t k = 0; k < s.negative; ++k) {
          const int32_t noise = s.noise->draw(rng.next_u64());
          if (noise != centre) outs[n_out++] = s.syn1 + static_cast<int64_t>(noise) * D;
        }
        tot.loss += sgns_step(l1, outs.data(), n_out, D, alpha, neu1e.data());
        ++tot.pairs;
      }
    }
  }
  s.words_done->fetch_add(local, std::memory_order_relaxed);
  return tot;
}

std::string lower_ascii(std::string w) {
  for (char& c : w)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return w;
}

[[noreturn]] void bad_file(const std::filesystem::path& path, const std::string& problem) {
  throw io::ModelFileError(path, problem);
}

}  // namespace

int64_t WordVectors::index_of(const std::string& word) const {
  const auto it = std::find(words.begin(), words.end(), word);
  return it == words.end() ? -1 : static_cast<int64_t>(it - words.begin());
}

std::vector<std::vector<std::string>> tokenize_text(const std::string& text) {
  std::vector<std::vector<std::string>> sentences(1);
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      if (!sentences.back().empty()) sentences.emplace_back();
      ++i;
      continue;
    }
    if (is_space(c)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !is_space(static_cast<unsigned char>(text[j]))) ++j;
    size_t b = i, e = j;
    while (b < e && is_punct(static_cast<unsigned char>(text[b]))) ++b;
    while (e > b && is_punct(static_cast<unsigned char>(text[e - 1]))) --e;
    if (e > b) sentences.back().push_back(lower_ascii(text.substr(b, e - b)));
    i = j;
  }
  if (sentences.back().empty()) sentences.pop_back();
  return sentences;
}

EmbedResult train_embedding(const EmbedOptions& o, const Observer& observer) {
  if (o.text.empty()) throw UsageError("embed needs --text FILE");
  if (o.dim < 1 || o.window < 1 || o.negative < 1 || o.min_count < 1 || o.epochs < 1)
    throw UsageError("embed: --dim, --window, --negative, --min-count and --epochs must be at least 1");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw UsageError("embed: --lr must be a positive number");
  if (!(o.subsample >= 0) || !std::isfinite(o.subsample)) throw UsageError("embed: --subsample must be 0 or more");
  if (o.threads < 0) throw UsageError("embed: --threads must be 0 (one per core) or more");
  if (o.output.empty()) throw UsageError("--output: give a file name");

  std::string text = data::read_file_text(o.text);
  if (text.size() >= 2 && text[0] == '\x1f' && text[1] == '\x8b') text = data::gunzip(text, o.text);
  const auto tokens = tokenize_text(text);

  // Vocabulary: words seen min_count times, by descending count, ties by byte order.
  std::unordered_map<std::string, int64_t> count;
  int64_t corpus_words = 0;
  for (const auto& s : tokens)
    for (const auto& w : s) ++count[w], ++corpus_words;
  WordVectors wv;
  for (const auto& [w, c] : count)
    if (c >= o.min_count) wv.words.push_back(w);
  std::sort(wv.words.begin(), wv.words.end(), [&](const std::string& a, const std::string& b) {
    const int64_t ca = count.at(a), cb = count.at(b);
    return ca != cb ? ca > cb : a < b;
  });
  if (wv.words.empty())
    data::fail(o.text, 0, "no word occurs --min-count " + std::to_string(o.min_count) + " times (the text has " +
                              std::to_string(corpus_words) + " words)");
  std::unordered_map<std::string, int32_t> id;
  for (size_t i = 0; i < wv.words.size(); ++i) {
    id.emplace(wv.words[i], static_cast<int32_t>(i));
    wv.counts.push_back(count.at(wv.words[i]));
  }
  const auto V = static_cast<int64_t>(wv.words.size());

  // The corpus as ids, unknown words dropped (the window reaches over them, as word2vec's).
  std::vector<std::vector<int32_t>> sentences;
  int64_t train_words = 0, pairs_possible = 0;
  for (const auto& s : tokens) {
    std::vector<int32_t> ids;
    for (const auto& w : s)
      if (auto it = id.find(w); it != id.end()) ids.push_back(it->second);
    if (ids.size() >= 2) pairs_possible += static_cast<int64_t>(ids.size());
    train_words += static_cast<int64_t>(ids.size());
    if (!ids.empty()) sentences.push_back(std::move(ids));
  }
  if (pairs_possible == 0)
    data::fail(o.text, 0, "no line has two words of the vocabulary: nothing to learn from (windows stay within a line)");

  // Subsampling: keep a word of relative frequency f with probability (√(f/t) + 1)·t/f.
  std::vector<float> keep(static_cast<size_t>(V), 1.f);
  if (o.subsample > 0)
    for (int64_t i = 0; i < V; ++i) {
      const double f = static_cast<double>(wv.counts[static_cast<size_t>(i)]) / static_cast<double>(train_words);
      keep[static_cast<size_t>(i)] = static_cast<float>(std::min(1.0, (std::sqrt(f / o.subsample) + 1) * o.subsample / f));
    }
  std::vector<double> noise_weights;
  for (int64_t c : wv.counts) noise_weights.push_back(std::pow(static_cast<double>(c), 0.75));
  const AliasTable noise(noise_weights);

  const int threads = std::max(1, std::min(o.threads == 0 ? static_cast<int>(std::thread::hardware_concurrency()) : o.threads,
                                          static_cast<int>(sentences.size())));
  if (observer.data_ready)
    observer.data_ready(o.text + ": " + std::to_string(corpus_words) + " words in " + std::to_string(tokens.size()) +
                        " lines; vocabulary " + std::to_string(V) + " words seen at least " +
                        std::to_string(o.min_count) + " times (" + std::to_string(train_words) + " tokens)");

  // word2vec's initialisation: input vectors U(±0.5/D), output vectors 0.
  const int64_t D = o.dim;
  Tensor syn0({V, D}), syn1({V, D});
  Rng init(o.seed);
  for (int64_t i = 0; i < syn0.numel(); ++i) syn0[i] = static_cast<float>((init.uniform() - 0.5) / static_cast<double>(D));
  std::atomic<int64_t> words_done{0};
  const Shared shared{&sentences, &keep, &noise, syn0.data(), syn1.data(), D, o.window, o.negative, o.lr,
                      static_cast<double>(train_words) * static_cast<double>(o.epochs), &words_done};

  // Each thread takes a contiguous share of the sentences, about equal in words.
  std::vector<size_t> bounds{0};
  for (int t = 1; t < threads; ++t) {
    const int64_t goal = train_words * t / threads;
    int64_t acc = 0;
    size_t k = 0;
    while (k < sentences.size() && acc < goal) acc += static_cast<int64_t>(sentences[k++].size());
    bounds.push_back(std::max(k, bounds.back()));
  }
  bounds.push_back(sentences.size());

  EmbedResult r;
  const auto start = Clock::now();
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const int64_t before = words_done.load();
    std::vector<ThreadTotals> totals(static_cast<size_t>(threads));
    auto seed_of = [&](int t) { return o.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) * 1000003u + static_cast<uint64_t>(t); };
    if (threads == 1) {
      totals[0] = train_range(shared, 0, sentences.size(), seed_of(0));
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] { totals[static_cast<size_t>(t)] = train_range(shared, bounds[static_cast<size_t>(t)], bounds[static_cast<size_t>(t) + 1], seed_of(t)); });
      for (auto& th : pool) th.join();
    }
    double loss = 0;
    int64_t pairs = 0;
    for (const auto& t : totals) loss += t.loss, pairs += t.pairs;
    r.loss = pairs > 0 ? loss / static_cast<double>(pairs) : 0;
    for (int64_t i = 0; i < syn0.numel(); ++i)
      if (!std::isfinite(syn0[i]))
        throw train::DivergenceError("embed: the vectors diverged in epoch " + std::to_string(epoch) +
                                     " (not finite); try a smaller --lr");
    if (observer.line) {
      const double secs = std::chrono::duration<double>(Clock::now() - epoch_start).count();
      char buf[256];
      std::snprintf(buf, sizeof buf, "epoch %lld/%lld  loss %.4f per pair  %lld pairs  %.0f words/s  %.1fs",
                    static_cast<long long>(epoch), static_cast<long long>(o.epochs), r.loss,
                    static_cast<long long>(pairs), static_cast<double>(words_done.load() - before) / std::max(secs, 1e-9),
                    std::chrono::duration<double>(Clock::now() - start).count());
      observer.line(buf);
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.vocabulary = V;
  r.corpus_words = corpus_words;
  r.train_words = train_words;
  r.sentences = static_cast<int64_t>(sentences.size());
  r.words_per_second = static_cast<double>(train_words * o.epochs) / std::max(r.seconds, 1e-9);

  wv.vectors = std::move(syn0);
  wv.training = {{"text", o.text},         {"dim", D},           {"window", o.window},   {"negative", o.negative},
                 {"min_count", o.min_count}, {"subsample", o.subsample}, {"epochs", o.epochs}, {"lr", o.lr},
                 {"seed", o.seed},         {"threads", threads}, {"corpus_words", corpus_words},
                 {"train_words", train_words}, {"loss", r.loss}};
  save_word_vectors(o.output, wv);
  r.model_file = o.output;
  if (!o.export_word2vec.empty()) export_word2vec(o.export_word2vec, wv);
  return r;
}

// ---- the model file

void save_word_vectors(const std::filesystem::path& path, const WordVectors& wv) {
  const nlohmann::json meta = {{"vocabulary", wv.words}, {"counts", wv.counts}, {"training", wv.training}};
  std::map<std::string, std::string> metadata = {{io::keys::kFormatVersion, std::to_string(io::kFormatVersion)},
                                                 {io::keys::kLibraryVersion, io::kLibraryVersion},
                                                 {kMetaKey, meta.dump()}};
  io::write_safetensors(path, {{kTensor, wv.vectors}}, metadata, true);
}

WordVectors load_word_vectors(const std::filesystem::path& path) {
  const io::SafeTensorsFile f = io::read_safetensors(path);
  const auto meta_it = f.metadata.find(kMetaKey);
  if (meta_it == f.metadata.end())
    bad_file(path, "not a word-embedding model (no backprop.embedding metadata; train one with backprop embed)");
  const auto version_it = f.metadata.find(io::keys::kFormatVersion);
  if (version_it == f.metadata.end()) bad_file(path, "no backprop.format_version");
  // Embedding files began at format version 2; a newer one than this build's is refused.
  int version = 0;
  for (char ch : version_it->second) version = ch >= '0' && ch <= '9' && version < 1000 ? version * 10 + (ch - '0') : -1;
  if (version < 2 || version > io::kFormatVersion)
    bad_file(path, "format version " + data::quote_text(version_it->second) + " is not one this build reads (2 to " +
                       std::to_string(io::kFormatVersion) + ")");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_it->second);
  } catch (const nlohmann::json::exception&) {
    bad_file(path, "backprop.embedding is not valid JSON");
  }
  if (!meta.is_object() || !meta.contains("vocabulary") || !meta.at("vocabulary").is_array() ||
      !meta.contains("counts") || !meta.at("counts").is_array())
    bad_file(path, "backprop.embedding must hold the arrays 'vocabulary' and 'counts'");
  WordVectors wv;
  std::unordered_set<std::string> seen;
  for (const auto& w : meta.at("vocabulary")) {
    if (!w.is_string() || w.get<std::string>().empty())
      bad_file(path, "the vocabulary must be non-empty strings");
    const std::string s = w.get<std::string>();
    for (char c : s)
      if (is_space(static_cast<unsigned char>(c))) bad_file(path, "the word " + data::quote_text(s) + " holds whitespace");
    if (!seen.insert(s).second) bad_file(path, "the word " + data::quote_text(s) + " is in the vocabulary twice");
    wv.words.push_back(s);
  }
  for (const auto& c : meta.at("counts")) {
    if (!c.is_number_integer() || c.get<int64_t>() < 0) bad_file(path, "the counts must be integers >= 0");
    wv.counts.push_back(c.get<int64_t>());
  }
  if (wv.counts.size() != wv.words.size())
    bad_file(path, std::to_string(wv.words.size()) + " words but " + std::to_string(wv.counts.size()) + " counts");
  if (meta.contains("training")) wv.training = meta.at("training");
  if (f.tensors.size() != 1 || f.tensors[0].first != kTensor)
    bad_file(path, "a word-embedding model holds exactly one tensor, 'vectors'");
  const Tensor& t = f.tensors[0].second;
  if (t.ndim() != 2 || t.dim(0) != static_cast<int64_t>(wv.words.size()) || t.dim(1) < 1 || wv.words.empty())
    bad_file(path, "'vectors' is " + shape_str(t.shape()) + " but the vocabulary has " +
                       std::to_string(wv.words.size()) + " words (expected (words, dim), both at least 1)");
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t[i]))
      bad_file(path, "the vector of " + data::quote_text(wv.words[static_cast<size_t>(i / t.dim(1))]) + " is not finite");
  wv.vectors = t.clone();
  return wv;
}

bool is_embedding_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char len[8];
  if (!in.read(reinterpret_cast<char*>(len), 8)) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  if (n == 0 || n > io::kMaxHeaderBytes) return false;
  std::string header(static_cast<size_t>(n), '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(n))) return false;
  try {
    const auto j = nlohmann::json::parse(header);
    return j.is_object() && j.contains("__metadata__") && j.at("__metadata__").is_object() &&
           j.at("__metadata__").contains(kMetaKey);
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void export_word2vec(const std::filesystem::path& path, const WordVectors& wv) {
  const int64_t V = wv.vectors.dim(0), D = wv.vectors.dim(1);
  util::write_atomic(path, [&](const util::ByteSink& put) {
    std::string line = std::to_string(V) + " " + std::to_string(D) + "\n";
    put(line.data(), line.size());
    char num[48];
    for (int64_t i = 0; i < V; ++i) {
      line = wv.words[static_cast<size_t>(i)];
      for (int64_t d = 0; d < D; ++d) {
        const int k = std::snprintf(num, sizeof num, " %.6f", static_cast<double>(wv.vectors[i * D + d]));
        line.append(num, static_cast<size_t>(k));
      }
      line += '\n';
      put(line.data(), line.size());
    }
  });
}

// ---- queries

namespace {

// The rows scaled to unit length (a zero row stays zero).
std::vector<float> unit_rows(const Tensor& v) {
  const int64_t V = v.dim(0), D = v.dim(1);
  std::vector<float> u(v.data(), v.data() + V * D);
  for (int64_t i = 0; i < V; ++i) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += static_cast<double>(u[i * D + d]) * u[i * D + d];
    const double inv = s > 0 ? 1 / std::sqrt(s) : 0;
    for (int64_t d = 0; d < D; ++d) u[i * D + d] = static_cast<float>(u[i * D + d] * inv);
  }
  return u;
}

int64_t index_or_fail(const WordVectors& wv, const std::string& word) {
  const int64_t i = wv.index_of(word);
  if (i < 0)
    throw UsageError("the word " + data::quote_text(word) + " is not in the model's vocabulary (" +
                     std::to_string(wv.words.size()) + " words; words are lower-case and rarer words were dropped)");
  return i;
}

std::vector<Neighbour> closest(const WordVectors& wv, const std::vector<float>& unit, std::vector<double> q,
                               const std::vector<int64_t>& exclude, int64_t top) {
  const int64_t V = wv.vectors.dim(0), D = wv.vectors.dim(1);
  double qn = 0;
  for (double x : q) qn += x * x;
  qn = qn > 0 ? 1 / std::sqrt(qn) : 0;
  std::vector<std::pair<double, int64_t>> scored;
  for (int64_t i = 0; i < V; ++i) {
    if (std::find(exclude.begin(), exclude.end(), i) != exclude.end()) continue;
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += q[static_cast<size_t>(d)] * unit[static_cast<size_t>(i * D + d)];
    scored.emplace_back(s * qn, i);
  }
  const auto k = static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(top, 0), static_cast<int64_t>(scored.size())));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<Neighbour> out;
  for (size_t j = 0; j < k; ++j) out.push_back({wv.words[static_cast<size_t>(scored[j].second)], scored[j].first});
  return out;
}

}  // namespace

std::vector<Neighbour> nearest_words(const WordVectors& wv, const std::string& word, int64_t top) {
  const int64_t i = index_or_fail(wv, word);
  const std::vector<float> unit = unit_rows(wv.vectors);
  const int64_t D = wv.vectors.dim(1);
  std::vector<double> q(unit.begin() + i * D, unit.begin() + (i + 1) * D);
  return closest(wv, unit, std::move(q), {i}, top);
}

std::vector<Neighbour> analogy(const WordVectors& wv, const std::string& a, const std::string& b, const std::string& c,
                               int64_t top) {
  const int64_t ia = index_or_fail(wv, a), ib = index_or_fail(wv, b), ic = index_or_fail(wv, c);
  const std::vector<float> unit = unit_rows(wv.vectors);
  const int64_t D = wv.vectors.dim(1);
  std::vector<double> q(static_cast<size_t>(D));
  for (int64_t d = 0; d < D; ++d)
    q[static_cast<size_t>(d)] = static_cast<double>(unit[static_cast<size_t>(ia * D + d)]) -
                                unit[static_cast<size_t>(ib * D + d)] + unit[static_cast<size_t>(ic * D + d)];
  return closest(wv, unit, std::move(q), {ia, ib, ic}, top);
}

}  // namespace bp::pipeline
