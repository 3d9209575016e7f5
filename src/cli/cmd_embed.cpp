// backprop embed: word vectors by skip-gram with negative sampling (pipeline/embedding.hpp).
#include <cstdio>

#include "backprop/pipeline/embedding.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct EmbedCmd {
  pipeline::EmbedOptions o;
  bool quiet = false;
};
}  // namespace

Runner add_embed(CLI::App& app) {
  auto c = std::make_shared<EmbedCmd>();
  pipeline::EmbedOptions& o = c->o;
  CLI::App* cmd = app.add_subcommand("embed", "Train word vectors (skip-gram with negative sampling) on a text");
  const auto count = CLI::Range(int64_t{1}, int64_t{1} << 20);
  cmd->add_option("--text", o.text, "The text (plain or gzip); a line is a sentence")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", o.output, "Model file to write (safetensors)")->check(file_name())->capture_default_str();
  cmd->add_option("--dim", o.dim, "Vector size")->check(count)->capture_default_str();
  cmd->add_option("--window", o.window, "Largest distance of a context word (each word draws 1..window)")
      ->check(count)->capture_default_str();
  cmd->add_option("--negative", o.negative, "Noise words per pair")->check(count)->capture_default_str();
  cmd->add_option("--min-count", o.min_count, "Drop words seen fewer times")->check(count)->capture_default_str();
  cmd->add_option("--subsample", o.subsample, "Subsampling threshold of frequent words (0: off)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Passes over the text")->check(count)->capture_default_str();
  cmd->add_option("--lr", o.lr, "Initial learning rate (decays linearly)")->check(positive_number())->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the initialisation and the draws")->check(seed_number())->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0: one per core); more than 1 is Hogwild: not reproducible")
      ->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->add_option("--export-word2vec", o.export_word2vec, "Also write the vectors in word2vec's text format")
      ->check(file_name());
  cmd->add_flag("--quiet,-q", c->quiet, "No progress lines");
  return [c] {
    pipeline::Observer obs;
    if (!c->quiet) {
      obs.data_ready = [](const std::string& s) { std::printf("%s\n", s.c_str()), std::fflush(stdout); };
      obs.line = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
    }
    const pipeline::EmbedResult r = pipeline::train_embedding(c->o, obs);
    std::printf("%lld words of vocabulary, %lld dimensions; %lld epochs in %.1fs (%.0f words/s); loss %.4f per pair\n",
                static_cast<long long>(r.vocabulary), static_cast<long long>(c->o.dim),
                static_cast<long long>(c->o.epochs), r.seconds, r.words_per_second, r.loss);
    std::printf("model saved to %s\n", r.model_file.c_str());
    if (!c->o.export_word2vec.empty()) std::printf("word2vec text written to %s\n", c->o.export_word2vec.c_str());
    return 0;
  };
}

}  // namespace bp::cli
