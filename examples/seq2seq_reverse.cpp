// An LSTM encoder–decoder (nn::Seq2Seq) learns to reverse digit strings of 1 to 8 digits:
// teacher forcing in training, greedy decoding on 1,000 held-out strings (never trained on).
//
//   ./build/example_seq2seq_reverse [steps=2000] [hidden=64] [task=reverse|sort]
//
// Prints the training loss and the held-out exact-match accuracy as it goes, then a few
// translations. docs/sequences.md has the measured accuracy and time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "backprop/nn/seq2seq.hpp"
#include "backprop/optim/clip.hpp"
#include "backprop/optim/optim.hpp"

namespace {

using bp::nn::TokenSequences;

std::vector<int64_t> random_digits(bp::Rng& rng) {
  std::vector<int64_t> s(1 + rng.below(8));
  for (auto& d : s) d = static_cast<int64_t>(rng.below(10));
  return s;
}

std::vector<int64_t> transduce(std::vector<int64_t> s, bool sort) {
  if (sort)
    std::sort(s.begin(), s.end());
  else
    std::reverse(s.begin(), s.end());
  return s;
}

std::string text(const std::vector<int64_t>& s) {
  std::string t;
  for (int64_t d : s) t += static_cast<char>('0' + d);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int hidden = argc > 2 ? std::atoi(argv[2]) : 64;
  const bool sort = argc > 3 && std::string(argv[3]) == "sort";
  if (steps < 1 || hidden < 1) {
    std::fprintf(stderr, "usage: %s [steps] [hidden] [reverse|sort]\n", argv[0]);
    return 2;
  }

  // Held-out strings, and a training stream that never draws one of them.
  bp::Rng data(7);
  TokenSequences test_src, test_tgt;
  std::set<std::vector<int64_t>> held_out;
  while (test_src.size() < 1000) {
    auto s = random_digits(data);
    if (!held_out.insert(s).second) continue;
    test_tgt.push_back(transduce(s, sort));
    test_src.push_back(std::move(s));
  }
  auto accuracy = [&](bp::nn::Seq2Seq& m) {
    const TokenSequences y = m.greedy(test_src, 12);
    int right = 0;
    for (size_t i = 0; i < y.size(); ++i) right += y[i] == test_tgt[i];
    return static_cast<double>(right) / static_cast<double>(y.size());
  };

  bp::Rng rng(1);
  bp::nn::Seq2Seq model(10, 10, 16, hidden, rng);
  bp::optim::Adam adam(model.parameters(), {.lr = 0.01f});
  const auto start = std::chrono::steady_clock::now();
  double period = 0;
  for (int step = 1; step <= steps; ++step) {
    TokenSequences src, tgt;
    while (src.size() < 64) {
      auto s = random_digits(data);
      if (held_out.count(s)) continue;
      tgt.push_back(transduce(s, sort));
      src.push_back(std::move(s));
    }
    adam.set_lr(0.01f - 0.009f * static_cast<float>(step) / static_cast<float>(steps));  // linear decay to 0.001
    bp::Var loss = model.loss(src, tgt);
    adam.zero_grad();
    loss.backward();
    bp::optim::clip_grad_norm(adam, 1.f);
    adam.step();
    period += loss.item();
    if (step % 250 == 0 || step == steps) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %5d  loss %.4f  held-out exact match %.1f %%  %.1fs\n", step,
                  period / (step % 250 == 0 ? 250 : step % 250), 100 * accuracy(model), secs);
      std::fflush(stdout);
      period = 0;
    }
  }
  const TokenSequences y = model.greedy(TokenSequences(test_src.begin(), test_src.begin() + 5), 12);
  for (size_t i = 0; i < y.size(); ++i)
    std::printf("%-8s -> %-8s (%s)\n", text(test_src[i]).c_str(), text(y[i]).c_str(),
                y[i] == test_tgt[i] ? "right" : ("wrong, expected " + text(test_tgt[i])).c_str());
  return 0;
}
