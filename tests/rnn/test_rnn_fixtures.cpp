// The recurrent layers against PyTorch's nn.RNN / nn.LSTM / nn.GRU (float64 reference values
// written by tests/fixtures/rnn/gen_rnn_fixtures.py): outputs, final states and the gradients of
// a scalar loss with respect to the input, the initial states and every parameter, the
// parameters loaded by PyTorch's names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "backprop/nn/rnn.hpp"
#include "backprop/ops/ops.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using nlohmann::json;
namespace nn = bp::nn;
namespace ops = bp::ops;

const json& fixtures() {
  static const json j = bp::testing::load_fixture("rnn/rnn_fixtures.json");
  return j;
}

Tensor tensor(const json& t) {
  const auto d = t.at("data").get<std::vector<double>>();
  return Tensor(t.at("shape").get<Shape>(), std::vector<float>(d.begin(), d.end()));
}

// Largest |got − want| / (1 + |want|) over the elements; fails the test above `tol`.
double compare(const Tensor& got, const json& want_j, const std::string& what, double tol) {
  const Tensor want = tensor(want_j);
  EXPECT_EQ(got.shape(), want.shape()) << what;
  if (got.shape() != want.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]) / (1 + std::fabs(static_cast<double>(want[i]))));
  EXPECT_LE(worst, tol) << what;
  return worst;
}

TEST(RnnFixtures, LayersMatchPyTorch) {
  int seen = 0;
  double worst_value = 0, worst_grad = 0;
  for (const json& c : fixtures().at("cases")) {
    const std::string name = c.at("name"), kind = c.at("kind");
    SCOPED_TRACE(name);
    ++seen;
    const ops::Cell cell = kind == "lstm" ? ops::Cell::LSTM : kind == "gru" ? ops::Cell::GRU : ops::Cell::RNNTanh;
    bp::Rng rng(1);
    nn::Recurrent m(cell, c.at("input_size"), c.at("hidden_size"),
                    {.num_layers = c.at("num_layers"), .bidirectional = c.at("bidirectional"),
                     .batch_first = c.at("batch_first"), .bias = c.at("bias")},
                    rng);
    // Parameter names and order are PyTorch's.
    EXPECT_EQ(m.parameter_names(), c.at("param_order").get<std::vector<std::string>>());
    auto params = m.parameters();
    const auto names = m.parameter_names();
    for (size_t k = 0; k < params.size(); ++k) {
      const Tensor w = tensor(c.at("params").at(names[k]));
      ASSERT_EQ(params[k].shape(), w.shape()) << names[k];
      params[k].value().copy_from(w);
    }
    Var x(tensor(c.at("x")), true), h0(tensor(c.at("h0")), true);
    nn::RecurrentState init{h0, Var()};
    if (cell == ops::Cell::LSTM) init.c = Var(tensor(c.at("c0")), true);
    const std::vector<int64_t> lengths = c.contains("lengths") ? c.at("lengths").get<std::vector<int64_t>>() : std::vector<int64_t>{};

    const nn::RecurrentOutput out = m.forward_seq(x, init, lengths);
    worst_value = std::max(worst_value, compare(out.output.value(), c.at("y"), name + " y", 1e-5));
    worst_value = std::max(worst_value, compare(out.state.h.value(), c.at("hn"), name + " h_n", 1e-5));
    Var loss = ops::add(ops::sum(ops::mul(out.output, Var(tensor(c.at("dy"))))),
                        ops::sum(ops::mul(out.state.h, Var(tensor(c.at("dh"))))));
    if (cell == ops::Cell::LSTM) {
      worst_value = std::max(worst_value, compare(out.state.c.value(), c.at("cn"), name + " c_n", 1e-5));
      loss = ops::add(loss, ops::sum(ops::mul(out.state.c, Var(tensor(c.at("dc"))))));
    }
    loss.backward();
    const json& g = c.at("grads");
    worst_grad = std::max(worst_grad, compare(x.grad(), g.at("x"), name + " dx", 1e-4));
    worst_grad = std::max(worst_grad, compare(h0.grad(), g.at("h0"), name + " dh0", 1e-4));
    if (cell == ops::Cell::LSTM) worst_grad = std::max(worst_grad, compare(init.c.grad(), g.at("c0"), name + " dc0", 1e-4));
    for (size_t k = 0; k < params.size(); ++k)
      worst_grad = std::max(worst_grad, compare(params[k].grad(), g.at(names[k]), name + " d" + names[k], 1e-4));
  }
  EXPECT_GE(seen, 9);
  std::printf("[ rnn fixtures ] %d cases; largest relative difference from PyTorch: values %.2e, gradients %.2e\n", seen,
              worst_value, worst_grad);
}

}  // namespace
