#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backprop/tensor/tensor.hpp"

using bp::Shape;
using bp::Tensor;

TEST(Tensor, ZeroInitialisedWithShape) {
  Tensor t({2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.ndim(), 2);
  EXPECT_EQ(t.dim(-1), 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t[i], 0.f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
}

TEST(Tensor, ReshapeSharesStorageAndInfers) {
  Tensor t({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  r[0] = 9;
  EXPECT_EQ(t[0], 9);
  EXPECT_THROW(t.reshape({4, -1}), bp::ShapeError);
  EXPECT_THROW(t.reshape({-1, -1}), bp::ShapeError);
  EXPECT_THROW(t.reshape({5}), bp::ShapeError);
}

TEST(Tensor, CloneIsDeep) {
  Tensor t({2}, {1, 2});
  Tensor c = t.clone();
  c[0] = 5;
  EXPECT_EQ(t[0], 1);
  EXPECT_FALSE(c.same_storage(t));
}

TEST(Tensor, WrongValueCountIsRejected) { EXPECT_THROW(Tensor({2, 2}, std::vector<float>{1, 2, 3}), bp::ShapeError); }

TEST(Tensor, ItemNeedsOneElement) {
  EXPECT_EQ(Tensor({1, 1}, 4.f).item(), 4.f);
  EXPECT_THROW(Tensor({2}).item(), bp::ShapeError);
}

TEST(Tensor, DetectsNonFinite) {
  Tensor t({3}, {1, 2, 3});
  EXPECT_TRUE(t.all_finite());
  t[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(t.all_finite());
  t[1] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(t.all_finite());
}
