// The backend's elementwise kernels against the obvious scalar loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
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

namespace {

// Distance in units in the last place between two floats of the same sign class: the
// difference of their positions on the ordered line of all floats.
int64_t ulps(float a, float b) {
  auto ord = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
  };
  return std::llabs(ord(a) - ord(b));
}

using VecFn = void (*)(const float*, float*, int64_t);

// The largest ulp error of f against the double-precision libm function rounded to float,
// over every 61st float of the whole line (70 million values, NaNs skipped), in chunks.
int64_t worst_ulps(VecFn f, double (*ref)(double), float* worst_at) {
  std::vector<float> x, y;
  int64_t worst = 0;
  const uint64_t stride = 61, chunk = 1 << 20;
  for (uint64_t u0 = 0; u0 < (uint64_t{1} << 32); u0 += stride * chunk) {
    x.clear();
    for (uint64_t u = u0; u < std::min(u0 + stride * chunk, uint64_t{1} << 32); u += stride) {
      const float v = std::bit_cast<float>(static_cast<uint32_t>(u));
      if (!std::isnan(v)) x.push_back(v);
    }
    y.assign(x.size(), 0.f);
    f(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t e = ulps(y[i], static_cast<float>(ref(x[i])));
      if (e > worst) worst = e, *worst_at = x[i];
    }
  }
  return worst;
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double exp_ref(double x) { return std::exp(x); }
double tanh_ref(double x) { return std::tanh(x); }

TEST(VecMath, WithinAFewUlpOverTheWholeFloatLine) {
  // Measured: exp 1 ulp, σ 3 ulp, tanh 2 ulp (every 7th float: the same maxima).
  float at = 0;
  EXPECT_LE(worst_ulps(bp::backend::vexp, exp_ref, &at), 2) << "exp at " << at;
  EXPECT_LE(worst_ulps(bp::backend::vsigmoid, sigmoid_ref, &at), 4) << "sigmoid at " << at;
  EXPECT_LE(worst_ulps(bp::backend::vtanh, tanh_ref, &at), 3) << "tanh at " << at;
}

TEST(VecMath, DenseSweepOfTheGateRange) {
  // Every float in [-20, 20] that is a multiple of 2^-12 (327,681 values), where the gates live,
  // checked against std::exp / std::tanh in double, at every length's tail.
  std::vector<float> x;
  for (int i = -20 * 4096; i <= 20 * 4096; ++i) x.push_back(static_cast<float>(i) / 4096.f);
  std::vector<float> e(x.size()), s(x.size()), t(x.size());
  bp::backend::vexp(x.data(), e.data(), static_cast<int64_t>(x.size()));
  bp::backend::vsigmoid(x.data(), s.data(), static_cast<int64_t>(x.size()));
  bp::backend::vtanh(x.data(), t.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_LE(ulps(e[i], static_cast<float>(exp_ref(x[i]))), 2) << x[i];
    ASSERT_LE(ulps(s[i], static_cast<float>(sigmoid_ref(x[i]))), 4) << x[i];
    ASSERT_LE(ulps(t[i], static_cast<float>(tanh_ref(x[i]))), 3) << x[i];
  }
  for (int n = 0; n <= 41; ++n) {  // lengths around every vector width, in place
    std::vector<float> v(x.begin() + 1000, x.begin() + 1000 + n);
    bp::backend::vtanh(v.data(), v.data(), n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(v[i], t[1000 + i]) << "n=" << n;
  }
}

TEST(VecMath, SaturationAndSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float big = std::numeric_limits<float>::max(), tiny = std::numeric_limits<float>::denorm_min();
  std::vector<float> x{0.f, -0.f, inf, -inf, nan, big, -big, 88.72f, 88.73f, -87.3f, -103.f, -104.5f, tiny, 1e-30f, 20.f, -20.f};
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> e(x.size()), s(x.size()), t(x.size());
  bp::backend::vexp(x.data(), e.data(), n);
  bp::backend::vsigmoid(x.data(), s.data(), n);
  bp::backend::vtanh(x.data(), t.data(), n);
  // exp: 1 at ±0, ∞ at +∞ and past 88.7228, 0 at −∞, subnormal results near the bottom.
  EXPECT_EQ(e[0], 1.f);
  EXPECT_EQ(e[1], 1.f);
  EXPECT_EQ(e[2], inf);
  EXPECT_EQ(e[3], 0.f);
  EXPECT_TRUE(std::isnan(e[4]));
  EXPECT_EQ(e[5], inf);
  EXPECT_EQ(e[6], 0.f);
  EXPECT_LE(ulps(e[7], static_cast<float>(std::exp(double{88.72f}))), 2);
  EXPECT_EQ(e[8], inf);
  EXPECT_LE(ulps(e[9], static_cast<float>(std::exp(double{-87.3f}))), 2);
  EXPECT_GT(e[10], 0.f);  // e^-103 ≈ 1.4e-45: the smallest subnormal
  EXPECT_LT(e[10], std::numeric_limits<float>::min());
  EXPECT_EQ(e[11], 0.f);
  EXPECT_EQ(e[12], 1.f);
  // σ: 1/2 at 0, 1 and 0 at the ends (no overflow on the way), tiny values kept.
  EXPECT_EQ(s[0], 0.5f);
  EXPECT_EQ(s[1], 0.5f);
  EXPECT_EQ(s[2], 1.f);
  EXPECT_EQ(s[3], 0.f);
  EXPECT_TRUE(std::isnan(s[4]));
  EXPECT_EQ(s[5], 1.f);
  EXPECT_EQ(s[6], 0.f);
  EXPECT_LE(ulps(s[9], static_cast<float>(sigmoid_ref(-87.3f))), 4);
  EXPECT_GT(s[10], 0.f);
  EXPECT_EQ(s[14], static_cast<float>(sigmoid_ref(20.0)));
  EXPECT_LE(ulps(s[15], static_cast<float>(sigmoid_ref(-20.0))), 4);
  // tanh: odd (−0 stays −0), ±1 at the ends, x itself for tiny x.
  EXPECT_EQ(t[0], 0.f);
  EXPECT_TRUE(std::signbit(t[1]));
  EXPECT_EQ(t[2], 1.f);
  EXPECT_EQ(t[3], -1.f);
  EXPECT_TRUE(std::isnan(t[4]));
  EXPECT_EQ(t[5], 1.f);
  EXPECT_EQ(t[6], -1.f);
  EXPECT_EQ(t[12], tiny);
  EXPECT_EQ(t[13], 1e-30f);
  EXPECT_EQ(t[14], 1.f);
  EXPECT_EQ(t[15], -1.f);
}

TEST(GemvRows, MatchesTheReferenceProductForEveryShape) {
  // c = alpha·B a + beta·c for row counts and lengths around the 4-row, 8-wide blocks, with a
  // row stride wider than k; beta 0 ignores what c held (NaN included).
  for (int64_t n : {1, 3, 4, 5, 9, 17})
    for (int64_t k : {1, 7, 8, 9, 33}) {
      const int64_t ldb = k + 3;
      std::vector<float> a(k), b(n * ldb), c(n, std::numeric_limits<float>::quiet_NaN()), ref(n, 0.f);
      for (int64_t p = 0; p < k; ++p) a[p] = 0.25f * static_cast<float>(p % 5) - 0.5f;
      for (int64_t i = 0; i < n * ldb; ++i) b[i] = 0.125f * static_cast<float>((i * 7) % 11) - 0.6f;
      bp::backend::gemv_rows(n, k, 2.f, a.data(), b.data(), ldb, 0.f, c.data());
      bp::backend::gemm_reference(false, true, 1, n, k, 2.f, a.data(), k, b.data(), ldb, 0.f, ref.data(), n);
      for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(c[j], ref[j], 1e-5f) << "n=" << n << " k=" << k << " j=" << j;
      std::vector<float> c2(n, 1.f), ref2(n, 1.f);
      bp::backend::gemv_rows(n, k, 1.f, a.data(), b.data(), ldb, 0.5f, c2.data());
      bp::backend::gemm_reference(false, true, 1, n, k, 1.f, a.data(), k, b.data(), ldb, 0.5f, ref2.data(), n);
      for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(c2[j], ref2[j], 1e-5f) << "n=" << n << " k=" << k;
    }
}

}  // namespace
