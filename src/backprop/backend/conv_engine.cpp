// Which convolution ops::conv2d runs (dnnl_conv.hpp): the engine switch and the measured rule,
// compiled always; without oneDNN (BACKPROP_WITH_DNNL unset) also the answers that say it is
// absent, in place of dnnl_conv.cpp.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "backprop/backend/dnnl_conv.hpp"

namespace bp::backend {

namespace {
// BACKPROP_CONV_ENGINE=ours|dnnl|auto sets the start-up engine (to compare whole trainings,
// e.g. bench_lenet, without a rebuild); anything else, or unset, is auto.
ConvEngine from_env() {
  const char* v = std::getenv("BACKPROP_CONV_ENGINE");
  if (v && std::strcmp(v, "ours") == 0) return ConvEngine::Ours;
  if (v && std::strcmp(v, "dnnl") == 0) return ConvEngine::Dnnl;
  return ConvEngine::Auto;
}
std::atomic<ConvEngine> g_engine{from_env()};
}  // namespace

void set_conv_engine(ConvEngine e) { g_engine.store(e, std::memory_order_relaxed); }
ConvEngine conv_engine() { return g_engine.load(std::memory_order_relaxed); }

// Measured per layer, batch 128, by bench/bench_conv.cpp against ops/conv.cpp as of 2026-12-01
// (docs/performance.md, "oneDNN against our kernels", has the tables): oneDNN's kernels block
// input channels in vectors of 16 and won every pass of every 3×3 layer with 32 or 64 input
// channels (CPU time 1.2-2.4x; the residual net trains 1.4-1.5x faster). With 1 input channel
// (LeNet's conv1, the residual net's stem) its kernels lost all passes (0.2-0.8x), and on the
// 1×1 projection (a plain GEMM for us, no im2col) it lost or tied. LeNet's conv2 (6 input
// channels) is left to ours although oneDNN's forward won 1.7x there: its backward lost (0.84x),
// whole LeNet training showed no gain beyond the noise, and the forward alone added 4.3 MB
// (15 %) to LeNet's peak memory (issue 14 asks to keep it). Below 2^20 multiply-adds (batch 1
// of the smaller layers) oneDNN's fixed cost per call (3-8 µs: reorders, memory objects) loses.
// Only shapes like those measured: one group, no dilation, a spatial kernel.
bool dnnl_conv_wins(const ConvDesc& d, ConvPass) {
  if (d.G != 1 || d.dh != 1 || d.dw != 1 || d.KH * d.KW == 1) return false;
  if (d.N * d.O * d.OH * d.OW * d.C * d.KH * d.KW < (int64_t{1} << 20)) return false;
  return d.C >= 16;
}

std::string conv_engine_line() {
  if (!dnnl_available()) return "convolutions ours (oneDNN not compiled in)";
  switch (conv_engine()) {
    case ConvEngine::Ours: return "convolutions ours (engine forced; " + dnnl_info() + " unused)";
    case ConvEngine::Dnnl: return "convolutions " + dnnl_info() + " (engine forced)";
    case ConvEngine::Auto: break;
  }
  return "convolutions ours + " + dnnl_info() + " where measured faster";
}

bool use_dnnl_conv(const ConvDesc& d, ConvPass pass) {
  if (!dnnl_available()) return false;
  switch (conv_engine()) {
    case ConvEngine::Ours: return false;
    case ConvEngine::Dnnl: return true;
    case ConvEngine::Auto: break;
  }
  return dnnl_conv_wins(d, pass);
}

#ifndef BACKPROP_WITH_DNNL
bool dnnl_available() { return false; }
std::string dnnl_info() { return "oneDNN: not compiled in"; }
void set_dnnl_openmp_threads(bool) {}
void dnnl_conv_forward(const ConvDesc&, const float*, const float*, const float*, bool, float*) {
  throw std::logic_error("dnnl_conv_forward: oneDNN is not compiled in (BACKPROP_WITH_DNNL)");
}
void dnnl_conv_backward(const ConvDesc&, const float*, const float*, const float*, const float*, float*, float*,
                        float*) {
  throw std::logic_error("dnnl_conv_backward: oneDNN is not compiled in (BACKPROP_WITH_DNNL)");
}
#endif

}  // namespace bp::backend
