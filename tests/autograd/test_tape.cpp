// Tape semantics: accumulation, no-grad mode, release of the graph.
#include <gtest/gtest.h>

#include "backprop/ops/ops.hpp"

namespace {
using bp::Tensor;
using bp::Var;
namespace ops = bp::ops;
namespace ag = bp::autograd;

TEST(Tape, GradientsAccumulateAcrossBackwardCalls) {
  Var w(Tensor({2}, {1.f, 2.f}), true);
  ops::sum(ops::mul(w, w)).backward();  // d/dw Σw² = 2w
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{2, 4}));
  ops::sum(ops::mul(w, w)).backward();
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{4, 8}));
  w.zero_grad();
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{0, 0}));
}

TEST(Tape, ReusedValueSumsItsGradients) {
  // y = x·x + x  → dy/dx = 2x + 1
  Var x(Tensor({1}, {3.f}), true);
  ops::sum(ops::add(ops::mul(x, x), x)).backward();
  EXPECT_EQ(x.grad()[0], 7.f);
}

TEST(Tape, NoGradRecordsNothing) {
  Var w(Tensor({3}, 1.f), true);
  ag::clear_tape();
  {
    ag::NoGradGuard ng;
    Var y = ops::sum(ops::mul(w, w));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(ag::tape_size(), 0u);
    EXPECT_THROW(y.backward(), std::logic_error);
  }
  Var y = ops::sum(ops::mul(w, w));
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(ag::tape_size(), 2u);
}

TEST(Tape, ConstantsGetNoGradient) {
  Var w(Tensor({2}, 1.f), true);
  Var c(Tensor({2}, 3.f));
  ops::sum(ops::mul(w, c)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{3, 3}));
}

TEST(Tape, DroppedGraphsAreFreedAndBackwardReleasesTheTape) {
  Var w(Tensor({2}, 1.f), true);
  ag::clear_tape();
  for (int i = 0; i < 5000; ++i) ops::sum(ops::mul(w, w));  // results dropped without backward
  EXPECT_EQ(ag::tape_size(), 0u);
  Var y = ops::sum(ops::mul(w, w));
  y.backward();
  EXPECT_EQ(ag::tape_size(), 0u);
}

TEST(Tape, BackwardNeedsAScalarOrASeed) {
  Var w(Tensor({2}, 1.f), true);
  Var y = ops::mul(w, w);
  EXPECT_THROW(y.backward(), bp::ShapeError);
  y.backward(Tensor({2}, {1.f, 0.5f}));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{2, 1}));
}

}  // namespace
