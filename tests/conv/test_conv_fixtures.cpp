// The convolutional blocks against PyTorch's values (tests/fixtures/conv/gen_conv_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "backprop/ops/conv_ops.hpp"
#include "../test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
using nlohmann::json;
namespace ops = bp::ops;

const json& fixtures() {
  static const json j = bp::testing::load_fixture("conv/conv_fixtures.json");
  return j;
}

Tensor tensor(const json& t) { return Tensor(t.at("shape").get<Shape>(), t.at("data").get<std::vector<float>>()); }

void expect_close(const Tensor& got, const json& want, const std::string& what, double tol = 2e-5) {
  Tensor w = tensor(want);
  ASSERT_EQ(got.shape(), w.shape()) << what;
  for (int64_t i = 0; i < w.numel(); ++i)
    ASSERT_NEAR(got[i], w[i], tol * (1 + std::fabs(w[i]))) << what << " element " << i;
}

// Runs every case of one op through `forward`, backpropagates PyTorch's dy and compares.
template <class F>
int check_op(const std::string& op, F forward) {
  int seen = 0;
  for (const json& c : fixtures().at("cases")) {
    if (c.at("op") != op) continue;
    ++seen;
    const std::string name = c.at("name");
    std::map<std::string, Var> in;
    for (const char* k : {"x", "w", "b", "gamma", "beta"})
      if (c.contains(k)) in[k] = Var(tensor(c.at(k)), true);
    Var y = forward(c, in);
    expect_close(y.value(), c.at("y"), name + " y");
    y.backward(tensor(c.at("dy")));
    for (auto& [k, v] : in) expect_close(v.grad(), c.at("d" + k), name + " d" + k);
  }
  return seen;
}

TEST(ConvFixtures, Conv2dMatchesPyTorch) {
  int n = check_op("conv2d", [](const json& c, std::map<std::string, Var>& in) {
    const auto p = ops::conv_params(c.at("stride"), c.at("padding"), c.at("dilation"), c.at("groups"));
    const Var b = in.count("b") ? in.at("b") : Var();
    return ops::conv2d(in.at("x"), in.at("w"), b, p);
  });
  EXPECT_GE(n, 8);
}

TEST(ConvFixtures, PoolingMatchesPyTorch) {
  auto pool = [](const json& c, std::map<std::string, Var>& in) {
    return c.at("op") == "max_pool2d" ? ops::max_pool2d(in.at("x"), c.at("kernel"), c.at("stride"), c.at("padding"))
                                      : ops::avg_pool2d(in.at("x"), c.at("kernel"), c.at("stride"), c.at("padding"));
  };
  EXPECT_GE(check_op("max_pool2d", pool), 3);
  EXPECT_GE(check_op("avg_pool2d", pool), 2);
  EXPECT_EQ(check_op("global_avg_pool2d", [](const json&, auto& in) { return ops::global_avg_pool2d(in.at("x")); }), 1);
}

TEST(ConvFixtures, BatchNormMatchesPyTorch) {
  int n = check_op("batch_norm", [](const json& c, std::map<std::string, Var>& in) {
    Tensor rm = tensor(c.at("running_mean")), rv = tensor(c.at("running_var"));
    Var y = ops::batch_norm(in.at("x"), in.at("gamma"), in.at("beta"), &rm, &rv, c.at("training"),
                            c.at("momentum").get<float>(), c.at("eps").get<float>());
    expect_close(rm, c.at("running_mean_after"), std::string(c.at("name")) + " running_mean");
    expect_close(rv, c.at("running_var_after"), std::string(c.at("name")) + " running_var");
    return y;
  });
  EXPECT_EQ(n, 4);
}

}  // namespace
