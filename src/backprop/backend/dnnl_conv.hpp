// Convolution through oneDNN (Debian's libdnnl-dev), behind the backend seam: the same NCHW
// float32 blocks as ops/conv.cpp's, for the dispatch there to choose per shape
// (docs/performance.md, "oneDNN against our kernels", has the measurements behind the rule).
// No oneDNN type appears here; dnnl_conv.cpp is compiled only when CMake finds oneDNN
// (BACKPROP_WITH_DNNL), and conv_engine.cpp answers "not available" otherwise.
//
// Threads: Debian builds oneDNN on OpenMP (libgomp), whose idle threads busy-wait after each
// parallel region, against the library's rule of one sleeping pool (backend.hpp). So oneDNN
// runs one OpenMP thread per caller, always: the batch is split over the backend's pool like
// ops/conv.cpp splits it, each task running oneDNN serially on its slice, and no OpenMP team
// is ever started. Weight and bias gradients are summed over the slices in slice order.
#pragma once

#include <cstdint>
#include <string>

namespace bp::backend {

// One 2-D convolution's geometry, NCHW; the weight is (O, C/G, KH, KW), the output (N, O, OH, OW).
// Padding is symmetric (ph rows above and below), as ops::Conv2dParams; OH, OW as conv_out_size.
struct ConvDesc {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t O = 0, KH = 0, KW = 0;       // output channels, kernel
  int64_t OH = 0, OW = 0;              // output
  int64_t G = 1;                       // groups
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

// True when oneDNN was compiled in.
bool dnnl_available();
// "oneDNN 2.6.3 (OpenMP runtime, ISA avx512_core_bf16)", or "oneDNN: not compiled in".
std::string dnnl_info();

// What convolutions run, for machine_line() and benchmark headers: "convolutions ours + oneDNN
// 2.6.3 ... where faster" (Auto), "... oneDNN (forced)", "... ours (oneDNN not compiled in)".
std::string conv_engine_line();

// Which implementation ops::conv2d runs. Auto: oneDNN where dnnl_conv_wins says it is faster
// and it is compiled in, ours elsewhere (the default). Ours and Dnnl force one (Dnnl falls back
// to ours when oneDNN is not compiled in), for tests and benchmarks. Process-wide; set it at
// start-up or between calls, not while a convolution runs.
enum class ConvEngine { Ours, Dnnl, Auto };
void set_conv_engine(ConvEngine e);
ConvEngine conv_engine();

// The passes of one convolution, for the dispatch rule.
enum class ConvPass { Forward, Backward };
// The measured rule: true where oneDNN beats ops/conv.cpp's kernels on this shape and pass.
bool dnnl_conv_wins(const ConvDesc& d, ConvPass pass);
// What ops::conv2d should run for this shape and pass under the engine in force.
bool use_dnnl_conv(const ConvDesc& d, ConvPass pass);

// y (N, O, OH, OW) = conv(x (N, C, H, W), w) + bias (O; may be null), then max(·, 0) if relu.
// Overwrites y.
void dnnl_conv_forward(const ConvDesc& d, const float* x, const float* w, const float* bias, bool relu, float* y);

// Gradients from dy (N, O, OH, OW), each ADDED to its buffer (the autograd convention); a null
// buffer is not computed. relu_y: the forward's output when it fused a ReLU (dy is then masked
// by y > 0 first), else null.
//   dx (N, C, H, W) += convᵀ(dy, w);  dw (O, C/G, KH, KW) += Σ_n dy ⋆ x;  db (O) += Σ dy
void dnnl_conv_backward(const ConvDesc& d, const float* x, const float* w, const float* dy, const float* relu_y,
                        float* dx, float* dw, float* db);

// For benchmarks only: let oneDNN run its own OpenMP team of num_threads() threads on the whole
// batch instead of one thread per pool task (what its idle spinning costs is measured with it).
void set_dnnl_openmp_threads(bool on);

}  // namespace bp::backend
