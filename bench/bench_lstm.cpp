// Benchmark (not a test): the character-level LSTM language model of issue 12 — embedding
// 65 → 64, one LSTM layer of 256, linear 256 → 65 — trained on random characters (sequences of
// 128, batch 32, softmax cross-entropy over all T·B positions, clip_grad_norm 5, Adam 2e-3),
// and batch-1 generation: one character at a time with the state carried, softmax at
// temperature 0.8 and a draw, nothing recorded (NoGradGuard). bench/peer_lstm.py does the same
// work in PyTorch; scripts/bench_lstm.sh runs both and prints the ratios.
//
// Everything goes through the library's public API as a user's training loop would.
//
//   bench_lstm [--threads 1,2] [--rounds 5] [--steps 10] [--budget 20] [--chars 2000] | --info
// --budget: seconds of timed training per thread count, after which the remaining rounds are
// skipped and a round is cut short (at least one step each), so that a side that collapses at
// some thread count (PyTorch's OpenMP threads on a loaded machine) cannot stall the run.
// Prints one "RESULT <key> <value>" line per measurement (medians), for scripts/bench_lstm.sh.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/nn/rnn.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/clip.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

namespace {

using bench::median;

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    out.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return out;
}

struct Options {
  std::vector<int> threads{1, 2};
  int rounds = 5;      // timed rounds; the median is reported
  int steps = 10;      // training steps per timed round
  int warmup = 2;      // untimed steps before the first round
  double budget = 20;  // seconds of timed training per thread count
  int chars = 2000;    // generated characters, timed in 10 chunks
};

constexpr int64_t kVocab = 65, kEmbed = 64, kHidden = 256, kT = 128, kB = 32;

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc == 2 && std::string(argv[1]) == "--info") {  // the BLAS in use, for scripts/bench_lstm.sh
    std::printf("%s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());
    return 0;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") o.threads = parse_list(argv[i + 1]);
    else if (a == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (a == "--steps") o.steps = std::atoi(argv[i + 1]);
    else if (a == "--chars") o.chars = std::atoi(argv[i + 1]);
    else if (a == "--budget") o.budget = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (o.rounds < 1 || o.steps < 1 || o.chars < 10 || o.threads.empty()) {
    std::fprintf(stderr, "bench_lstm: rounds, steps must be >= 1, chars >= 10\n");
    return 2;
  }
  std::printf("# backprop bench_lstm: embedding %lld -> %lld, LSTM %lld, linear -> %lld; T %lld, batch %lld, "
              "Adam 2e-3, clip 5\n",
              static_cast<long long>(kVocab), static_cast<long long>(kEmbed), static_cast<long long>(kHidden),
              static_cast<long long>(kVocab), static_cast<long long>(kT), static_cast<long long>(kB));
  std::printf("# BLAS: %s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());

  bp::Rng data_rng(2024);
  for (int threads : o.threads) {
    bp::backend::set_num_threads(threads);
    bp::Rng rng(42);
    bp::nn::Embedding emb(kVocab, kEmbed, rng);
    bp::nn::LSTM lstm(kEmbed, kHidden, {}, rng);
    bp::nn::Linear head(kHidden, kVocab, true, bp::nn::Init::Glorot, rng);
    std::vector<bp::Var> params = emb.parameters();
    for (auto* m : std::initializer_list<bp::nn::Module*>{&lstm, &head})
      for (const bp::Var& p : m->parameters()) params.push_back(p);
    bp::optim::Adam opt(params, {2e-3f});

    // Random characters: inputs (T, B) time-major and next-character targets, fresh per step.
    std::vector<int64_t> tokens(static_cast<size_t>(kT * kB));
    std::vector<int32_t> targets(static_cast<size_t>(kT * kB));
    float last_loss = 0;
    auto train_step = [&]() {
      for (auto& c : tokens) c = static_cast<int64_t>(data_rng.below(kVocab));
      for (auto& c : targets) c = static_cast<int32_t>(data_rng.below(kVocab));
      opt.zero_grad();
      bp::Var x = emb.lookup(tokens, {kT, kB});                    // (T, B, 64)
      bp::Var h = lstm.forward_seq(x).output;                       // (T, B, 256)
      bp::Var logits = head.forward(bp::ops::reshape(h, {kT * kB, kHidden}));
      bp::Var loss = bp::ops::softmax_cross_entropy(logits, targets);
      loss.backward();
      bp::optim::clip_grad_norm(opt, 5.f);
      opt.step();
      last_loss = loss.item();
    };
    for (int i = 0; i < o.warmup; ++i) train_step();
    std::vector<double> rates;
    const auto start = Clock::now();
    auto over = [&] { return std::chrono::duration<double>(Clock::now() - start).count() > o.budget; };
    for (int r = 0; r < o.rounds && !(r > 0 && over()); ++r) {
      const auto t0 = Clock::now();
      int done = 0;
      while (done < o.steps && !(done > 0 && over())) train_step(), ++done;
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      rates.push_back(static_cast<double>(done * kT * kB) / s);
    }
    const double train = median(rates);

    // Batch-1 generation: state carried from character to character, nothing recorded.
    std::vector<double> per_char;
    int64_t sum = 0;
    {
      bp::autograd::NoGradGuard no_grad;
      bp::Rng gen(7);
      bp::nn::RecurrentState state;
      int64_t ch = 0;
      std::vector<float> p(static_cast<size_t>(kVocab));
      auto next = [&]() {
        bp::nn::RecurrentOutput r = lstm.forward_seq(emb.lookup({ch}, {1, 1}), state);
        state = r.state;
        const bp::Tensor& z = head.forward(bp::ops::reshape(r.output, {1, kHidden})).value();
        // softmax(z / 0.8) and one draw from it
        float mx = z[0];
        for (int64_t k = 1; k < kVocab; ++k) mx = std::max(mx, z[k]);
        float total = 0;
        for (int64_t k = 0; k < kVocab; ++k) total += p[k] = std::exp((z[k] - mx) / 0.8f);
        float u = static_cast<float>(gen.uniform()) * total;
        ch = kVocab - 1;
        for (int64_t k = 0; k < kVocab; ++k)
          if ((u -= p[k]) < 0) {
            ch = k;
            break;
          }
        sum += ch;
      };
      for (int i = 0; i < 200; ++i) next();
      const int chunks = 10, calls = o.chars / chunks;
      for (int c = 0; c < chunks; ++c) {
        const auto t0 = Clock::now();
        for (int i = 0; i < calls; ++i) next();
        per_char.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / calls);
      }
    }
    const double gen_us = median(per_char);
    volatile int64_t keep = sum;  // the outputs are used, so no call can be optimised away
    (void)keep;
    std::printf("# threads=%d train: median %.0f chars/s (min %.0f, max %.0f; loss %.3f)  generate batch 1: %.2f us/char\n",
                threads, train, *std::min_element(rates.begin(), rates.end()),
                *std::max_element(rates.begin(), rates.end()), last_loss, gen_us);
    std::printf("RESULT train_cps_t%d %.1f\n", threads, train);
    std::printf("RESULT gen_us_t%d %.3f\n", threads, gen_us);
  }
  return 0;
}
