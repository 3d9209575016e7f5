// The sequence blocks (ops/rnn.hpp): every one through the shared finite-difference checker over
// several time steps, the fused recurrent op against its composite reference, masking of
// unequal lengths, truncated backpropagation through time, the embedding's sparse rows.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/ops/ops.hpp"
#include "backprop/ops/rnn.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using bp::ops::Cell;
using bp::testing::expect_grad_ok;
using bp::testing::random_tensor;
namespace ops = bp::ops;

using bp::testing::expect_close;

// All of a sequence's results as one vector, so that one random direction weighs them all.
Var joined(const ops::SequenceResult& r) {
  std::vector<Var> parts{ops::reshape(r.output, {-1}), ops::reshape(r.h, {-1})};
  if (r.c.defined()) parts.push_back(ops::reshape(r.c, {-1}));
  return ops::concat(parts, 0);
}

struct SeqCase {
  int64_t T = 4, B = 3, I = 3, H = 3;
};

// x, h0, c0, w_ih, w_hh, b_ih, b_hh for `cell`, values in ±0.9 (the gates leave their linear range).
std::vector<Tensor> sequence_inputs(Cell cell, const SeqCase& c, uint64_t seed) {
  const int64_t GH = ops::gate_count(cell) * c.H;
  return {random_tensor({c.T, c.B, c.I}, seed, -0.9f, 0.9f),  random_tensor({c.B, c.H}, seed + 1, -0.9f, 0.9f),
          random_tensor({c.B, c.H}, seed + 2, -0.9f, 0.9f),    random_tensor({GH, c.I}, seed + 3, -0.9f, 0.9f),
          random_tensor({GH, c.H}, seed + 4, -0.9f, 0.9f),     random_tensor({GH}, seed + 5, -0.9f, 0.9f),
          random_tensor({GH}, seed + 6, -0.9f, 0.9f)};
}

ops::SequenceResult run(bool fused, Cell cell, const std::vector<Var>& v, const std::vector<int64_t>& lengths,
                        bool reverse) {
  const Var c0 = cell == Cell::LSTM ? v[2] : Var();
  return fused ? ops::recurrent_sequence(cell, v[0], v[1], c0, v[3], v[4], v[5], v[6], lengths, reverse)
               : ops::recurrent_sequence_reference(cell, v[0], v[1], c0, v[3], v[4], v[5], v[6], lengths, reverse);
}

const Cell kCells[] = {Cell::RNNTanh, Cell::LSTM, Cell::GRU};
const std::vector<int64_t> kLengths[] = {{}, {4, 1, 3}, {2, 4, 0}};

TEST(RnnOps, FusedSequenceGradcheckOverFourSteps) {
  const SeqCase c;
  for (Cell cell : kCells)
    for (bool reverse : {false, true})
      for (const auto& lengths : kLengths) {
        SCOPED_TRACE(ops::to_string(cell) + (reverse ? " reverse" : " forward") + " lengths " +
                     std::to_string(lengths.size()));
        bp::autograd::GradcheckOptions o;
        if (cell != Cell::LSTM) o.check = {true, true, false, true, true, true, true};  // c0 unused
        expect_grad_ok([&](const std::vector<Var>& v) { return joined(run(true, cell, v, lengths, reverse)); },
                       sequence_inputs(cell, c, 10 + static_cast<int>(cell)), o);
      }
}

TEST(RnnOps, ReferenceSequenceGradcheck) {
  const SeqCase c{.T = 3, .B = 2, .I = 2, .H = 2};
  for (Cell cell : kCells) {
    SCOPED_TRACE(ops::to_string(cell));
    bp::autograd::GradcheckOptions o;
    if (cell != Cell::LSTM) o.check = {true, true, false, true, true, true, true};
    expect_grad_ok([&](const std::vector<Var>& v) { return joined(run(false, cell, v, {3, 1}, true)); },
                   sequence_inputs(cell, c, 30), o);
  }
}

// Reference first, fast second: values and every gradient of the fused op equal the composite's.
TEST(RnnOps, FusedMatchesCompositeReference) {
  const SeqCase c{.T = 7, .B = 4, .I = 5, .H = 6};
  const std::vector<int64_t> lens[] = {{}, {7, 3, 1, 5}};
  for (Cell cell : kCells)
    for (bool reverse : {false, true})
      for (const auto& lengths : lens) {
        SCOPED_TRACE(ops::to_string(cell) + (reverse ? " reverse" : " forward"));
        const auto in = sequence_inputs(cell, c, 50);
        Tensor seed = random_tensor({c.T * c.B * c.H + (cell == Cell::LSTM ? 2 : 1) * c.B * c.H}, 77);
        std::vector<std::vector<Tensor>> grads;
        std::vector<Tensor> values;
        for (bool fused : {true, false}) {
          std::vector<Var> v;
          for (const Tensor& t : in) v.emplace_back(t.clone(), true);
          if (cell != Cell::LSTM) v[2].set_requires_grad(false);
          Var y = joined(run(fused, cell, v, lengths, reverse));
          y.backward(seed);
          values.push_back(y.value());
          grads.emplace_back();
          for (size_t k = 0; k < v.size(); ++k)
            if (k != 2 || cell == Cell::LSTM) grads.back().push_back(v[k].grad());
        }
        expect_close(values[0], values[1], 1e-5, "values");
        for (size_t k = 0; k < grads[0].size(); ++k) expect_close(grads[0][k], grads[1][k], 1e-5, "gradient " + std::to_string(k));
      }
}

// Past its length a sequence outputs 0 and its state stops: its final state is that of the
// sequence cut to its length and run alone (forward) — and, reversed, the run starts at its last step.
TEST(RnnOps, UnequalLengthsMaskOutputsAndFreezeState) {
  const SeqCase c{.T = 5, .B = 3, .I = 2, .H = 3};
  const std::vector<int64_t> lengths{5, 2, 3};
  for (Cell cell : kCells)
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(ops::to_string(cell) + (reverse ? " reverse" : " forward"));
      const auto in = sequence_inputs(cell, c, 90);
      std::vector<Var> v(in.begin(), in.end());
      const auto all = run(true, cell, v, lengths, reverse);
      for (int64_t b = 0; b < c.B; ++b) {
        const int64_t L = lengths[b];
        // sequence b alone, its first L steps
        std::vector<Var> one = v;
        one[0] = ops::narrow(ops::narrow(v[0], 1, b, 1), 0, 0, L);
        one[1] = ops::narrow(v[1], 0, b, 1);
        one[2] = ops::narrow(v[2], 0, b, 1);
        const auto alone = run(true, cell, one, {}, reverse);
        for (int64_t j = 0; j < c.H; ++j) {
          EXPECT_NEAR(all.h.value()[b * c.H + j], alone.h.value()[j], 1e-6);
          if (cell == Cell::LSTM) {
            EXPECT_NEAR(all.c.value()[b * c.H + j], alone.c.value()[j], 1e-6);
          }
          for (int64_t t = 0; t < c.T; ++t) {
            const float got = all.output.value()[(t * c.B + b) * c.H + j];
            if (t >= L) {
              EXPECT_EQ(got, 0.f) << "t " << t << " b " << b;
            } else {
              EXPECT_NEAR(got, alone.output.value()[t * c.H + j], 1e-6);
            }
          }
        }
      }
    }
}

// Truncated BPTT: two chunks with the state carried (detached) between them give the values of
// one run over the whole sequence, and the second chunk's backward stops at its start.
TEST(RnnOps, TruncatedBackpropCarriesStateBetweenChunks) {
  const SeqCase c{.T = 6, .B = 2, .I = 3, .H = 4};
  for (Cell cell : kCells) {
    SCOPED_TRACE(ops::to_string(cell));
    const auto in = sequence_inputs(cell, c, 120);
    std::vector<Var> v;
    for (const Tensor& t : in) v.emplace_back(t, true);
    const Var c0 = cell == Cell::LSTM ? v[2] : Var();
    const auto whole = ops::recurrent_sequence(cell, v[0], v[1], c0, v[3], v[4], v[5], v[6]);

    Var x1(ops::narrow(v[0], 0, 0, 3).value(), true), x2(ops::narrow(v[0], 0, 3, 3).value(), true);
    const auto first = ops::recurrent_sequence(cell, x1, v[1], c0, v[3], v[4], v[5], v[6]);
    const Var h = first.h.detach(), cc = first.c.defined() ? first.c.detach() : Var();
    const auto second = ops::recurrent_sequence(cell, x2, h, cc, v[3], v[4], v[5], v[6]);
    expect_close(second.output.value(), ops::narrow(whole.output, 0, 3, 3).value(), 1e-6, "chunk 2 outputs");
    expect_close(second.h.value(), whole.h.value(), 1e-6, "final h");
    if (cell == Cell::LSTM) expect_close(second.c.value(), whole.c.value(), 1e-6, "final c");

    ops::sum(second.output).backward();
    EXPECT_TRUE(x2.grad().defined());
    EXPECT_FALSE(x1.grad().defined()) << "the gradient crossed the chunk boundary";
    EXPECT_FALSE(h.requires_grad());
  }
}

TEST(RnnOps, SequenceShapeErrors) {
  const Var x(Tensor({4, 2, 3})), w_ih(Tensor({16, 3})), w_hh(Tensor({16, 4})), b(Tensor({16}));
  EXPECT_NO_THROW(ops::recurrent_sequence(Cell::LSTM, x, Var(), Var(), w_ih, w_hh, b, b));
  EXPECT_THROW(ops::recurrent_sequence(Cell::LSTM, Var(Tensor({4, 3})), Var(), Var(), w_ih, w_hh, b, b), bp::ShapeError);
  EXPECT_THROW(ops::recurrent_sequence(Cell::LSTM, x, Var(), Var(), Var(Tensor({16, 2})), w_hh, b, b), bp::ShapeError);
  EXPECT_THROW(ops::recurrent_sequence(Cell::GRU, x, Var(), Var(), w_ih, w_hh, b, b), bp::ShapeError);  // 16 % 3
  EXPECT_THROW(ops::recurrent_sequence(Cell::LSTM, x, Var(Tensor({2, 5})), Var(), w_ih, w_hh, b, b), bp::ShapeError);
  EXPECT_THROW(ops::recurrent_sequence(Cell::LSTM, x, Var(), Var(), w_ih, w_hh, b, b, {4}), bp::ShapeError);
  EXPECT_THROW(ops::recurrent_sequence(Cell::LSTM, x, Var(), Var(), w_ih, w_hh, b, b, {4, 5}), bp::ShapeError);
  EXPECT_THROW(ops::recurrent_sequence(Cell::RNNTanh, x, Var(), Var(Tensor({2, 4})), Var(Tensor({4, 3})),
                                       Var(Tensor({4, 4})), Var(), Var()),
               bp::ShapeError);
}

// ---- embedding
TEST(RnnOps, EmbeddingGradcheckWithRepeatedRows) {
  const std::vector<int64_t> idx{3, 0, 3, 1, 4, 3};
  expect_grad_ok([&](const std::vector<Var>& v) { return ops::embedding(v[0], idx, {2, 3}); },
                 {random_tensor({6, 4}, 7)});
}

TEST(RnnOps, EmbeddingBackwardTouchesOnlyLookedUpRows) {
  Var w(random_tensor({5, 3}, 8), true);
  Var y = ops::embedding(w, {2, 4, 2}, {3});
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y.value()[3 + j], w.value()[4 * 3 + j]);
  ops::sum(y).backward();
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(w.grad()[r * 3 + j], r == 2 ? 2.f : r == 4 ? 1.f : 0.f) << r;
  EXPECT_THROW(ops::embedding(w, {5}, {1}), std::invalid_argument);
  EXPECT_THROW(ops::embedding(w, {-1}, {1}), std::invalid_argument);
  EXPECT_THROW(ops::embedding(w, {1, 2}, {3}), bp::ShapeError);
}

// ---- shape blocks
TEST(RnnOps, ShapeBlocksGradcheck) {
  expect_grad_ok([](const std::vector<Var>& v) { return ops::narrow(v[0], 1, 1, 2); }, {random_tensor({2, 4, 3}, 1)});
  expect_grad_ok([](const std::vector<Var>& v) { return ops::narrow(v[0], 2, 0, 1); }, {random_tensor({2, 4, 3}, 2)});
  expect_grad_ok([](const std::vector<Var>& v) { return ops::concat({v[0], v[1], v[0]}, 2); },
                 {random_tensor({2, 3, 2}, 3), random_tensor({2, 3, 4}, 4)});
  expect_grad_ok([](const std::vector<Var>& v) { return ops::concat({v[0], v[1]}, 0); },
                 {random_tensor({1, 3}, 5), random_tensor({2, 3}, 6)});
  expect_grad_ok([](const std::vector<Var>& v) { return ops::swap01(v[0]); }, {random_tensor({2, 3, 4}, 7)});
  const Var a(Tensor({2, 3})), b(Tensor({2, 4}));
  EXPECT_THROW(ops::concat({a, b}, 0), bp::ShapeError);
  EXPECT_THROW(ops::narrow(a, 1, 2, 2), bp::ShapeError);
  Tensor t({2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5});
  const Tensor s = ops::swap01(Var(t)).value();
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

}  // namespace
