// Quantized matrix products for inference (docs/performance.md, "Quantized inference"): the
// weights of a linear or convolutional layer packed once, in the order the kernel streams them,
// as bfloat16 or as int8 with one scale per output channel; activations as bfloat16 or as
// unsigned 8-bit with one (scale, zero point) per layer.
//
//   bf16:  C (m, n) float = A (m, k) bf16 · Wᵀ, W (n, k) bf16, products exact, sums in float
//   int8:  C (m, n) int32 = (A (m, k) u8 − zero) · Wᵀ, W (n, k) s8, exact integers
//
// Two paths give the same results: the machine's instructions (AVX-512 BF16 `vdpbf16ps`,
// AVX-512 VNNI `vpdpbusd`), chosen at run time where the processor has them, and a portable
// loop elsewhere. int8 results are identical integers on both; bf16 results differ only in
// the order of float additions. backend::set_portable_kernels(true) (isa.hpp) forces the portable path (tests run
// both).
//
// The packed layout, for `vpdpbusd`/`vdpbf16ps`, whose each 32-bit lane sums 4 (int8) or 2
// (bf16) products: the output channels in blocks of 16 (one 512-bit register of results), and
// inside a block, for each group of g = 4 (int8) or 2 (bf16) inputs, the 16 channels' g weights
// side by side: w[block][k / g][channel in block][k % g]. Channels are padded with zero
// weights to a multiple of 16 and inputs to a multiple of g (kp); an activation row must have
// kp values, the padding any finite value (it meets zero weights).
#pragma once

#include <cstdint>
#include <vector>

namespace bp::backend {

// float → bfloat16, rounding to nearest even (NaN stays NaN); bfloat16 → float (exact).
uint16_t to_bf16(float x);
float from_bf16(uint16_t b);
void to_bf16(const float* x, uint16_t* y, int64_t n);

struct PackedBf16 {
  int64_t n = 0, k = 0;    // output channels, inputs
  int64_t np = 0, kp = 0;  // padded: np a multiple of 16, kp of 2
  std::vector<uint16_t> w; // (np / 16, kp / 2, 16, 2)
};
// Packs W (n, k) float, row-major, rounding each weight to bfloat16.
PackedBf16 pack_bf16(const float* w, int64_t n, int64_t k);
// The weight (j, p) as packed (bfloat16 bits), for tests and for saving.
uint16_t packed_at(const PackedBf16& w, int64_t j, int64_t p);

struct PackedInt8 {
  int64_t n = 0, k = 0;
  int64_t np = 0, kp = 0;  // np a multiple of 16, kp of 4
  std::vector<int8_t> w;   // (np / 16, kp / 4, 16, 4)
  std::vector<int32_t> col_sum;  // (np): Σ_p w[j][p], for the zero-point correction
};
// Packs W (n, k) int8, row-major.
PackedInt8 pack_int8(const int8_t* w, int64_t n, int64_t k);
int8_t packed_at(const PackedInt8& w, int64_t j, int64_t p);

// C (m, n) = A (m, kp) · Wᵀ for A's rows of bfloat16 (row stride lda ≥ w.kp); C row stride ldc.
void qgemm_bf16(int64_t m, const uint16_t* a, int64_t lda, const PackedBf16& w, float* c, int64_t ldc);

// C (m, n) = Σ_p (A[i][p] − zero) · W[j][p], exactly, for A's rows of u8 (row stride lda ≥ w.kp):
// the integer part of an affine-quantized product; `zero` is the activations' zero point.
void qgemm_u8s8(int64_t m, const uint8_t* a, int64_t lda, const PackedInt8& w, int32_t zero, int32_t* c,
                int64_t ldc);

// y[i] = clamp(round(x[i] · inv_scale) + zero, 0, 255) (halves rounded away from zero): the
// activations' affine quantization, one loop on both paths so both see the same integers.
void quantize_u8(const float* x, uint8_t* y, int64_t n, float inv_scale, int32_t zero);

// Whether the products now run on the machine's instructions (the processor has them and
// backend::set_portable_kernels has not forced the portable loops).
bool qgemm_native_bf16();
bool qgemm_native_int8();
// "avx512_bf16 vdpbf16ps, avx512_vnni vpdpbusd" or "portable": what the products run on.
const char* qgemm_path();

// The double-precision references the kernels are tested against: C (m, n) = A · Wᵀ with A
// (m, k) and W (n, k) given as doubles (the bf16 or integer values), row-major.
void qgemm_reference(int64_t m, int64_t n, int64_t k, const double* a, const double* w, double* c);

}  // namespace bp::backend
