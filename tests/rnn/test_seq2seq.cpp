// The LSTM encoder–decoder (nn/seq2seq.hpp): finite differences through the whole model and
// its masked loss, teacher forcing against a step-by-step decoder, greedy decoding, the model
// file round trip, and a transduction it must learn (reversing digit strings of 1–8 digits).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include <unistd.h>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/clip.hpp"
#include "backprop/optim/optim.hpp"
#include "../test_util.hpp"

namespace {

using bp::Tensor;
using bp::Var;
using bp::nn::Seq2Seq;
using bp::nn::TokenSequences;
namespace ops = bp::ops;
namespace fs = std::filesystem;

// Every weight of a tiny encoder–decoder as an input of the finite-difference check, through
// the masked loss of a batch with unequal source and target lengths (an empty target included).
TEST(Seq2Seq, GradcheckOfTheWholeModel) {
  bp::Rng rng(3);
  Seq2Seq m(4, 3, 2, 3, rng);
  // N(0, 1) embeddings make the LSTM gates saturate; smaller values keep the check in its
  // smooth range (the gradients are what is checked, not the initialisation).
  std::vector<Var> params = m.parameters();
  std::vector<Tensor> in;
  for (size_t i = 0; i < params.size(); ++i) in.push_back(bp::testing::random_tensor(params[i].shape(), 40 + i, -0.8f, 0.8f));
  const TokenSequences src{{0, 3, 1}, {2}, {1, 1}}, tgt{{2, 0}, {}, {1, 2, 2}};
  bp::testing::expect_grad_ok(
      [&](const std::vector<Var>& v) {
        m.source_embedding.weight = v[0];
        auto& e = m.encoder.weights(0, 0);
        e.w_ih = v[1], e.w_hh = v[2], e.b_ih = v[3], e.b_hh = v[4];
        m.target_embedding.weight = v[5];
        auto& d = m.decoder.weights(0, 0);
        d.w_ih = v[6], d.w_hh = v[7], d.b_ih = v[8], d.b_hh = v[9];
        m.head.weight = v[10], m.head.bias = v[11];
        return m.loss(src, tgt);
      },
      in);
  EXPECT_EQ(params.size(), 12u);
}

// Teacher forcing equals running the decoder one step at a time from the encoder's state with
// the true previous token, and the loss is the mean cross-entropy of exactly the real positions.
TEST(Seq2Seq, TeacherForcingMatchesStepwiseDecoding) {
  bp::Rng rng(5);
  Seq2Seq m(5, 4, 3, 6, rng);
  const TokenSequences src{{1, 2, 3, 4}, {0}}, tgt{{3, 1}, {2, 2, 0}};
  const Tensor z = m.logits(src, tgt).value();  // (4, 2, 5)
  ASSERT_EQ(z.shape(), (bp::Shape{4, 2, 5}));
  double expected_loss = 0;
  int positions = 0;
  for (size_t b = 0; b < src.size(); ++b) {
    // Encode this source alone, then decode step by step.
    auto st = m.encoder.forward_seq(m.source_embedding.lookup(src[b], {static_cast<int64_t>(src[b].size()), 1})).state;
    int64_t prev = m.end_token();  // <start>
    for (size_t k = 0; k <= tgt[b].size(); ++k) {
      auto r = m.decoder.forward_seq(m.target_embedding.lookup({prev}, {1, 1}), st);
      st = r.state;
      const Tensor step = m.head.forward(ops::reshape(r.output, {1, 6})).value();
      Tensor row({1, 5});
      for (int c = 0; c < 5; ++c) row[c] = z[(static_cast<int64_t>(k) * 2 + static_cast<int64_t>(b)) * 5 + c];
      bp::testing::expect_close(row, step, 1e-5, "step " + std::to_string(k) + " of sequence " + std::to_string(b));
      const int64_t next = k < tgt[b].size() ? tgt[b][k] : m.end_token();
      expected_loss += ops::softmax_cross_entropy(Var(row), std::vector<int32_t>{static_cast<int32_t>(next)}).item();
      ++positions;
      prev = next;
    }
  }
  EXPECT_NEAR(m.loss(src, tgt).item(), expected_loss / positions, 1e-5);
}

TEST(Seq2Seq, BadInputsAreRefused) {
  bp::Rng rng(1);
  Seq2Seq m(3, 3, 2, 4, rng);
  EXPECT_THROW(m.loss({{0, 3}}, {{1}}), std::invalid_argument);   // source token out of range
  EXPECT_THROW(m.loss({{0}}, {{3}}), std::invalid_argument);      // 3 is <end>, not a target token
  EXPECT_THROW(m.loss({{}}, {{1}}), std::invalid_argument);       // empty source
  EXPECT_THROW(m.loss({{0}, {1}}, {{1}}), std::invalid_argument); // batch sizes differ
  EXPECT_THROW(m.greedy({}, 5), std::invalid_argument);
}

constexpr int kHidden = 64, kSteps = 1200;

// Digit strings of 1–8 digits and their reversal.
std::vector<int64_t> random_digits(bp::Rng& rng) {
  std::vector<int64_t> s(1 + rng.below(8));
  for (auto& d : s) d = static_cast<int64_t>(rng.below(10));
  return s;
}

// Learning that can fail: teacher-forced training on random strings (batches of 32, Adam with
// the learning rate decaying linearly from 0.01 to 0.001, clipping at 1), greedy decoding of 500
// held-out strings (excluded from training), exact match of the whole output >= 95 %. Then the
// model file round trip gives the same translations.
TEST(Seq2Seq, LearnsToReverseDigitStrings) {
  const auto start = std::chrono::steady_clock::now();
  bp::Rng data(7);
  TokenSequences test_src, test_tgt;
  std::set<std::vector<int64_t>> held_out;
  while (test_src.size() < 500) {
    auto s = random_digits(data);
    if (!held_out.insert(s).second) continue;
    test_tgt.emplace_back(s.rbegin(), s.rend());
    test_src.push_back(std::move(s));
  }
  bp::Rng rng(1);
  Seq2Seq m(10, 10, 16, kHidden, rng);
  bp::optim::Adam adam(m.parameters(), {.lr = 0.01f});
  for (int step = 1; step <= kSteps; ++step) {
    TokenSequences src, tgt;
    while (src.size() < 32) {
      auto s = random_digits(data);
      if (held_out.count(s)) continue;
      tgt.emplace_back(s.rbegin(), s.rend());
      src.push_back(std::move(s));
    }
    adam.set_lr(0.01f - 0.009f * static_cast<float>(step) / kSteps);  // linear decay to 0.001: a steady end
    Var loss = m.loss(src, tgt);
    adam.zero_grad();
    loss.backward();
    bp::optim::clip_grad_norm(adam, 1.f);
    adam.step();
  }
  const TokenSequences y = m.greedy(test_src, 12);
  int right = 0;
  for (size_t i = 0; i < y.size(); ++i) right += y[i] == test_tgt[i];
  std::printf("[ seq2seq reverse ] %d of %zu held-out strings exactly right after %d steps, %.1fs\n", right, y.size(),
              kSteps, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  EXPECT_GE(right, static_cast<int>(y.size()) * 95 / 100);

  const fs::path path = fs::temp_directory_path() / ("seq2seq_" + std::to_string(getpid()) + ".safetensors");
  bp::io::save_model(path, m, {});
  bp::io::ModelFile f = bp::io::load_model(path);
  fs::remove(path);
  auto* loaded = dynamic_cast<Seq2Seq*>(f.module.get());
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->config(), m.config());
  EXPECT_EQ(loaded->greedy(test_src, 12), y);
  // forward(): the same translations from a (T, B) tensor of equal-length sources.
  Tensor x({3, 2});
  const TokenSequences two{{1, 2, 3}, {9, 0, 4}};
  for (int t = 0; t < 3; ++t)
    for (int b = 0; b < 2; ++b) x[t * 2 + b] = static_cast<float>(two[static_cast<size_t>(b)][static_cast<size_t>(t)]);
  const Tensor out = loaded->forward(Var(x)).value();
  const TokenSequences g = loaded->greedy(two, 6);
  ASSERT_EQ(out.shape(), (bp::Shape{6, 2}));
  for (int b = 0; b < 2; ++b)
    for (size_t t = 0; t < 6; ++t)
      EXPECT_EQ(out[static_cast<int64_t>(t) * 2 + b],
                t < g[static_cast<size_t>(b)].size() ? g[static_cast<size_t>(b)][t] : loaded->end_token());
}

}  // namespace
