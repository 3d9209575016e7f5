// Word embeddings (issue 12, part 5; docs/sequences.md): skip-gram with negative sampling
// (Mikolov et al. 2013) trained on a text file, the vectors saved with their vocabulary in a
// model file, exported in word2vec's text format, and queried for nearest neighbours and
// analogies by cosine similarity.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backprop/pipeline/observer.hpp"
#include "backprop/tensor/tensor.hpp"

namespace bp::pipeline {

struct EmbedOptions {
  std::string text;  // plain or gzip (found by its magic bytes)
  int64_t dim = 100;
  int64_t window = 5;      // the largest distance of a context word; each centre word draws 1..window
  int64_t negative = 5;    // noise words per (centre, context) pair
  int64_t min_count = 5;   // rarer words are dropped before training
  double subsample = 1e-3; // t of the subsampling of frequent words (0: off)
  int64_t epochs = 5;
  double lr = 0.025;       // decays linearly to lr·1e-4 over all epochs
  uint64_t seed = 1;
  int threads = 1;         // > 1: Hogwild (lock-free, not reproducible); 0: one per core
  std::string output = "embedding.safetensors";
  std::string export_word2vec;  // also write word2vec's text format here (empty: no)
};

struct EmbedResult {
  int64_t vocabulary = 0;   // words kept (count >= min_count)
  int64_t corpus_words = 0; // tokens in the text
  int64_t train_words = 0;  // tokens of kept words (per epoch, before subsampling)
  int64_t sentences = 0;
  double loss = 0;          // the last epoch's mean negative-sampling loss per pair
  double seconds = 0, words_per_second = 0;  // training only; words: kept tokens read, all epochs
  std::string model_file;
};

// The text as sentences of words: a line is a sentence (windows never cross a line break, as
// in word2vec); words are separated by whitespace, lower-cased (ASCII), with leading and
// trailing ASCII punctuation stripped ("King," → "king", "o'er" stays); empty words vanish.
std::vector<std::vector<std::string>> tokenize_text(const std::string& text);

// Trains, saves the model file (atomically) and the word2vec export if asked.
// UsageError: bad options; data::DataError: an unreadable text, or one with no word that
// occurs min_count times, or no window to learn from.
EmbedResult train_embedding(const EmbedOptions& o, const Observer& observer = {});

// A trained embedding: words by descending count (ties by byte order), their vectors.
struct WordVectors {
  std::vector<std::string> words;
  std::vector<int64_t> counts;
  Tensor vectors;             // (V, D), row i = words[i]
  nlohmann::json training;    // the options and results recorded at training (informational)
  int64_t index_of(const std::string& word) const;  // -1 when absent
};

// The model file: safetensors with one tensor "vectors" (V, D), metadata
// backprop.format_version, backprop.library_version and backprop.embedding, a JSON text
// {"vocabulary": [words], "counts": [counts], "training": {...}}, and the checksums.
// Written atomically; load refuses (io::ModelFileError) anything else, a vocabulary that does
// not fit the tensor, repeated or blank words, non-finite values.
void save_word_vectors(const std::filesystem::path& path, const WordVectors& wv);
WordVectors load_word_vectors(const std::filesystem::path& path);
// True when `path` is a safetensors file whose metadata has backprop.embedding (reads the
// header only; false for anything unreadable): evaluate and predict point to `similar`.
bool is_embedding_file(const std::filesystem::path& path);

// word2vec's text format: "V D" then one line per word, "word v1 … vD" (6 decimals), atomically.
void export_word2vec(const std::filesystem::path& path, const WordVectors& wv);

// One step of skip-gram with negative sampling for one (context, centre) pair: the update
// train_embedding makes. `in`: the context word's input vector; out[0]: the centre word's output
// vector (label 1); out[1..n): the noise words' (label 0); D floats each. One SGD step of size
// alpha on L = −log σ(in·out[0]) − Σ_{k≥1} log σ(−in·out[k]) (σ tabulated over ±6 to 4e-4,
// saturated beyond); `scratch` holds D floats. Returns L before the step.
double sgns_step(float* in, float* const* out, int n, int64_t D, float alpha, float* scratch);

struct Neighbour {
  std::string word;
  double cosine = 0;
};
// The `top` words most similar by cosine to `word`, itself excluded, most similar first.
// UsageError naming the word when it is not in the vocabulary.
std::vector<Neighbour> nearest_words(const WordVectors& wv, const std::string& word, int64_t top);
// The analogy a − b + c (king − man + woman ≈ queen): the `top` words whose cosine to
// unit(a) − unit(b) + unit(c) is largest, the three query words excluded (3CosAdd, as
// word2vec's compute-accuracy).
std::vector<Neighbour> analogy(const WordVectors& wv, const std::string& a, const std::string& b, const std::string& c,
                               int64_t top);

}  // namespace bp::pipeline
