// The BLAS GEMM against the naive reference: every transpose combination, odd sizes,
// padded leading dimensions, alpha/beta.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "backprop/backend/backend.hpp"

namespace {

using bp::backend::gemm;
using bp::backend::gemm_reference;

struct Case {
  int m, n, k;
};

class GemmTest : public ::testing::TestWithParam<std::tuple<bool, bool, Case>> {};

TEST_P(GemmTest, MatchesReference) {
  auto [ta, tb, c] = GetParam();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  // Pad each leading dimension by 3 so strides differ from widths.
  const int lda = (ta ? c.m : c.k) + 3, ldb = (tb ? c.k : c.n) + 3, ldc = c.n + 3;
  std::vector<float> a((ta ? c.k : c.m) * lda), b((tb ? c.n : c.k) * ldb), c0(c.m * ldc);
  for (auto& v : a) v = u(rng);
  for (auto& v : b) v = u(rng);
  for (auto& v : c0) v = u(rng);
  for (float beta : {0.0f, 1.0f, -0.5f}) {
    std::vector<float> fast = c0, ref = c0;
    gemm(ta, tb, c.m, c.n, c.k, 0.75f, a.data(), lda, b.data(), ldb, beta, fast.data(), ldc);
    gemm_reference(ta, tb, c.m, c.n, c.k, 0.75f, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
    for (int i = 0; i < c.m; ++i)
      for (int j = 0; j < c.n; ++j)
        // float32 sums of k products of |x| <= 1 carry about sqrt(k) * 6e-8 relative error each.
        ASSERT_NEAR(fast[i * ldc + j], ref[i * ldc + j], 1e-5 * (1 + c.k))
            << "ta=" << ta << " tb=" << tb << " m=" << c.m << " n=" << c.n << " k=" << c.k << " beta=" << beta;
    // Padding columns are never written.
    for (int i = 0; i < c.m; ++i)
      for (int j = c.n; j < ldc; ++j) ASSERT_EQ(fast[i * ldc + j], c0[i * ldc + j]);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, GemmTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(Case{1, 1, 1}, Case{7, 5, 3}, Case{13, 1, 17},
                                                              Case{1, 33, 9}, Case{65, 31, 129},
                                                              Case{128, 10, 784})));

TEST(Gemm, ReferenceOnKnownProduct) {
  // [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]
  std::vector<float> a{1, 2, 3, 4}, b{5, 6, 7, 8}, c(4, 0.f);
  gemm_reference(false, false, 2, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{19, 22, 43, 50}));
  std::fill(c.begin(), c.end(), 0.f);
  gemm(false, false, 2, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{19, 22, 43, 50}));
}

TEST(Gemm, ZeroInnerDimensionScalesC) {
  std::vector<float> c{1, 2, 3, 4};
  gemm(false, false, 2, 2, 0, 1.f, nullptr, 1, nullptr, 2, 0.5f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{0.5f, 1, 1.5f, 2}));
}

}  // namespace

namespace {

// Batch-1 products (m <= 4) at any thread count: the same numbers, and the reference's.
TEST(Gemm, SmallMSameResultWithAnyThreadCount) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  const int n = 300, k = 784;  // n not a multiple of 16 columns
  std::vector<float> w(n * k), x(4 * k);
  for (auto& v : w) v = u(rng);
  for (auto& v : x) v = u(rng);
  for (int m : {1, 3}) {
    for (bool tb : {true, false}) {  // W stored (n, k) and used transposed, or stored (k, n)
      std::vector<float> one(m * n, 0.5f), two(m * n, 0.5f), ref(m * n, 0.5f);
      {
        bp::backend::ThreadCount threads(1);
        gemm(false, tb, m, n, k, 1.f, x.data(), k, w.data(), tb ? k : n, 1.f, one.data(), n);
      }
      {
        bp::backend::ThreadCount threads(2);
        gemm(false, tb, m, n, k, 1.f, x.data(), k, w.data(), tb ? k : n, 1.f, two.data(), n);
      }
      gemm_reference(false, tb, m, n, k, 1.f, x.data(), k, w.data(), tb ? k : n, 1.f, ref.data(), n);
      for (int i = 0; i < m * n; ++i) {
        ASSERT_EQ(one[i], two[i]) << "m=" << m << " tb=" << tb << " i=" << i;
        ASSERT_NEAR(one[i], ref[i], 1e-5 * k) << "m=" << m << " tb=" << tb << " i=" << i;
      }
    }
  }
}

}  // namespace
