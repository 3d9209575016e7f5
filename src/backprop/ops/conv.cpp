// 2-D convolution, NCHW. Forward and backward side by side: the fast block (two paths, below)
// and the direct loops it is tested against (conv2d_reference, at the end).
//
// Path 1, im2col + GEMM (any stride, dilation, groups). Per sample n and group g
// (K = C/G·KH·KW rows of patch values, P = OH·OW):
//   cols (K, P) = im2col(x[n, group g])           every output pixel's receptive field as a column
//   y[n, group g] (O/G, P) = W_g (O/G, K) · cols  one GEMM, written straight into NCHW
// Backward, per sample, from dy[n, group g] (O/G, P):
//   dW_g (O/G, K) += dy · colsᵀ       (cols recomputed: cheaper than keeping N of them)
//   dcols (K, P)   = W_gᵀ · dy,  dx[n] += col2im(dcols)   (col2im adds overlapping windows)
//   db (O)        += Σ_p dy
// A 1×1 convolution with stride 1 and no padding needs no im2col: x[n] already is cols.
//
// Path 2, direct (stride 1, dilation 1, one group; rows of >= 8 outputs, or small maps that
// the wide walk covers, see use_wide): vector kernels on a zero-padded copy of each sample
// (see direct_block, wide_block); dx is the same kernel applied to the padded dy with
// flipped, transposed weights; dW is its own kernel (dw_direct: no im2col, no GEMM) unless
// the layer has more than 16,384 weights, when it is a GEMM on im2col columns.
//
// conv2d_relu fuses max(y, 0) into the store; its backward masks dy by y > 0 per sample, in
// the same pass that lays dy out for the two gradient kernels.
//
// ISA: the vector code is GCC vector extensions (whatever the build targets); the few AVX-512
// intrinsics (masked row ends) sit beside a portable loop, chosen by backend::conv_avx512().
//
// Threads: samples are split across the backend's threads (backend::run_threads) when the
// work is worth it (backend::parallel_worth), each thread running its GEMMs serially (the
// backend holds the BLAS at one thread during a pool job). Slice t of the batch accumulates
// dW and db into its own buffer (slice 0 into the gradient itself); the buffers are summed at
// the end in slice order, so which thread ran which slice does not change the result.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "backprop/backend/backend.hpp"
#include "backprop/backend/conv_kernels.hpp"
#include "backprop/backend/dnnl_conv.hpp"
#include "backprop/ops/conv_ops.hpp"

namespace bp::ops {


using autograd::grad_buffer;
using autograd::make_result;

int64_t conv_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  if (kernel <= 0 || stride <= 0 || dilation <= 0 || pad < 0)
    throw ShapeError("convolution: kernel, stride and dilation must be positive and padding non-negative");
  const int64_t span = dilation * (kernel - 1) + 1;
  if (in + 2 * pad < span)
    throw ShapeError("convolution: a window of " + std::to_string(span) + " does not fit an input of " +
                     std::to_string(in) + " padded by " + std::to_string(pad));
  return (in + 2 * pad - span) / stride + 1;
}

namespace {

struct Geo {
  int64_t N, C, H, W;       // input
  int64_t O, KH, KW;        // weight (O, C/G, KH, KW)
  int64_t OH, OW;           // output
  int64_t G, Cg, Og;        // groups, in / out channels per group
  int64_t K, P;             // rows of cols (Cg·KH·KW), output pixels (OH·OW)
  int64_t sh, sw, ph, pw, dh, dw;
  bool pointwise;           // 1×1, stride 1, no padding: cols = x
};

Geo geometry(const Var& x, const Var& w, const Var& b, const Conv2dParams& p, const char* op) {
  const Tensor& xv = x.value();
  const Tensor& wv = w.value();
  if (xv.ndim() != 4)
    throw ShapeError(std::string(op) + ": input must be (N, C, H, W), got " + shape_str(xv.shape()));
  if (wv.ndim() != 4)
    throw ShapeError(std::string(op) + ": weight must be (O, C/groups, KH, KW), got " + shape_str(wv.shape()));
  Geo g;
  g.N = xv.dim(0), g.C = xv.dim(1), g.H = xv.dim(2), g.W = xv.dim(3);
  g.O = wv.dim(0), g.KH = wv.dim(2), g.KW = wv.dim(3);
  g.G = p.groups;
  if (g.G <= 0 || g.C % g.G || g.O % g.G)
    throw ShapeError(std::string(op) + ": " + std::to_string(p.groups) + " groups do not divide " +
                     std::to_string(g.C) + " input and " + std::to_string(g.O) + " output channels");
  g.Cg = g.C / g.G, g.Og = g.O / g.G;
  if (wv.dim(1) != g.Cg)
    throw ShapeError(std::string(op) + ": weight " + shape_str(wv.shape()) + " expects " +
                     std::to_string(wv.dim(1) * g.G) + " input channels, input " + shape_str(xv.shape()) + " has " +
                     std::to_string(g.C));
  if (b.defined() && b.value().numel() != g.O)
    throw ShapeError(std::string(op) + ": bias " + shape_str(b.shape()) + " does not match " + std::to_string(g.O) +
                     " output channels");
  g.sh = p.stride_h, g.sw = p.stride_w, g.ph = p.pad_h, g.pw = p.pad_w, g.dh = p.dilation_h, g.dw = p.dilation_w;
  g.OH = conv_out_size(g.H, g.KH, g.sh, g.ph, g.dh);
  g.OW = conv_out_size(g.W, g.KW, g.sw, g.pw, g.dw);
  g.K = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  g.pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  return g;
}

// The geometry as the backend's oneDNN engine takes it (backend/dnnl_conv.hpp).
backend::ConvDesc conv_desc(const Geo& g) {
  return {g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.OH, g.OW, g.G, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
}

// Columns ox in [lo, hi) read inside the row for kernel column kx; the others read padding.
inline void valid_cols(const Geo& g, int64_t kx, int64_t& lo, int64_t& hi) {
  const int64_t off = kx * g.dw - g.pw;  // ix = ox·sw + off
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = g.W - 1 - off < 0 ? 0 : (g.W - 1 - off) / g.sw + 1;
  lo = std::min(lo, g.OW);
  hi = std::clamp(hi, lo, g.OW);
}

// x: one sample's group, (Cg, H, W) -> cols (K, P).
void im2col(const float* x, const Geo& g, float* cols) {
  for (int64_t c = 0; c < g.Cg; ++c) {
    const float* xc = x + c * g.H * g.W;
    for (int64_t ky = 0; ky < g.KH; ++ky) {
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        float* row = cols + ((c * g.KH + ky) * g.KW + kx) * g.P;
        int64_t lo, hi;
        valid_cols(g, kx, lo, hi);
        const int64_t off = kx * g.dw - g.pw;
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          float* r = row + oy * g.OW;
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.H) {
            std::memset(r, 0, sizeof(float) * g.OW);
            continue;
          }
          const float* src = xc + iy * g.W;
          for (int64_t ox = 0; ox < lo; ++ox) r[ox] = 0.f;
          if (g.sw == 1) {
            std::memcpy(r + lo, src + lo + off, sizeof(float) * (hi - lo));
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) r[ox] = src[ox * g.sw + off];
          }
          for (int64_t ox = hi; ox < g.OW; ++ox) r[ox] = 0.f;
        }
      }
    }
  }
}

// The adjoint of im2col: dx (Cg, H, W) += col2im(dcols (K, P)).
void col2im_add(const float* dcols, const Geo& g, float* dx) {
  for (int64_t c = 0; c < g.Cg; ++c) {
    float* dxc = dx + c * g.H * g.W;
    for (int64_t ky = 0; ky < g.KH; ++ky) {
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        const float* row = dcols + ((c * g.KH + ky) * g.KW + kx) * g.P;
        int64_t lo, hi;
        valid_cols(g, kx, lo, hi);
        const int64_t off = kx * g.dw - g.pw;
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.H) continue;
          const float* r = row + oy * g.OW;
          float* dst = dxc + iy * g.W;
          if (g.sw == 1) {
            float* d = dst + off;
            for (int64_t ox = lo; ox < hi; ++ox) d[ox] += r[ox];
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox * g.sw + off] += r[ox];
          }
        }
      }
    }
  }
}

// Per-thread scratch that lives as long as the thread (the backend keeps its pool), so the
// im2col buffers are allocated once, not per call.
float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> buf[8];
  auto& b = buf[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
  return b.data();
}

// ---- The direct path: stride 1, dilation 1, one group (LeNet's and most 3×3 layers).
// Works on a zero-padded copy of each sample, xp (C, Hp, Wp) with Hp = H + 2ph, Wp = W + 2pw,
// so output row oy reads input rows oy..oy+KH−1 with no bounds checks. Vectorised along the
// output row in chunks of L floats, OB output channels at a time held in registers:
//   acc[j] (L) += xp[c, oy+ky, ox0+kx : +L] · w[ob+j, c, ky, kx]   for every tap (c, ky, kx)
// Lanes past the row's end compute garbage that is never stored; buffers carry L·2 floats of
// zeroed slack so the last row's vector loads stay inside them.
constexpr int64_t L = 16;
typedef float v16 __attribute__((vector_size(L * sizeof(float))));
inline v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, const v16& v) { std::memcpy(p, &v, sizeof v); }
// A load kept in a register: without this GCC folds a value that feeds several FMAs back into
// each of them as a memory operand, and the kernels become bound by loads, not FMAs.
inline v16 load16_reg(const float* p) {
  v16 v = load16(p);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v));
#endif
  return v;
}



// One zero-padded image stack: C planes of (Hp, Wp), plus slack. Rows [lo, hi) of each plane
// hold data; the others are all padding, and the kernels skip the taps that would read them.
struct Plane {
  int64_t C, Hp, Wp, lo, hi;
  int64_t size() const { return C * Hp * Wp + 2 * L + Wp; }  // slack: see wide_units
};

// The two ways the direct kernels walk an output plane (OH, OW) read from padded rows of Wp:
//   rows: each output row in chunks of L lanes (ceil(OW/L) per row; padding rows skipped);
//   wide: the plane as one run of OH·Wp outputs, q = oy·Wp + ox, in ceil(OH·Wp/L) chunks, so
//         that tap (ky, kx) is the one offset ky·Wp + kx for every lane; lanes with ox >= OW
//         compute values nobody stores. For small maps this wastes far fewer lanes: 7×7 with
//         3×3 taps needs 4 chunks instead of 7 (49 of 64 lanes used instead of 49 of 112).
// Wide is taken where it needs at most 4/5 of the chunks (it loses the padding-row skip and
// adds a copy of each output row).
bool use_wide(int64_t OH, int64_t OW, int64_t Wp) {
  const int64_t rows = OH * ((OW + L - 1) / L), wide = (OH * Wp + L - 1) / L;
  return wide * 5 < rows * 4;
}

bool direct_ok(const Geo& g) {
  return g.G == 1 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ph < g.KH && g.pw < g.KW &&
         (g.OW >= 8 || use_wide(g.OH, g.OW, g.W + 2 * g.pw));
}

// Rows of n floats copied with vector moves: memcpy's call costs more than the copy for
// LeNet's rows of 10-28 floats. With AVX-512 the tail is one masked move; otherwise a scalar
// loop (the asm keeps GCC from turning it back into a memcpy call).
inline void copy_row(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + L <= n; i += L) store16(dst + i, load16(src + i));
  if (i == n) return;
#ifdef __AVX512F__
  if (backend::conv_avx512()) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
    return;
  }
#endif
  for (; i < n; ++i) {
    dst[i] = src[i];
    asm("");
  }
}

// The data rows of xp ← x (C, H, W), placed ph rows and pw columns into each (Hp, Wp) plane.
// The padding is not touched: zero it once (zero_planes) and every sample copied into the same
// buffer afterwards finds it still zero.
void copy_planes(const float* x, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, const Plane& pl, float* xp) {
  if (ph == 0 && pw == 0) {
    std::memcpy(xp, x, sizeof(float) * C * H * W);
    return;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t iy = 0; iy < H; ++iy) copy_row(xp + (c * pl.Hp + iy + ph) * pl.Wp + pw, x + (c * H + iy) * W, W);
}
void zero_planes(const Plane& pl, float* xp, int64_t count = 1) {
  std::memset(xp, 0, sizeof(float) * pl.size() * count);
}

// y (O, OH, OW) = [y +] bias + Σ_taps, for output channels [ob, ob + OB) (those < O are stored).
// wt is the weight repacked as (C·KH·KW, ldw): one row of output-channel weights per tap.
// R output rows (oy .. oy+R−1, chunk ch) at once: each tap's weights are broadcast once for R
// vectors, and R·OB independent accumulators hide the FMA latency when OB is small (LeNet's
// 6 channels: 6 chains of a 4-cycle FMA ran at 1.5 FMAs a cycle). Blocks of up to 8 channels
// × 3 rows: per tap 3 loads and 8 broadcasts feed 24 FMAs (16 channels × 1 row needed 17
// loads for 16 FMAs, bound by the two load ports rather than the two FMA units).
// The R rows read the union of their valid tap rows; the padding rows they share are zeros.
template <int OB, int R>
inline void direct_rows(const float* xp, const Plane& pl, int64_t KH, int64_t KW, const float* wt, int64_t ldw,
                        const float* bias, int64_t ob, int64_t nout, int64_t OH, int64_t OW, int64_t oy, int64_t ch,
                        bool add, bool relu, float* y) {
  v16 acc[R][OB];
  for (int j = 0; j < OB; ++j) {
    const float b0 = (bias && j < nout) ? bias[ob + j] : 0.f;
    for (int r = 0; r < R; ++r) acc[r][j] = (v16){} + b0;
  }
  const int64_t ky0 = std::max<int64_t>(0, pl.lo - (oy + R - 1)), ky1 = std::min(KH, pl.hi - oy);
  for (int64_t c = 0; c < pl.C; ++c) {
    for (int64_t ky = ky0; ky < ky1; ++ky) {
      const float* row = xp + (c * pl.Hp + oy + ky) * pl.Wp + ch * L;
      const float* wk = wt + (c * KH + ky) * KW * ldw + ob;
      for (int64_t kx = 0; kx < KW; ++kx) {
        v16 v[R];
        for (int r = 0; r < R; ++r) v[r] = load16(row + r * pl.Wp + kx);
        const float* ww = wk + kx * ldw;
        for (int j = 0; j < OB; ++j) {
          const float wj = ww[j];
          for (int r = 0; r < R; ++r) acc[r][j] += v[r] * wj;
        }
      }
    }
  }
  const int64_t ox0 = ch * L, n = std::min(L, OW - ox0);
  for (int r = 0; r < R; ++r) {
    if (relu)
      for (int j = 0; j < OB; ++j) acc[r][j] = acc[r][j] > 0.f ? acc[r][j] : 0.f;
    for (int64_t j = 0; j < nout; ++j) {
      float* dst = y + ((ob + j) * OH + oy + r) * OW + ox0;
      if (n == L) {
        store16(dst, add ? load16(dst) + acc[r][j] : acc[r][j]);
      } else if (add) {
        for (int64_t i = 0; i < n; ++i) dst[i] += acc[r][j][i];
      } else {
        for (int64_t i = 0; i < n; ++i) dst[i] = acc[r][j][i];
      }
    }
  }
}

template <int OB>
void direct_block(const float* xp, const Plane& pl, int64_t KH, int64_t KW, const float* wt, int64_t ldw,
                  const float* bias, int64_t ob, int64_t O, int64_t OH, int64_t OW, bool add, bool relu, float* y) {
  const int64_t nch = (OW + L - 1) / L;
  const int64_t nout = std::min<int64_t>(OB, O - ob);
  constexpr int R = OB <= 8 ? 3 : 1;
  int64_t oy = 0;
  for (; oy + R <= OH; oy += R)
    for (int64_t ch = 0; ch < nch; ++ch)
      direct_rows<OB, R>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, OH, OW, oy, ch, add, relu, y);
  if constexpr (R > 2) {
    for (; oy + 2 <= OH; oy += 2)
      for (int64_t ch = 0; ch < nch; ++ch)
        direct_rows<OB, 2>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, OH, OW, oy, ch, add, relu, y);
  }
  for (; oy < OH; ++oy)
    for (int64_t ch = 0; ch < nch; ++ch)
      direct_rows<OB, 1>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, OH, OW, oy, ch, add, relu, y);
}

// dst[i] += src[i] for n floats.
inline void add_row(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + L <= n; i += L) store16(dst + i, load16(dst + i) + load16(src + i));
  for (; i < n; ++i) {
    dst[i] += src[i];
    asm("");
  }
}

// The wide walk (see use_wide): chunks i .. i+R−1 of the run of OH·Wp outputs, channels
// [ob, ob + OB), into tmp (OB, ldt). The last chunk's loads reach L − 1 + (KH−1)·Wp + KW − 1
// floats past the chunk's start: at most 2L + KW floats past the planes (Plane's slack).
template <int OB, int R>
inline void wide_units(const float* xp, const Plane& pl, int64_t KH, int64_t KW, const float* wt, int64_t ldw,
                       const float* bias, int64_t ob, int64_t nout, int64_t i, bool relu, float* tmp, int64_t ldt) {
  v16 acc[R][OB];
  for (int j = 0; j < OB; ++j) {
    const float b0 = (bias && j < nout) ? bias[ob + j] : 0.f;
    for (int r = 0; r < R; ++r) acc[r][j] = (v16){} + b0;
  }
  for (int64_t c = 0; c < pl.C; ++c) {
    for (int64_t ky = 0; ky < KH; ++ky) {
      const float* row = xp + (c * pl.Hp + ky) * pl.Wp + i * L;
      const float* wk = wt + (c * KH + ky) * KW * ldw + ob;
      for (int64_t kx = 0; kx < KW; ++kx) {
        v16 v[R];
        for (int r = 0; r < R; ++r) v[r] = load16(row + r * L + kx);
        const float* ww = wk + kx * ldw;
        for (int j = 0; j < OB; ++j) {
          const float wj = ww[j];
          for (int r = 0; r < R; ++r) acc[r][j] += v[r] * wj;
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    if (relu)
      for (int j = 0; j < OB; ++j) acc[r][j] = acc[r][j] > 0.f ? acc[r][j] : 0.f;
    for (int64_t j = 0; j < nout; ++j) store16(tmp + j * ldt + (i + r) * L, acc[r][j]);
  }
}

template <int OB>
void wide_block(const float* xp, const Plane& pl, int64_t KH, int64_t KW, const float* wt, int64_t ldw,
                const float* bias, int64_t ob, int64_t O, int64_t OH, int64_t OW, bool add, bool relu, float* y) {
  const int64_t nq = (OH * pl.Wp + L - 1) / L, ldt = nq * L;
  const int64_t nout = std::min<int64_t>(OB, O - ob);
  float* tmp = scratch(6, OB * ldt);
  constexpr int R = OB <= 8 ? 3 : 1;
  int64_t i = 0;
  for (; i + R <= nq; i += R) wide_units<OB, R>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, i, relu, tmp, ldt);
  if constexpr (R > 2) {
    for (; i + 2 <= nq; i += 2) wide_units<OB, 2>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, i, relu, tmp, ldt);
  }
  for (; i < nq; ++i) wide_units<OB, 1>(xp, pl, KH, KW, wt, ldw, bias, ob, nout, i, relu, tmp, ldt);
  for (int64_t j = 0; j < nout; ++j)
    for (int64_t oy = 0; oy < OH; ++oy) {
      float* dst = y + ((ob + j) * OH + oy) * OW;
      const float* src = tmp + j * ldt + oy * pl.Wp;
      if (add) add_row(dst, src, OW);
      else copy_row(dst, src, OW);
    }
}

// The block sizes instantiated: 8, and every remainder below it (no lanes wasted on padding
// channels: LeNet has 6 and 16 channels).
template <int... B>
struct BlockTable {
  using Fn = void (*)(const float*, const Plane&, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                      int64_t, int64_t, int64_t, bool, bool, float*);
  static constexpr Fn fns[] = {direct_block<B>...};
  static constexpr Fn wide[] = {wide_block<B>...};
};
using Blocks = BlockTable<1, 2, 3, 4, 5, 6, 7, 8>;

// All O output channels of one sample: blocks of 8, then one block of the remainder.
// wt is (K, ldw) with ldw >= O. `add`: y += result; `relu`: y = max(result, 0) (not with add).
void direct_conv(const float* xp, const Plane& pl, int64_t KH, int64_t KW, const float* wt, int64_t ldw,
                 const float* bias, int64_t O, int64_t OH, int64_t OW, bool add, bool relu, float* y) {
  const bool wide = use_wide(OH, OW, pl.Wp);
  for (int64_t ob = 0; ob < O; ob += 8) {
    const int64_t nb = std::min<int64_t>(8, O - ob);
    (wide ? Blocks::wide : Blocks::fns)[nb - 1](xp, pl, KH, KW, wt, ldw, bias, ob, O, OH, OW, add, relu, y);
  }
}

// im2col from a padded sample (stride 1, dilation 1): every (tap, output row) is one
// contiguous run of OW floats, copied L at a time. Copies overrun into the next run, which
// overwrites them; cols needs L floats of slack.
void im2col_padded(const float* xp, const Plane& pl, const Geo& g, float* cols) {
  const int64_t nch = (g.OW + L - 1) / L;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t ky = 0; ky < g.KH; ++ky)
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        float* r = cols + ((c * g.KH + ky) * g.KW + kx) * g.P;
        for (int64_t oy = 0; oy < g.OH; ++oy) {
          const float* src = xp + (c * pl.Hp + oy + ky) * pl.Wp + kx;
          float* dst = r + oy * g.OW;
          for (int64_t ch = 0; ch < nch; ++ch) store16(dst + ch * L, load16(src + ch * L));
        }
      }
}

// ---- The direct weight gradient (stride 1, dilation 1, one group), without im2col or a GEMM:
//   dW[o, c, ky, kx] = Σ_n Σ_{oy, ox} dy[n, o, oy, ox] · xp[n, c, oy + ky, ox + kx]
// Vectorised along the output row: dyp is dy with each row padded to nch·L lanes by zeros
// (DyRows), so the lanes past the row's end add 0 · (whatever xp holds there: the row's own
// further columns, the next row, or the zeroed slack; finite unless x holds ±∞/NaN, which makes
// the whole gradient NaN anyway). A block of OB output channels × TB kernel columns, one (c, ky),
// keeps OB·TB vector accumulators over every row of a group of samples: per row chunk OB dy
// loads and TB x loads feed OB·TB FMAs. The accumulators are added into acc, one vector of L
// partial sums per weight (O, C, KH, KW, L), and reduced to floats once per batch slice
// (dw_reduce), so no horizontal sum runs per sample.
struct DyRows {
  int64_t O, OH, OW;
  bool wide;   // the wide walk (use_wide): one run of nch chunks per channel, row oy at oy·row
  int64_t nch;  // chunks per row (rows) or per channel (wide)
  int64_t row, chan;  // floats between rows (nch·L, or the input's Wp) and between channels
  int64_t size() const { return O * chan; }
};
// The weight gradient walks wide whenever that needs fewer chunks: unlike the forward it has
// no output rows to copy out afterwards (LeNet's second layer: 9 chunks instead of 10).
DyRows dy_rows(int64_t O, int64_t OH, int64_t OW, int64_t Wp) {
  const bool wide = (OH * Wp + L - 1) / L < OH * ((OW + L - 1) / L);
  DyRows d{O, OH, OW, wide, 0, 0, 0};
  if (d.wide) {
    d.nch = (OH * Wp + L - 1) / L;
    d.row = Wp, d.chan = d.nch * L;
  } else {
    d.nch = (OW + L - 1) / L;
    d.row = d.nch * L, d.chan = OH * d.row;
  }
  return d;
}

// dst[i] = y[i] > 0 ? src[i] : 0 for n floats: ReLU's backward, fused into a row copy.
inline void copy_row_relu(float* dst, const float* src, const float* y, int64_t n) {
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const v16 d = load16(src + i), m = load16(y + i);
    store16(dst + i, m > 0.f ? d : (v16){});
  }
  if (i == n) return;
#ifdef __AVX512F__
  if (backend::conv_avx512()) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 d = _mm512_maskz_loadu_ps(k, src + i), m = _mm512_maskz_loadu_ps(k, y + i);
    const __mmask16 pos = _mm512_mask_cmp_ps_mask(k, m, _mm512_setzero_ps(), _CMP_GT_OQ);
    _mm512_mask_storeu_ps(dst + i, k, _mm512_maskz_mov_ps(pos, d));
    return;
  }
#endif
  for (; i < n; ++i) {
    dst[i] = y[i] > 0.f ? src[i] : 0.f;
    asm("");
  }
}

// The first OW floats of each row of dyp (O, OH, ld) ← dy (O, OH, OW), masked by y > 0 when
// y is given (the fused ReLU); the rest of each row must be zero already (zero the buffer
// once: every sample leaves those lanes alone).
void copy_rows(const float* dy, const float* y, const DyRows& d, float* dyp) {
  for (int64_t o = 0; o < d.O; ++o)
    for (int64_t oy = 0; oy < d.OH; ++oy) {
      const int64_t r = o * d.OH + oy;
      float* dst = dyp + o * d.chan + oy * d.row;
      if (y) copy_row_relu(dst, dy + r * d.OW, y + r * d.OW, d.OW);
      else copy_row(dst, dy + r * d.OW, d.OW);
    }
}

template <int OB, int TB>
void dw_block(const float* const* xps, const float* const* dyps, int ns, const Plane& pl, const DyRows& d, int64_t KH,
              int64_t KW, int64_t ob, int64_t nout, int64_t c, int64_t ky, int64_t kx0, float* acc) {
  v16 a[OB][TB];
  for (int j = 0; j < OB; ++j)
    for (int t = 0; t < TB; ++t) a[j][t] = (v16){};
  // Rows: the rows oy whose input row oy + ky holds data (padding rows would add zeros).
  // Wide: one run of nch chunks (oy = 0).
  const int64_t oy0 = d.wide ? 0 : std::max<int64_t>(0, pl.lo - ky);
  const int64_t oy1 = d.wide ? 1 : std::min(d.OH, pl.hi - ky);
  for (int s = 0; s < ns; ++s) {
    const float* xc = xps[s] + (c * pl.Hp + ky) * pl.Wp + kx0;
    const float* dyo = dyps[s] + ob * d.chan;
    for (int64_t oy = oy0; oy < oy1; ++oy) {
      for (int64_t ch = 0; ch < d.nch; ++ch) {
        const float* xr = xc + oy * pl.Wp + ch * L;
        const float* dr = dyo + oy * d.row + ch * L;
        v16 g[OB];
        for (int j = 0; j < OB; ++j) g[j] = load16_reg(dr + j * d.chan);
        for (int t = 0; t < TB; ++t) {
          const v16 v = load16_reg(xr + t);
          for (int j = 0; j < OB; ++j) a[j][t] += g[j] * v;
        }
      }
    }
  }
  for (int64_t j = 0; j < nout; ++j)
    for (int t = 0; t < TB; ++t) {
      float* p = acc + (((ob + j) * pl.C + c) * KH * KW + ky * KW + kx0 + t) * L;
      store16(p, load16(p) + a[j][t]);
    }
}

using DwFn = void (*)(const float* const*, const float* const*, int, const Plane&, const DyRows&, int64_t, int64_t,
                      int64_t, int64_t, int64_t, int64_t, int64_t, float*);
template <int OB, int... TB>
constexpr std::array<DwFn, sizeof...(TB)> dw_row() {
  return {dw_block<OB, TB>...};
}
// dw_fns[OB − 1][TB − 1]: up to 8 channels × 5 columns (OB·TB + OB + 1 vector registers of 32).
constexpr std::array<std::array<DwFn, 5>, 8> dw_fns = {dw_row<1, 1, 2, 3, 4, 5>(), dw_row<2, 1, 2, 3, 4, 5>(),
                                                       dw_row<3, 1, 2, 3, 4, 5>(), dw_row<4, 1, 2, 3, 4, 5>(),
                                                       dw_row<5, 1, 2, 3, 4, 5>(), dw_row<6, 1, 2, 3, 4, 5>(),
                                                       dw_row<7, 1, 2, 3, 4, 5>(), dw_row<8, 1, 2, 3, 4, 5>()};

// acc (O, C, KH, KW, L) += the weight gradient of ns samples (padded inputs xps, padded rows dyps).
// Channel block of dw_direct: as many as keep OB·TB accumulators within 24 registers.
int64_t dw_block_channels(int64_t KW) { return std::min<int64_t>(8, 24 / std::min<int64_t>(KW, 5)); }

void dw_direct(const float* const* xps, const float* const* dyps, int ns, const Plane& pl, const DyRows& d,
               int64_t KH, int64_t KW, float* acc) {
  const int64_t TB = std::min<int64_t>(KW, 5);
  const int64_t OBmax = dw_block_channels(KW);
  for (int64_t ob = 0; ob < d.O; ob += OBmax) {
    const int64_t nout = std::min(OBmax, d.O - ob);
    for (int64_t c = 0; c < pl.C; ++c)
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx0 = 0; kx0 < KW; kx0 += TB) {
          const int64_t tb = std::min(TB, KW - kx0);
          dw_fns[nout - 1][tb - 1](xps, dyps, ns, pl, d, KH, KW, ob, nout, c, ky, kx0, acc);
        }
  }
}

// dw (n) += Σ_lanes acc (n, L), lanes summed in a fixed order.
void dw_reduce(const float* acc, int64_t n, float* dw) {
  for (int64_t i = 0; i < n; ++i) {
    const float* a = acc + i * L;
    float s = 0.f;
    for (int64_t l = 0; l < L; ++l) s += a[l];
    dw[i] += s;
  }
}

// Threads to split a batch of N over: the backend's count, at most one per sample, if the
// convolution's N·O·P·K multiply-adds are worth a split (backend::parallel_worth); else 1.
int batch_threads(const Geo& g) {
  if (!backend::parallel_worth(g.N * g.O * g.P * g.K)) return 1;
  return static_cast<int>(std::clamp<int64_t>(backend::num_threads(), 1, std::max<int64_t>(g.N, 1)));
}

// Runs body(first, last, slice) on nt contiguous slices of the batch, as tasks of the
// backend's pool (which holds the BLAS at one thread meanwhile, see backend.hpp).
template <class F>
void for_batch(int64_t N, int nt, F&& body) {
  backend::run_threads(nt, [&](int t) { body(N * t / nt, N * (t + 1) / nt, t); });
}

}  // namespace

namespace {
// conv2d and conv2d_relu: y = [relu](conv(x)). With the ReLU fused, backward first masks the
// output gradient by y > 0 (ReLU's derivative, 0 at the kink as PyTorch), one sample at a time.
Var conv_impl(const Var& x, const Var& w, const Var& b, const Conv2dParams& p, bool relu, const char* name) {
  const Geo g = geometry(x, w, b, p, name);
  const bool has_bias = b.defined();
  Tensor out = Tensor::empty({g.N, g.O, g.OH, g.OW});
  const float* xv = x.value().data();
  const float* wv = w.value().data();
  const float* bv = has_bias ? b.value().data() : nullptr;
  float* yv = out.data();
  // oneDNN instead where it measured faster (backend::use_dnnl_conv has the rule), both passes.
  const backend::ConvDesc cd = conv_desc(g);
  if (backend::use_dnnl_conv(cd, backend::ConvPass::Forward)) {
    backend::dnnl_conv_forward(cd, xv, wv, bv, relu, yv);
  } else if (direct_ok(g)) {
    // Weights repacked as (K, O + 16): one row of output-channel weights per tap.
    const int64_t ldw = g.O + 16;
    std::vector<float> wt(static_cast<size_t>(g.K * ldw), 0.f);
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t k = 0; k < g.K; ++k) wt[k * ldw + o] = wv[o * g.K + k];
    const Plane pl{g.C, g.H + 2 * g.ph, g.W + 2 * g.pw, g.ph, g.ph + g.H};
    for_batch(g.N, batch_threads(g), [&](int64_t n0, int64_t n1, int) {
      float* xp = scratch(1, pl.size());
      zero_planes(pl, xp);
      for (int64_t n = n0; n < n1; ++n) {
        copy_planes(xv + n * g.C * g.H * g.W, g.C, g.H, g.W, g.ph, g.pw, pl, xp);
        direct_conv(xp, pl, g.KH, g.KW, wt.data(), ldw, bv, g.O, g.OH, g.OW, false, relu, yv + n * g.O * g.P);
      }
    });
  } else {
    for_batch(g.N, batch_threads(g), [&](int64_t n0, int64_t n1, int) {
      float* cols = g.pointwise ? nullptr : scratch(0, g.K * g.P);
      for (int64_t n = n0; n < n1; ++n) {
        for (int64_t gi = 0; gi < g.G; ++gi) {
          const float* src = xv + (n * g.C + gi * g.Cg) * g.H * g.W;  // (Cg, H, W)
          const float* B = src;
          if (!g.pointwise) {
            im2col(src, g, cols);
            B = cols;
          }
          float* y = yv + (n * g.O + gi * g.Og) * g.P;  // (Og, P)
          float beta = 0.f;
          if (bv) {  // start from the bias and let the GEMM add W·cols (beta = 1)
            for (int64_t o = 0; o < g.Og; ++o) std::fill(y + o * g.P, y + (o + 1) * g.P, bv[gi * g.Og + o]);
            beta = 1.f;
          }
          backend::gemm(false, false, g.Og, g.P, g.K, 1.f, wv + gi * g.Og * g.K, g.K, B, g.P, beta, y, g.P);
          if (relu)
            for (int64_t i = 0; i < g.Og * g.P; ++i) y[i] = y[i] > 0.f ? y[i] : 0.f;
        }
      }
    });
  }
  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result(std::move(out), std::move(inputs), [g, cd, has_bias, relu](Node& nd) {
    Node& nx = *nd.inputs[0];
    Node& nw = *nd.inputs[1];
    Node* nb = has_bias ? nd.inputs[2].get() : nullptr;
    const bool want_x = nx.requires_grad, want_w = nw.requires_grad, want_b = nb && nb->requires_grad;
    const float* dy = nd.grad.data();   // (N, O, OH, OW)
    const float* xv = nx.value.data();  // (N, C, H, W)
    const float* wv = nw.value.data();  // (O, Cg, KH, KW) = G blocks of (Og, K)
    float* dx = want_x ? grad_buffer(nx).data() : nullptr;
    float* dw = want_w ? grad_buffer(nw).data() : nullptr;
    float* db = want_b ? grad_buffer(*nb).data() : nullptr;
    if (backend::use_dnnl_conv(cd, backend::ConvPass::Backward)) {
      backend::dnnl_conv_backward(cd, xv, wv, dy, relu ? nd.value.data() : nullptr, dx, dw, db);
      return;
    }
    const int64_t wsize = g.O * g.K;
    const int nt = batch_threads(g);
    // Threads 1.. accumulate dW and db here: (nt − 1) × (wsize + O), zero-filled.
    std::vector<float> partial(want_w || want_b ? static_cast<size_t>((nt - 1) * (wsize + g.O)) : 0, 0.f);
    // The output gradient of sample n, (O, P): dy itself, or masked by y > 0 into scratch.
    const float* yv = nd.value.data();
    auto sample_grad = [&](int64_t n) -> const float* {
      const float* d = dy + n * g.O * g.P;
      if (!relu) return d;
      const float* y = yv + n * g.O * g.P;
      float* m = scratch(3, g.O * g.P);
      for (int64_t i = 0; i < g.O * g.P; ++i) m[i] = y[i] > 0.f ? d[i] : 0.f;
      return m;
    };
    auto bias_grad = [&](const float* dyn, float* dbt) {
      for (int64_t o = 0; o < g.O; ++o) {
        const float* r = dyn + o * g.P;
        float s = 0.f;
#pragma omp simd reduction(+ : s)
        for (int64_t q = 0; q < g.P; ++q) s += r[q];
        dbt[o] += s;
      }
    };
    if (direct_ok(g)) {
      // dW: im2col from the padded sample, then the GEMM. dx: the direct kernel run as the
      // forward convolution of dy, padded by (KH−1−ph, KW−1−pw), with the weights flipped in
      // both spatial axes and in/out channels swapped:
      //   dx[c, iy, ix] = Σ_{o,ky,kx} w[o, c, ky, kx] · dy[o, iy + ph − ky, ix + pw − kx]
      const Plane pl{g.C, g.H + 2 * g.ph, g.W + 2 * g.pw, g.ph, g.ph + g.H};
      const Plane pd{g.O, g.OH + 2 * (g.KH - 1 - g.ph), g.OW + 2 * (g.KW - 1 - g.pw), g.KH - 1 - g.ph,
                     g.KH - 1 - g.ph + g.OH};
      const int64_t ldf = g.C + 16;
      std::vector<float> wf;
      if (want_x) {  // (O·KH·KW, C + 16)
        wf.assign(static_cast<size_t>(g.O * g.KH * g.KW * ldf), 0.f);
        for (int64_t o = 0; o < g.O; ++o)
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t ky = 0; ky < g.KH; ++ky)
              for (int64_t kx = 0; kx < g.KW; ++kx)
                wf[((o * g.KH + ky) * g.KW + kx) * ldf + c] =
                    wv[((o * g.C + c) * g.KH + (g.KH - 1 - ky)) * g.KW + (g.KW - 1 - kx)];
      }
      // dW: the direct kernel (dw_direct) over groups of up to kGroup samples, unless its vector
      // accumulators (L floats per weight) would pass 1 MB, about the L2 cache of a core: they
      // are read and written once per group, and from memory that costs more than the GEMM
      // (64 → 64 channels, 3×3: 36,864 weights, dW 30 % slower than im2col + GEMM per sample).
      // Unless that fallback runs, each sample's output gradient is read once: masked by the
      // fused ReLU into padded rows (DyRows), from which the dx planes and db are taken.
      const DyRows dr = dy_rows(g.O, g.OH, g.OW, pl.Wp);
      const bool dw_vec = wsize * L <= (int64_t{1} << 18);
      const bool via_rows = dw_vec || !want_w;
      constexpr int kGroup = 4;
      for_batch(g.N, nt, [&](int64_t n0, int64_t n1, int t) {
        float* dwt = t == 0 ? dw : partial.data() + (t - 1) * (wsize + g.O);
        float* dbt = t == 0 ? db : partial.data() + (t - 1) * (wsize + g.O) + wsize;
        float* cols = want_w && !dw_vec ? scratch(0, g.K * g.P + L) : nullptr;
        float* xp = want_w ? scratch(1, pl.size() * (dw_vec ? kGroup : 1)) : nullptr;
        float* dyp = want_x ? scratch(2, pd.size()) : nullptr;
        float* acc = want_w && dw_vec ? scratch(4, wsize * L) : nullptr;
        float* dyr = via_rows ? scratch(5, dr.size() * kGroup) : nullptr;
        if (acc) std::memset(acc, 0, sizeof(float) * wsize * L);
        if (dyr) std::memset(dyr, 0, sizeof(float) * dr.size() * kGroup);
        if (xp) zero_planes(pl, xp, dw_vec ? kGroup : 1);
        if (dyp) zero_planes(pd, dyp);
        const float* xps[kGroup];
        const float* dyps[kGroup];
        for (int64_t n = n0; n < n1; ++n) {
          const int s = static_cast<int>((n - n0) % kGroup);
          const float* dyn = nullptr;  // (O, P), for the im2col + GEMM fallback
          float* ds = nullptr;         // (O, OH, ld)
          if (via_rows) {
            ds = dyr + s * dr.size();
            copy_rows(dy + n * g.O * g.P, relu ? yv + n * g.O * g.P : nullptr, dr, ds);
          } else {
            dyn = sample_grad(n);
          }
          if (want_w && dw_vec) {
            float* xs = xp + s * pl.size();
            copy_planes(xv + n * g.C * g.H * g.W, g.C, g.H, g.W, g.ph, g.pw, pl, xs);
            xps[s] = xs, dyps[s] = ds;
            if (s == kGroup - 1 || n + 1 == n1) dw_direct(xps, dyps, s + 1, pl, dr, g.KH, g.KW, acc);
          } else if (want_w) {
            copy_planes(xv + n * g.C * g.H * g.W, g.C, g.H, g.W, g.ph, g.pw, pl, xp);
            im2col_padded(xp, pl, g, cols);
            backend::gemm(false, true, g.O, g.K, g.P, 1.f, dyn, g.P, cols, g.P, 1.f, dwt, g.K);
          }
          if (want_x) {
            const int64_t oy0 = g.KH - 1 - g.ph, ox0 = g.KW - 1 - g.pw;
            if (ds) {
              for (int64_t o = 0; o < g.O; ++o)
                for (int64_t oy = 0; oy < g.OH; ++oy)
                  copy_row(dyp + (o * pd.Hp + oy + oy0) * pd.Wp + ox0, ds + o * dr.chan + oy * dr.row, g.OW);
            } else {
              copy_planes(dyn, g.O, g.OH, g.OW, oy0, ox0, pd, dyp);
            }
            direct_conv(dyp, pd, g.KH, g.KW, wf.data(), ldf, nullptr, g.C, g.H, g.W, true, false,
                        dx + n * g.C * g.H * g.W);
          }
          if (want_b) {
            if (ds) {  // the rows' zero tails add nothing
              for (int64_t o = 0; o < g.O; ++o) {
                const float* r = ds + o * dr.chan;
                float sum = 0.f;
#pragma omp simd reduction(+ : sum)
                for (int64_t q = 0; q < dr.chan; ++q) sum += r[q];
                dbt[o] += sum;
              }
            } else {
              bias_grad(dyn, dbt);
            }
          }
        }
        if (acc) dw_reduce(acc, wsize, dwt);
      });
    } else {
    for_batch(g.N, nt, [&](int64_t n0, int64_t n1, int t) {
      float* dwt = t == 0 ? dw : partial.data() + (t - 1) * (wsize + g.O);
      float* dbt = t == 0 ? db : partial.data() + (t - 1) * (wsize + g.O) + wsize;
      float* cols = (want_w && !g.pointwise) ? scratch(0, g.K * g.P) : nullptr;
      float* dcols = (want_x && !g.pointwise) ? scratch(1, g.K * g.P) : nullptr;
      for (int64_t n = n0; n < n1; ++n) {
        const float* dyn = sample_grad(n);  // (O, P)
        for (int64_t gi = 0; gi < g.G; ++gi) {
          const float* dyg = dyn + gi * g.Og * g.P;  // (Og, P)
          const float* wg = wv + gi * g.Og * g.K;               // (Og, K)
          const int64_t xoff = (n * g.C + gi * g.Cg) * g.H * g.W;
          if (want_w) {
            const float* B = xv + xoff;
            if (!g.pointwise) {
              im2col(xv + xoff, g, cols);
              B = cols;
            }
            backend::gemm(false, true, g.Og, g.K, g.P, 1.f, dyg, g.P, B, g.P, 1.f, dwt + gi * g.Og * g.K, g.K);
          }
          if (want_x) {
            if (g.pointwise) {  // dx[n] (Cg, HW) += W_gᵀ dy
              backend::gemm(true, false, g.K, g.P, g.Og, 1.f, wg, g.K, dyg, g.P, 1.f, dx + xoff, g.P);
            } else {
              backend::gemm(true, false, g.K, g.P, g.Og, 1.f, wg, g.K, dyg, g.P, 0.f, dcols, g.P);
              col2im_add(dcols, g, dx + xoff);
            }
          }
        }
        if (want_b) bias_grad(dyn, dbt);
      }
    });
    }
    for (int t = 1; t < nt; ++t) {
      const float* part = partial.data() + (t - 1) * (wsize + g.O);
      if (want_w)
        for (int64_t i = 0; i < wsize; ++i) dw[i] += part[i];
      if (want_b)
        for (int64_t o = 0; o < g.O; ++o) db[o] += part[wsize + o];
    }
  }, name);
}
}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  return conv_impl(x, w, b, p, false, "conv2d");
}

Var conv2d_relu(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  return conv_impl(x, w, b, p, true, "conv2d_relu");
}

// ---- the reference: direct loops, double accumulation
Var conv2d_reference(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  const Geo g = geometry(x, w, b, p, "conv2d_reference");
  const bool has_bias = b.defined();
  // Calls f(n, o, oy, ox, x index, w index) for every valid term of every output sum.
  auto each_term = [g](auto&& f) {
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t o = 0; o < g.O; ++o) {
        const int64_t gi = o / g.Og;
        for (int64_t oy = 0; oy < g.OH; ++oy)
          for (int64_t ox = 0; ox < g.OW; ++ox)
            for (int64_t c = 0; c < g.Cg; ++c)
              for (int64_t ky = 0; ky < g.KH; ++ky)
                for (int64_t kx = 0; kx < g.KW; ++kx) {
                  const int64_t iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
                  if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                  f(((n * g.O + o) * g.OH + oy) * g.OW + ox, ((n * g.C + gi * g.Cg + c) * g.H + iy) * g.W + ix,
                    ((o * g.Cg + c) * g.KH + ky) * g.KW + kx);
                }
      }
  };
  const float* xv = x.value().data();
  const float* wv = w.value().data();
  std::vector<double> acc(static_cast<size_t>(g.N * g.O * g.P), 0.0);
  each_term([&](int64_t yi, int64_t xi, int64_t wi) { acc[yi] += static_cast<double>(xv[xi]) * wv[wi]; });
  Tensor out({g.N, g.O, g.OH, g.OW});
  for (int64_t i = 0; i < out.numel(); ++i)
    out[i] = static_cast<float>(acc[i] + (has_bias ? b.value()[(i / g.P) % g.O] : 0.0));
  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result(std::move(out), std::move(inputs), [g, has_bias, each_term](Node& nd) {
    Node& nx = *nd.inputs[0];
    Node& nw = *nd.inputs[1];
    const float* dy = nd.grad.data();
    const float* xv = nx.value.data();
    const float* wv = nw.value.data();
    std::vector<double> dx(static_cast<size_t>(nx.value.numel()), 0.0), dw(static_cast<size_t>(nw.value.numel()), 0.0);
    each_term([&](int64_t yi, int64_t xi, int64_t wi) {
      dx[xi] += static_cast<double>(dy[yi]) * wv[wi];  // ∂y/∂x = w
      dw[wi] += static_cast<double>(dy[yi]) * xv[xi];  // ∂y/∂w = x
    });
    auto to_tensor = [](const std::vector<double>& v, const Shape& s) {
      Tensor t = Tensor::empty(s);
      for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(v[i]);
      return t;
    };
    if (nx.requires_grad) autograd::accumulate(nx, to_tensor(dx, nx.value.shape()));
    if (nw.requires_grad) autograd::accumulate(nw, to_tensor(dw, nw.value.shape()));
    if (has_bias && nd.inputs[2]->requires_grad) {
      std::vector<double> db(static_cast<size_t>(g.O), 0.0);
      for (int64_t i = 0; i < nd.grad.numel(); ++i) db[(i / g.P) % g.O] += dy[i];
      autograd::accumulate(*nd.inputs[2], to_tensor(db, {g.O}));
    }
  }, "conv2d_reference");
}

}  // namespace bp::ops
