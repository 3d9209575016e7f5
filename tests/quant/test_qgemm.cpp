// The quantized products (backend/qgemm.hpp) against a double-precision reference, on the
// machine's instructions (where the processor has them) and on the portable path: int8 exactly,
// bf16 within float rounding of the sum of exact products.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backprop/backend/isa.hpp"
#include "backprop/backend/qgemm.hpp"
#include "backprop/util/rng.hpp"

namespace {

using namespace bp::backend;

// Runs body(native) on the portable path, and on the native one where present; restores the
// default afterwards.
template <class F>
void on_both_paths(bool native_present, F body) {
  set_portable_kernels(true);
  body(false);
  set_portable_kernels(false);
  if (native_present) body(true);
}

struct Shape3 {
  int64_t m, n, k;
};
const std::vector<Shape3> kShapes = {{1, 1, 1},   {1, 10, 5},   {1, 16, 64},  {1, 256, 784}, {1, 130, 131},
                                     {3, 33, 130}, {4, 128, 256}, {5, 10, 128}, {9, 17, 7},    {13, 129, 67}};

TEST(QGemm, Int8IsExactOnBothPaths) {
  bp::Rng rng(7);
  set_portable_kernels(false);
  const bool have = qgemm_native_int8();
  int checked_native = 0;
  on_both_paths(have, [&](bool native) {
    EXPECT_EQ(qgemm_native_int8(), native);
    for (const Shape3& s : kShapes)
      for (int32_t zero : {0, 128, 37}) {
        std::vector<int8_t> w(static_cast<size_t>(s.n * s.k));
        for (auto& v : w) v = static_cast<int8_t>(static_cast<int64_t>(rng.below(255)) - 127);
        if (!w.empty()) w[0] = -127, w.back() = 127;  // the extremes
        const PackedInt8 p = pack_int8(w.data(), s.n, s.k);
        ASSERT_EQ(p.np % 16, 0);
        ASSERT_EQ(p.kp % 4, 0);
        for (int64_t j = 0; j < s.n; ++j)
          for (int64_t q = 0; q < s.k; ++q) ASSERT_EQ(packed_at(p, j, q), w[static_cast<size_t>(j * s.k + q)]);
        const int64_t lda = p.kp + 3;  // a row stride wider than the row
        std::vector<uint8_t> a(static_cast<size_t>(s.m * lda), 0);
        std::vector<double> ad(static_cast<size_t>(s.m * s.k)), wd(w.begin(), w.end());
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t q = 0; q < s.k; ++q) {
            const uint8_t v = q == 0 ? 255 : static_cast<uint8_t>(rng.below(256));
            a[static_cast<size_t>(i * lda + q)] = v;
            ad[static_cast<size_t>(i * s.k + q)] = static_cast<double>(v) - zero;
          }
        std::vector<double> want(static_cast<size_t>(s.m * s.n));
        qgemm_reference(s.m, s.n, s.k, ad.data(), wd.data(), want.data());
        const int64_t ldc = s.n + 2;
        std::vector<int32_t> c(static_cast<size_t>(s.m * ldc), -7);
        qgemm_u8s8(s.m, a.data(), lda, p, zero, c.data(), ldc);
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j)
            ASSERT_EQ(c[static_cast<size_t>(i * ldc + j)], static_cast<int32_t>(want[static_cast<size_t>(i * s.n + j)]))
                << (native ? "native" : "portable") << " m=" << s.m << " n=" << s.n << " k=" << s.k << " zero=" << zero
                << " at (" << i << ", " << j << ")";
          for (int64_t j = s.n; j < ldc; ++j) ASSERT_EQ(c[static_cast<size_t>(i * ldc + j)], -7) << "wrote past the row";
        }
      }
    checked_native += native;
  });
  if (!have) GTEST_SKIP() << "no AVX-512 VNNI here: the portable path alone was tested";
  EXPECT_EQ(checked_native, 1);
}

TEST(QGemm, Bf16IsWithinFloatRoundingOnBothPaths) {
  bp::Rng rng(11);
  set_portable_kernels(false);
  const bool have = qgemm_native_bf16();
  int checked_native = 0;
  on_both_paths(have, [&](bool native) {
    EXPECT_EQ(qgemm_native_bf16(), native);
    for (const Shape3& s : kShapes) {
      std::vector<float> wf(static_cast<size_t>(s.n * s.k));
      for (auto& v : wf) v = static_cast<float>(rng.uniform() * 4 - 2);
      const PackedBf16 p = pack_bf16(wf.data(), s.n, s.k);
      std::vector<double> wd(wf.size());
      for (int64_t j = 0; j < s.n; ++j)
        for (int64_t q = 0; q < s.k; ++q) {
          const uint16_t b = packed_at(p, j, q);
          ASSERT_EQ(b, to_bf16(wf[static_cast<size_t>(j * s.k + q)]));
          wd[static_cast<size_t>(j * s.k + q)] = from_bf16(b);
        }
      const int64_t lda = p.kp + 2;
      std::vector<uint16_t> a(static_cast<size_t>(s.m * lda), 0);
      std::vector<double> ad(static_cast<size_t>(s.m * s.k));
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t q = 0; q < s.k; ++q) {
          const uint16_t b = to_bf16(static_cast<float>(rng.uniform() * 6 - 3));
          a[static_cast<size_t>(i * lda + q)] = b;
          ad[static_cast<size_t>(i * s.k + q)] = from_bf16(b);
        }
      std::vector<double> want(static_cast<size_t>(s.m * s.n)), mag(want.size());
      qgemm_reference(s.m, s.n, s.k, ad.data(), wd.data(), want.data());
      std::vector<double> aa(ad.size()), wa(wd.size());
      for (size_t i = 0; i < ad.size(); ++i) aa[i] = std::fabs(ad[i]);
      for (size_t i = 0; i < wd.size(); ++i) wa[i] = std::fabs(wd[i]);
      qgemm_reference(s.m, s.n, s.k, aa.data(), wa.data(), mag.data());
      std::vector<float> c(static_cast<size_t>(s.m * s.n));
      qgemm_bf16(s.m, a.data(), lda, p, c.data(), s.n);
      for (size_t i = 0; i < c.size(); ++i) {
        // Each product is exact in float; k additions in float lose at most k·2⁻²⁴ of Σ|a·w|.
        const double tol = static_cast<double>(s.k + 1) * std::ldexp(1.0, -24) * mag[i];
        ASSERT_NEAR(c[i], want[i], tol) << (native ? "native" : "portable") << " m=" << s.m << " n=" << s.n
                                        << " k=" << s.k << " at " << i;
      }
    }
    checked_native += native;
  });
  if (!have) GTEST_SKIP() << "no AVX-512 BF16 here: the portable path alone was tested";
  EXPECT_EQ(checked_native, 1);
}

TEST(QGemm, Bf16RoundsToNearestEven) {
  auto bits = [](float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    return u;
  };
  auto from_bits = [](uint32_t u) {
    float x;
    std::memcpy(&x, &u, 4);
    return x;
  };
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(to_bf16(from_bits(0x3f808000u)), 0x3f80);  // a tie: to the even neighbour
  EXPECT_EQ(to_bf16(from_bits(0x3f818000u)), 0x3f82);  // a tie: to the even neighbour, upwards
  EXPECT_EQ(to_bf16(from_bits(0x3f808001u)), 0x3f81);  // above the tie
  EXPECT_EQ(to_bf16(-2.5f), 0xc020);
  EXPECT_EQ(to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  // the largest float rounds to infinity
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(NAN))));
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(from_bits(0x7f800001u)))));  // a NaN whose payload is in the low bits
  EXPECT_EQ(bits(from_bf16(0x3f80)), 0x3f800000u);
  // The vector form agrees with the scalar one.
  std::vector<float> x = {1.0f, from_bits(0x3f808000u), from_bits(0x3f818000u), -3.3f, 1e-40f, NAN, -INFINITY};
  std::vector<uint16_t> y(x.size());
  to_bf16(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], to_bf16(x[i])) << i;
}

TEST(QGemm, QuantizeU8RoundsAndSaturates) {
  const std::vector<float> x = {0.f, 0.5f, 1.5f, 2.49f, -0.5f, -1.5f, 1000.f, -1000.f, 127.f, -128.f, NAN};
  std::vector<uint8_t> y(x.size());
  quantize_u8(x.data(), y.data(), static_cast<int64_t>(x.size()), 1.f, 128);
  const std::vector<int> want = {128, 128, 130, 130, 128, 126, 255, 0, 255, 0, 0};  // ties to even; NaN to the lowest code
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], want[i]) << "x = " << x[i];
  // A zero point of 0 (non-negative inputs): negatives saturate to 0; a scale of 1/2.
  const std::vector<float> x2 = {-3.f, 0.f, 1.f, 3.f, 600.f};
  std::vector<uint8_t> y2(x2.size());
  quantize_u8(x2.data(), y2.data(), static_cast<int64_t>(x2.size()), 0.5f, 0);
  const std::vector<int> want2 = {0, 0, 0, 2, 255};  // 0.5 and 1.5 round to even
  for (size_t i = 0; i < x2.size(); ++i) EXPECT_EQ(y2[i], want2[i]) << "x = " << x2[i];
}

TEST(QGemm, RefusesEmptyMatrices) {
  const float w = 1.f;
  const int8_t wi = 1;
  EXPECT_THROW(pack_bf16(&w, 0, 1), std::invalid_argument);
  EXPECT_THROW(pack_int8(&wi, 1, 0), std::invalid_argument);
}

}  // namespace
