// The character-level language model of issue 12 (docs/sequences.md): embedding → one LSTM
// layer → linear over the vocabulary, trained on a text file with truncated backpropagation
// through time, saved as a model file with its vocabulary, and sampled one character at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/pipeline/observer.hpp"

namespace bp::pipeline {

struct CharLmOptions {
  std::string text;  // the text file (plain or gzip, found by its magic bytes)
  int64_t hidden = 256, embedding = 64;
  int64_t seq_len = 128, batch_size = 32;
  double lr = 2e-3, clip = 5;  // Adam; gradient-norm clipping (0: off)
  // Stop after `steps` steps, or after `minutes` of training; neither set: 1000 steps.
  int64_t steps = 0;
  double minutes = 0;
  int64_t eval_every = 100;  // steps between validation passes (one reporting "epoch")
  uint64_t seed = 1;
  std::string output = "model.safetensors";
};

struct CharLmResult {
  int64_t vocabulary = 0, train_chars = 0, validation_chars = 0, steps = 0;
  double train_loss = 0;       // nats/char, the mean over the last eval_every steps
  double validation_loss = 0;  // nats/char over the whole validation text, the best seen
  int64_t best_step = 0;       // the step of that loss, whose weights are saved
  double seconds = 0;
  std::string model_file;
};

// Reads the text; vocabulary: its distinct bytes, sorted; the first 90 % trains, the last 10 %
// validates. Each step takes batch_size windows of seq_len + 1 characters at random offsets
// of the training text, each from a zero state (TBPTT over random windows), and makes one Adam
// step on the mean cross-entropy of the next character, the gradient's norm clipped. The
// validation loss is the mean over consecutive windows of seq_len, each from a zero state,
// every eval_every steps and at the end. Saves the model atomically with the weights of the
// best validation loss. UsageError: bad options; data::DataError: an unreadable text,
// or one too short for a window in each part.
CharLmResult train_char_lm(const CharLmOptions& o, const Observer& observer = {});

// A trained model: the network (Sequential: embedding, lstm, linear) and its vocabulary.
struct CharLm {
  std::unique_ptr<nn::Module> net;
  std::vector<uint8_t> vocabulary;  // index = token
};
// Loads and checks a char-lstm model file (io::ModelFileError when it is not one, or its
// vocabulary does not fit the embedding and output sizes).
CharLm load_char_lm(const std::filesystem::path& path);

struct SampleOptions {
  std::string prime = "\n";  // fed first, then continued; every character must be in the vocabulary
  int64_t length = 500;      // characters generated after the prime
  double temperature = 0.8;  // > 0: logits divided by it before the softmax
  uint64_t seed = 1;
};
// The prime followed by `length` characters drawn one at a time (batch 1, state carried,
// nothing recorded). UsageError: an empty prime, a character outside the vocabulary, a bad
// temperature or length.
std::string sample_char_lm(CharLm& model, const SampleOptions& o);

// True for a model file written by train_char_lm (its data is text, not a table): evaluate and
// predict refuse it with a pointer to `backprop sample` instead of a preprocessing error.
bool is_char_lm(const io::ModelInfo& info);

}  // namespace bp::pipeline
