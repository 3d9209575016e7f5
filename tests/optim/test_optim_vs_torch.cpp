// The optimizers and learning-rate schedules against PyTorch 1.13's, on golden values written
// by tests/fixtures/optim/gen_optim_fixtures.py (the tests need no Python).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "../test_util.hpp"

namespace {

using bp::Tensor;
using bp::Var;
using nlohmann::json;
namespace optim = bp::optim;

json load(const std::string& name) { return bp::testing::load_fixture("optim/" + name); }

Tensor tensor_of(const json& j) {
  return Tensor(j.at("shape").get<bp::Shape>(), j.at("values").get<std::vector<float>>());
}

// Our optimizer for a fixture case, from the same keyword arguments PyTorch was given.
std::unique_ptr<optim::Optimizer> make(const json& c, const std::vector<Var>& params) {
  const std::string kind = c.at("kind");
  const json& kw = c.at("kwargs");
  const float lr = kw.at("lr");
  const float wd = kw.value("weight_decay", 0.0f);
  if (kind == "SGD")
    return std::make_unique<optim::SGD>(
        params, optim::SGDOptions{lr, kw.value("momentum", 0.0f), kw.value("nesterov", false), wd});
  if (kind == "Adagrad") return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{lr, 1e-10f, wd});
  if (kind == "RMSprop")
    return std::make_unique<optim::RMSprop>(
        params, optim::RMSpropOptions{lr, kw.value("alpha", 0.99f), kw.value("eps", 1e-8f), wd, kw.value("momentum", 0.0f)});
  optim::AdamOptions o{lr};
  if (kw.contains("betas")) {
    o.beta1 = kw["betas"][0];
    o.beta2 = kw["betas"][1];
  }
  o.eps = kw.value("eps", 1e-8f);
  if (kind == "Adam") {
    o.weight_decay = wd;
    return std::make_unique<optim::Adam>(params, o);
  }
  if (kind == "AdamW") {
    o.weight_decay = kw.value("weight_decay", 0.01f);  // AdamW's default differs from Adam's
    return std::make_unique<optim::AdamW>(params, o);
  }
  throw std::runtime_error("fixture names an unknown optimizer " + kind);
}

// Tolerance. Both sides compute in float32 with the same formulas in the same order, so a
// step differs only where the hyperparameters are rounded differently: PyTorch keeps lr, β
// and the bias corrections as doubles and rounds 1 − β, lr/(1 − β₁ᵗ) to float32 once, while
// ours starts from float32 values (0.9f ≠ 0.9), a relative difference of up to ~3e-7 in each
// coefficient. An update is at most ~lr·(a few) in size, so after 5 steps of lr ≤ 0.1 the
// parameters (|p| ≲ 2) agree to a few float32 ulps of |p|, or of the updates (~1e-7
// absolute) where p is near 0. The worst difference seen is 4.8e-7 at |p| = 1.16 (RMSprop
// with momentum, step 5; ~4 ulps); atol 1e-6 + rtol 2e-6 allows ~3.3e-6 there, 7× more, and
// stays far below any real mistake (a missing bias correction, a wrong 1 − β or Nesterov
// without its look-ahead moves values by more than 1e-3).
constexpr double kRtol = 2e-6, kAtol = 1e-6;

void expect_close(const Tensor& got, const json& want, const std::string& where) {
  const auto w = want.get<std::vector<double>>();
  ASSERT_EQ(static_cast<size_t>(got.numel()), w.size()) << where;
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(got[static_cast<int64_t>(i)], w[i], kAtol + kRtol * std::fabs(w[i])) << where << " element " << i;
}

TEST(OptimVsTorch, FixedGradientSequence) {
  const json f = load("optimizers.json");
  const json& grads = f.at("sequence").at("grads");
  for (const json& c : f.at("sequence").at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    Var w(tensor_of(f.at("params").at("w")), true), b(tensor_of(f.at("params").at("b")), true);
    auto opt = make(c, {w, b});
    const json& steps = c.at("steps");
    ASSERT_EQ(steps.size(), grads.size());
    for (size_t s = 0; s < steps.size(); ++s) {
      // The optimizer owns flat gradient buffers; the parameters' gradients are views into them.
      w.grad().copy_from(Tensor({3, 4}, grads[s].at("w").get<std::vector<float>>()));
      b.grad().copy_from(Tensor({3}, grads[s].at("b").get<std::vector<float>>()));
      opt->step();
      expect_close(w.value(), steps[s].at("w"), name + " step " + std::to_string(s + 1) + " w");
      expect_close(b.value(), steps[s].at("b"), name + " step " + std::to_string(s + 1) + " b");
    }
  }
}

// The same optimizers with gradients from our own autograd on a tiny fixed loss,
// mse(x wᵀ + b, t): checks zero_grad/backward/step together as a user calls them.
TEST(OptimVsTorch, QuadraticLoss) {
  const json f = load("optimizers.json");
  const json& q = f.at("quadratic");
  const Var x(tensor_of(q.at("x"))), t(tensor_of(q.at("t")));
  for (const json& c : q.at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    Var w(tensor_of(f.at("params").at("w")), true), b(tensor_of(f.at("params").at("b")), true);
    auto opt = make(c, {w, b});
    const json& steps = c.at("steps");
    for (size_t s = 0; s < steps.size(); ++s) {
      opt->zero_grad();
      Var loss = bp::ops::mse_loss(bp::ops::linear(x, w, b), t);
      // The loss is a float32 sum of 18 squares, accumulated in a different order (ours in
      // double): a few ulps of its value.
      EXPECT_NEAR(loss.item(), steps[s].at("loss").get<double>(), 1e-6 * (1 + std::fabs(loss.item())));
      loss.backward();
      opt->step();
      // The gradients themselves differ by float32 rounding of the GEMM sums (~1e-7 relative),
      // which Adam's normalisation m/√v does not amplify beyond the tolerance above.
      expect_close(w.value(), steps[s].at("w"), name + " step " + std::to_string(s + 1) + " w");
      expect_close(b.value(), steps[s].at("b"), name + " step " + std::to_string(s + 1) + " b");
    }
  }
}

TEST(OptimVsTorch, Schedules) {
  const json f = load("schedules.json");
  const float base = f.at("base_lr");
  for (const json& c : f.at("cases")) {
    const std::string name = c.at("name");
    std::unique_ptr<optim::Schedule> s;
    if (c.at("kind") == "step") s = std::make_unique<optim::StepLR>(c.at("step_size").get<int>(), c.at("gamma").get<float>());
    else s = std::make_unique<optim::CosineLR>(c.at("t_max").get<int>(), c.at("eta_min").get<float>());
    const auto lrs = c.at("lrs").get<std::vector<double>>();
    for (size_t e = 0; e < lrs.size(); ++e)
      // PyTorch computes the rates in double (StepLR and CosineAnnealingLR recursively, one
      // multiplication per epoch); ours are float32 from the closed form: a few float ulps.
      EXPECT_NEAR(s->lr(base, static_cast<int>(e)), lrs[e], 1e-9 + 1e-6 * lrs[e]) << name << " epoch " << e;
  }
}

TEST(OptimVsTorch, CosineStaysAtItsMinimumPastThePeriod) {
  // A deliberate difference: PyTorch's CosineAnnealingLR rises again after T_max.
  optim::CosineLR s(4, 0.01f);
  EXPECT_NEAR(s.lr(0.1f, 4), 0.01f, 1e-9);
  EXPECT_NEAR(s.lr(0.1f, 6), 0.01f, 1e-9);
  EXPECT_NEAR(s.lr(0.1f, 100), 0.01f, 1e-9);
}

}  // namespace
