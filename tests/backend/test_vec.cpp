// The backend's elementwise kernels against the obvious scalar loop.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "backprop/backend/backend.hpp"

namespace {

TEST(Vsqrt, MatchesStdSqrtExactlyForEveryLength) {
  // Lengths around every vector width (4, 8) and its tails; IEEE square roots are correctly
  // rounded in the scalar and the vector instruction alike, so the results are identical.
  for (int n = 0; n <= 41; ++n) {
    std::vector<float> x(n), y(n, -1.f);
    for (int i = 0; i < n; ++i) x[i] = 0.37f * static_cast<float>(i * i) + 1e-30f * static_cast<float>(i);
    bp::backend::vsqrt(x.data(), y.data(), n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(y[i], std::sqrt(x[i])) << "n=" << n << " i=" << i;
  }
}

TEST(Vsqrt, InPlaceAndSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x{4.f, 0.f, -0.f, inf, -1.f, 2.f, 9.f, 1e-40f, 16.f};
  bp::backend::vsqrt(x.data(), x.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(x[0], 2.f);
  EXPECT_EQ(x[1], 0.f);
  EXPECT_EQ(x[2], 0.f);
  EXPECT_EQ(x[3], inf);
  EXPECT_TRUE(std::isnan(x[4]));
  EXPECT_EQ(x[5], std::sqrt(2.f));
  EXPECT_EQ(x[6], 3.f);
  EXPECT_EQ(x[7], std::sqrt(1e-40f));  // a subnormal
  EXPECT_EQ(x[8], 4.f);
}

}  // namespace
