// Quantized products (qgemm.hpp): packing, the portable loops, and the AVX-512 kernels
// (`vpdpbusd`, `vdpbf16ps`) compiled for those instructions with target attributes and run
// only where __builtin_cpu_supports finds them, so a build for any x86-64 runs everywhere.
#include "backprop/backend/qgemm.hpp"
#include "backprop/backend/isa.hpp"

#include <algorithm>
#include <utility>
#include <atomic>
#include <bit>
#include <cstring>
#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>
#define BP_QGEMM_X86 1
#endif

namespace bp::backend {

namespace {

// The portable loops read a packed group (2 bf16 or 4 int8 weights of one channel) as one word.
constexpr bool kLittle = std::endian::native == std::endian::little;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

void check_dims(int64_t n, int64_t k) {
  if (n < 1 || k < 1) throw std::invalid_argument("qgemm: a packed matrix needs n >= 1 and k >= 1");
}

// ---- portable loops: one block of 16 output channels at a time, 16 independent sums that the
// compiler vectorises; the same packed layout the native kernels stream.

void bf16_portable(int64_t m, const uint16_t* a, int64_t lda, const PackedBf16& w, float* c, int64_t ldc) {
  const int64_t kg = w.kp / 2, nb = w.np / 16;
  for (int64_t i = 0; i < m; ++i) {
    const uint16_t* ar = a + i * lda;
    for (int64_t b = 0; b < nb; ++b) {
      const uint16_t* wb = w.w.data() + b * kg * 32;
      float acc[16] = {};
      for (int64_t g = 0; g < kg; ++g) {
        const float a0 = from_bf16(ar[2 * g]), a1 = from_bf16(ar[2 * g + 1]);
        // One 32-bit word holds a channel's pair: its high half is the odd weight, and the even
        // one shifted up; bit_cast keeps the loop vectorisable.
        uint32_t pair[16];
        std::memcpy(pair, wb + g * 32, sizeof pair);
#pragma omp simd
        for (int l = 0; l < 16; ++l) {
          const uint32_t hi = pair[l] & 0xffff0000u, lo = pair[l] << 16;  // on a little-endian machine
          const float w1 = std::bit_cast<float>(kLittle ? hi : lo), w0 = std::bit_cast<float>(kLittle ? lo : hi);
          acc[l] += a1 * w1 + a0 * w0;
        }
      }
      const int64_t cols = std::min<int64_t>(16, w.n - b * 16);
      for (int64_t l = 0; l < cols; ++l) c[i * ldc + b * 16 + l] = acc[l];
    }
  }
}

void u8s8_portable(int64_t m, const uint8_t* a, int64_t lda, const PackedInt8& w, int32_t zero, int32_t* c,
                   int64_t ldc) {
  const int64_t kg = w.kp / 4, nb = w.np / 16;
  for (int64_t i = 0; i < m; ++i) {
    const uint8_t* ar = a + i * lda;
    for (int64_t b = 0; b < nb; ++b) {
      const int8_t* wb = w.w.data() + b * kg * 64;
      int32_t acc[16] = {};
      for (int64_t g = 0; g < kg; ++g) {
        int32_t a[4] = {ar[4 * g], ar[4 * g + 1], ar[4 * g + 2], ar[4 * g + 3]};
        if (!kLittle) std::swap(a[0], a[3]), std::swap(a[1], a[2]);
        // A channel's 4 weights as one 32-bit word, each sign-extended by shifts: a loop the
        // compiler vectorises, where the byte-strided one stayed scalar.
        uint32_t quad[16];
        std::memcpy(quad, wb + g * 64, sizeof quad);
#pragma omp simd
        for (int l = 0; l < 16; ++l) {
          const int32_t q = static_cast<int32_t>(quad[l]);
          acc[l] += a[0] * ((q << 24) >> 24) + a[1] * ((q << 16) >> 24) + a[2] * ((q << 8) >> 24) + a[3] * (q >> 24);
        }
      }
      const int64_t cols = std::min<int64_t>(16, w.n - b * 16);
      for (int64_t l = 0; l < cols; ++l) c[i * ldc + b * 16 + l] = acc[l] - zero * w.col_sum[b * 16 + l];
    }
  }
}

#if BP_QGEMM_X86
// ---- native kernels. A tile is MR activation rows × NB blocks of 16 channels: MR·NB
// accumulators, each a chain of one instruction per group of inputs. Batch 1 (MR = 1) takes
// up to 8 blocks so that 8 independent chains hide the instruction's latency; larger batches
// take 4 rows × 4 blocks, each weight load then serving 4 rows.

inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __mmask16 tail_mask(int64_t cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << cols) - 1u);
}

template <int MR, int NB>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void u8s8_tile(const uint8_t* a, int64_t lda,
                                                                               const PackedInt8& w, int64_t b0,
                                                                               int32_t zero, int32_t* c,
                                                                               int64_t ldc) {
  const int64_t kg = w.kp / 4;
  const int8_t* wb = w.w.data() + b0 * kg * 64;
  __m512i acc[MR][NB];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_setzero_si512();
  for (int64_t g = 0; g < kg; ++g) {
    __m512i wv[NB];
    for (int q = 0; q < NB; ++q) wv[q] = _mm512_loadu_si512(wb + (q * kg + g) * 64);
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(load_u32(a + r * lda + 4 * g)));
      for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], av, wv[q]);
    }
  }
  const __m512i z = _mm512_set1_epi32(zero);
  for (int q = 0; q < NB; ++q) {
    const int64_t col = (b0 + q) * 16;
    const __m512i corr = _mm512_mullo_epi32(z, _mm512_loadu_si512(w.col_sum.data() + col));
    const __mmask16 mask = tail_mask(w.n - col);
    for (int r = 0; r < MR; ++r) _mm512_mask_storeu_epi32(c + r * ldc + col, mask, _mm512_sub_epi32(acc[r][q], corr));
  }
}

template <int MR, int NB>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void bf16_tile(const uint16_t* a, int64_t lda,
                                                                               const PackedBf16& w, int64_t b0,
                                                                               float* c, int64_t ldc) {
  const int64_t kg = w.kp / 2;
  const uint16_t* wb = w.w.data() + b0 * kg * 32;
  __m512 acc[MR][NB];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_setzero_ps();
  for (int64_t g = 0; g < kg; ++g) {
    __m512bh wv[NB];
    for (int q = 0; q < NB; ++q) wv[q] = (__m512bh)_mm512_loadu_si512(wb + (q * kg + g) * 32);
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(load_u32(a + r * lda + 2 * g)));
      for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_dpbf16_ps(acc[r][q], av, wv[q]);
    }
  }
  for (int q = 0; q < NB; ++q) {
    const int64_t col = (b0 + q) * 16;
    const __mmask16 mask = tail_mask(w.n - col);
    for (int r = 0; r < MR; ++r) _mm512_mask_storeu_ps(c + r * ldc + col, mask, acc[r][q]);
  }
}

// The tile for (MR, nb ≤ 8 blocks) as a function pointer: one instantiation per shape.
using U8Fn = void (*)(const uint8_t*, int64_t, const PackedInt8&, int64_t, int32_t, int32_t*, int64_t);
using BfFn = void (*)(const uint16_t*, int64_t, const PackedBf16&, int64_t, float*, int64_t);

template <int MR>
U8Fn u8_tile_for(int64_t nb) {
  switch (nb) {
    case 1: return &u8s8_tile<MR, 1>;
    case 2: return &u8s8_tile<MR, 2>;
    case 3: return &u8s8_tile<MR, 3>;
    case 4: return &u8s8_tile<MR, 4>;
    case 5: return &u8s8_tile<MR, 5>;
    case 6: return &u8s8_tile<MR, 6>;
    case 7: return &u8s8_tile<MR, 7>;
    default: return &u8s8_tile<MR, 8>;
  }
}
template <int MR>
BfFn bf_tile_for(int64_t nb) {
  switch (nb) {
    case 1: return &bf16_tile<MR, 1>;
    case 2: return &bf16_tile<MR, 2>;
    case 3: return &bf16_tile<MR, 3>;
    case 4: return &bf16_tile<MR, 4>;
    case 5: return &bf16_tile<MR, 5>;
    case 6: return &bf16_tile<MR, 6>;
    case 7: return &bf16_tile<MR, 7>;
    default: return &bf16_tile<MR, 8>;
  }
}

bool cpu_bf16() {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return v;
}
bool cpu_vnni() {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return v;
}
#else
bool cpu_bf16() { return false; }
bool cpu_vnni() { return false; }
#endif

}  // namespace

uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // to nearest, ties to even (an overflow rounds to infinity)
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

void to_bf16(const float* x, uint16_t* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    y[i] = static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : r);
  }
}

PackedBf16 pack_bf16(const float* w, int64_t n, int64_t k) {
  check_dims(n, k);
  PackedBf16 p;
  p.n = n, p.k = k, p.np = round_up(n, 16), p.kp = round_up(k, 2);
  const int64_t kg = p.kp / 2;
  p.w.assign(static_cast<size_t>(p.np * p.kp), 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t q = 0; q < k; ++q)
      p.w[static_cast<size_t>(((j / 16) * kg + q / 2) * 32 + (j % 16) * 2 + q % 2)] = to_bf16(w[j * k + q]);
  return p;
}

uint16_t packed_at(const PackedBf16& w, int64_t j, int64_t q) {
  return w.w[static_cast<size_t>(((j / 16) * (w.kp / 2) + q / 2) * 32 + (j % 16) * 2 + q % 2)];
}

PackedInt8 pack_int8(const int8_t* w, int64_t n, int64_t k) {
  check_dims(n, k);
  PackedInt8 p;
  p.n = n, p.k = k, p.np = round_up(n, 16), p.kp = round_up(k, 4);
  const int64_t kg = p.kp / 4;
  p.w.assign(static_cast<size_t>(p.np * p.kp), 0);
  p.col_sum.assign(static_cast<size_t>(p.np), 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t q = 0; q < k; ++q) {
      p.w[static_cast<size_t>(((j / 16) * kg + q / 4) * 64 + (j % 16) * 4 + q % 4)] = w[j * k + q];
      p.col_sum[static_cast<size_t>(j)] += w[j * k + q];
    }
  return p;
}

int8_t packed_at(const PackedInt8& w, int64_t j, int64_t q) {
  return w.w[static_cast<size_t>(((j / 16) * (w.kp / 4) + q / 4) * 64 + (j % 16) * 4 + q % 4)];
}

void qgemm_bf16(int64_t m, const uint16_t* a, int64_t lda, const PackedBf16& w, float* c, int64_t ldc) {
  if (m <= 0) return;
#if BP_QGEMM_X86
  if (qgemm_native_bf16()) {
    const int64_t nb = w.np / 16;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      for (int64_t b = 0; b < nb; b += 4) bf_tile_for<4>(std::min<int64_t>(4, nb - b))(a + i * lda, lda, w, b, c + i * ldc, ldc);
    for (; i < m; ++i)
      for (int64_t b = 0; b < nb; b += 8) bf_tile_for<1>(std::min<int64_t>(8, nb - b))(a + i * lda, lda, w, b, c + i * ldc, ldc);
    return;
  }
#endif
  bf16_portable(m, a, lda, w, c, ldc);
}

void qgemm_u8s8(int64_t m, const uint8_t* a, int64_t lda, const PackedInt8& w, int32_t zero, int32_t* c,
                int64_t ldc) {
  if (m <= 0) return;
#if BP_QGEMM_X86
  if (qgemm_native_int8()) {
    const int64_t nb = w.np / 16;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      for (int64_t b = 0; b < nb; b += 4)
        u8_tile_for<4>(std::min<int64_t>(4, nb - b))(a + i * lda, lda, w, b, zero, c + i * ldc, ldc);
    for (; i < m; ++i)
      for (int64_t b = 0; b < nb; b += 8)
        u8_tile_for<1>(std::min<int64_t>(8, nb - b))(a + i * lda, lda, w, b, zero, c + i * ldc, ldc);
    return;
  }
#endif
  u8s8_portable(m, a, lda, w, zero, c, ldc);
}

void quantize_u8(const float* x, uint8_t* y, int64_t n, float inv_scale, int32_t zero) {
  // Adding and subtracting 1.5 · 2^23 rounds a float of magnitude below 2^22 to the nearest
  // integer, ties to even, in the current (default) rounding mode: a rounding the compiler
  // vectorises, where std::nearbyint stays a call. The clamp first keeps it in range (and the
  // integer conversion defined); NaN becomes the lowest code, so callers refuse non-finite inputs.
  const float lo = static_cast<float>(-zero), hi = static_cast<float>(255 - zero);
  const float magic = 12582912.f;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] * inv_scale;
    v = v >= lo ? v : lo;  // NaN takes lo
    v = v > hi ? hi : v;
    v = (v + magic) - magic;
    y[i] = static_cast<uint8_t>(static_cast<int32_t>(v) + zero);
  }
}

bool qgemm_native_bf16() { return !portable_kernels() && cpu_bf16(); }
bool qgemm_native_int8() { return !portable_kernels() && cpu_vnni(); }

const char* qgemm_path() {
  const bool b = qgemm_native_bf16(), i = qgemm_native_int8();
  if (b && i) return "avx512_bf16 vdpbf16ps, avx512_vnni vpdpbusd";
  if (b) return "avx512_bf16 vdpbf16ps, portable int8";
  if (i) return "portable bf16, avx512_vnni vpdpbusd";
  return "portable";
}

void qgemm_reference(int64_t m, int64_t n, int64_t k, const double* a, const double* w, double* c) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t q = 0; q < k; ++q) s += a[i * k + q] * w[j * k + q];
      c[i * n + j] = s;
    }
}

}  // namespace bp::backend
