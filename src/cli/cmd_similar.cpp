// backprop similar: nearest neighbours and analogies in a word-embedding model (backprop embed).
#include <cstdio>

#include "backprop/pipeline/embedding.hpp"
#include "backprop/pipeline/errors.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct SimilarCmd {
  std::string model;
  std::vector<std::string> words;
  int64_t top = 10;
  bool analogy = false;
};

void print(const std::vector<pipeline::Neighbour>& ns) {
  for (const auto& n : ns) std::printf("  %-20s %.4f\n", n.word.c_str(), n.cosine);
}
}  // namespace

Runner add_similar(CLI::App& app) {
  auto c = std::make_shared<SimilarCmd>();
  CLI::App* cmd = app.add_subcommand(
      "similar", "Nearest words by cosine in a word-embedding model (backprop embed), or analogies a - b + c");
  cmd->add_option("--model,-m", c->model, "Model file (backprop embed)")->required()->check(CLI::ExistingFile);
  cmd->add_option("words", c->words, "Words to look up (with --analogy: A B C, for A - B + C)")->required();
  cmd->add_option("--top", c->top, "Neighbours to list")->check(CLI::Range(int64_t{1}, int64_t{1} << 30))->capture_default_str();
  cmd->add_flag("--analogy", c->analogy, "Answer A - B + C (king man woman: king - man + woman) for each three words");
  return [c] {
    if (c->analogy && c->words.size() % 3 != 0)
      throw pipeline::UsageError("--analogy takes three words per query (A B C for A - B + C), got " +
                                 std::to_string(c->words.size()));
    const pipeline::WordVectors wv = pipeline::load_word_vectors(c->model);
    // Every word first, so that an unknown one fails before anything is printed.
    for (const auto& w : c->words)
      if (wv.index_of(w) < 0) pipeline::nearest_words(wv, w, 1);
    if (c->analogy) {
      for (size_t i = 0; i < c->words.size(); i += 3) {
        std::printf("%s - %s + %s\n", c->words[i].c_str(), c->words[i + 1].c_str(), c->words[i + 2].c_str());
        print(pipeline::analogy(wv, c->words[i], c->words[i + 1], c->words[i + 2], c->top));
      }
    } else {
      for (const auto& w : c->words) {
        std::printf("%s\n", w.c_str());
        print(pipeline::nearest_words(wv, w, c->top));
      }
    }
    return 0;
  };
}

}  // namespace bp::cli
