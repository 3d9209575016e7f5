// A user's mistake in optimizer or schedule settings gets one clear message naming the value.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "backprop/backend/backend.hpp"
#include "backprop/optim/optim.hpp"

namespace {

using bp::Tensor;
using bp::Var;
namespace optim = bp::optim;

// Runs f, expects std::invalid_argument, and returns its message.
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (...) {
    return "<a different exception>";
  }
  return "<no exception>";
}

#define EXPECT_MESSAGE(call, ...)                                             \
  do {                                                                        \
    const std::string msg_ = message_of([&] { (void)(call); });               \
    for (const std::string& part : std::initializer_list<std::string>{__VA_ARGS__}) \
      EXPECT_NE(msg_.find(part), std::string::npos) << "message: " << msg_;   \
  } while (0)

std::vector<Var> params() { return {Var(Tensor({2, 2}, 1.f), true), Var(Tensor({2}), true)}; }

TEST(OptimErrors, BadLearningRate) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = 0.f}), "learning rate", "got 0");
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = -0.5f}), "learning rate", "got -0.5");
  EXPECT_MESSAGE(optim::Adam(params(), {.lr = nan}), "learning rate", "nan");
  EXPECT_MESSAGE(optim::Adagrad(params(), {.lr = inf}), "learning rate", "inf");
  EXPECT_MESSAGE(optim::make_optimizer({.name = "rmsprop", .lr = -1.f}, params()), "learning rate", "got -1");
}

TEST(OptimErrors, BadHyperparameters) {
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = 0.1f, .momentum = 1.f}), "momentum", "[0, 1)", "got 1");
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = 0.1f, .momentum = -0.1f}), "momentum", "got -0.1");
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = 0.1f, .nesterov = true}), "Nesterov", "momentum > 0");
  EXPECT_MESSAGE(optim::SGD(params(), {.lr = 0.1f, .weight_decay = -1e-3f}), "weight decay", "got -0.001");
  EXPECT_MESSAGE(optim::Adam(params(), {.beta1 = 1.f}), "beta1", "got 1");
  EXPECT_MESSAGE(optim::Adam(params(), {.beta2 = -0.5f}), "beta2", "got -0.5");
  EXPECT_MESSAGE(optim::Adam(params(), {.eps = -1e-8f}), "eps", ">= 0");
  EXPECT_MESSAGE(optim::AdamW(params(), {.weight_decay = -0.01f}), "weight decay", "got -0.01");
  EXPECT_MESSAGE(optim::RMSprop(params(), {.alpha = 1.5f}), "alpha", "got 1.5");
  EXPECT_MESSAGE(optim::RMSprop(params(), {.momentum = 2.f}), "momentum", "got 2");
  EXPECT_MESSAGE(optim::Adagrad(params(), {.eps = -1.f}), "eps", "got -1");
  EXPECT_MESSAGE(optim::make_optimizer({.name = "adam", .weight_decay = -1.f}, params()), "weight decay", "got -1");
}

TEST(OptimErrors, ParameterWithoutGradient) {
  EXPECT_MESSAGE(optim::SGD({Var(Tensor({2}), false)}, {.lr = 0.1f}), "does not require a gradient");
}

TEST(OptimErrors, UnknownOptimizerNamesTheChoices) {
  EXPECT_MESSAGE(optim::make_optimizer({.name = "adamax"}, params()), "unknown optimizer 'adamax'", "sgd", "nesterov",
                 "adagrad", "rmsprop", "adam", "adamw");
  EXPECT_MESSAGE(optim::make_optimizer({.name = ""}, params()), "unknown optimizer ''");
  EXPECT_MESSAGE(optim::make_optimizer({.name = "Adam"}, params()), "unknown optimizer 'Adam'");
}

TEST(OptimErrors, EveryKnownNameBuilds) {
  for (const char* name : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}) {
    auto opt = optim::make_optimizer({.name = name, .lr = 0.01f}, params());
    EXPECT_EQ(opt->name(), name);
  }
}

TEST(OptimErrors, BadScheduleSpec) {
  for (const char* spec : {"cosinus", "step", "step:", "step:3", "step:3:", "step:a:0.5", "step:3:x", "step:3:0.5:1",
                           "step:3;0.5", "step:3:0.5 ", "exponential:0.9", "STEP:3:0.5"})
    EXPECT_MESSAGE(optim::make_schedule(spec, 10), std::string("unknown schedule '") + spec + "'",
                   "constant", "cosine", "step:SIZE:GAMMA");
  EXPECT_MESSAGE(optim::make_schedule("step:0:0.5", 10), "schedule 'step:0:0.5'", "step size", "got 0");
  EXPECT_MESSAGE(optim::make_schedule("step:-2:0.5", 10), "schedule 'step:-2:0.5'", "got -2");
  EXPECT_MESSAGE(optim::make_schedule("step:3:0", 10), "schedule 'step:3:0'", "gamma", "got 0");
  EXPECT_MESSAGE(optim::make_schedule("step:3:-0.5", 10), "gamma", "got -0.5");
  EXPECT_MESSAGE(optim::CosineLR(0), "cosine schedule", "got 0");
  EXPECT_MESSAGE(optim::CosineLR(5, -0.1f), "minimum rate", "got -0.1");
}

TEST(OptimErrors, GoodScheduleSpecs) {
  EXPECT_FLOAT_EQ(optim::make_schedule("constant", 5)->lr(0.1f, 3), 0.1f);
  EXPECT_FLOAT_EQ(optim::make_schedule("", 5)->lr(0.1f, 3), 0.1f);
  EXPECT_FLOAT_EQ(optim::make_schedule("step:2:0.5", 5)->lr(0.1f, 4), 0.025f);
  EXPECT_NEAR(optim::make_schedule("cosine", 4)->lr(0.1f, 2), 0.05f, 1e-7);
}

}  // namespace

namespace {
// The update loops may be split across threads (with a BLAS sharing OpenMP's pool); every
// parameter's update is independent of the others, so the result is bit-identical.
TEST(OptimThreads, SameStepsWithOneOrTwoThreads) {
  const int before = bp::backend::num_threads();
  std::vector<std::vector<float>> finals;
  for (int threads : {1, 2}) {
    bp::backend::set_num_threads(threads);
    Var w(Tensor({300, 1000}), true);  // large enough to be split
    for (int64_t i = 0; i < w.numel(); ++i) w.value()[i] = std::sin(0.01f * static_cast<float>(i));
    for (const char* name : {"sgd", "nesterov", "adagrad", "rmsprop", "adamw"}) {
      auto opt = optim::make_optimizer({.name = name, .lr = 0.01f, .weight_decay = 0.01f}, {w});
      for (int s = 0; s < 3; ++s) {
        for (int64_t i = 0; i < w.numel(); ++i) w.grad()[i] = std::cos(0.003f * static_cast<float>(i * (s + 1)));
        opt->step();
      }
    }
    finals.push_back(w.value().to_vector());
  }
  EXPECT_EQ(finals[0], finals[1]);
  bp::backend::set_num_threads(before);
}
}  // namespace
