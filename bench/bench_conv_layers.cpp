// Per-layer convolution times: where LeNet-5's and the residual net's convolution time goes.
// For each layer shape of the two networks (batch 128, the shapes bench_lenet trains), times
// the forward pass, the input gradient and the weight gradient apart (microseconds per batch,
// median of R repeats), and prints the rate in GFLOP/s of useful multiply-adds (2 per MAC).
// At one thread the times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which the
// machine's other processes disturb far less than wall time; with more threads, wall time.
//
//   bench_conv_layers [--threads N] [--repeats R] [--only lenet|resnet|LAYER]
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

using namespace bp;


namespace {

using bench::median;

struct Layer {
  const char* net;
  const char* name;
  int64_t C, H, W, O, K;
  ops::Conv2dParams p;
  bool relu;
};

Tensor random(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform() - 0.5);
  return t;
}

bool g_cpu_time = true;

// Microseconds: the calling thread's CPU time, or wall time.
double now_us() {
  timespec ts;
  clock_gettime(g_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 7;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--repeats" && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_conv_layers [--threads N] [--repeats R] [--only lenet|resnet|LAYER]\n");
      return 2;
    }
  }
  backend::set_num_threads(threads);
  g_cpu_time = threads == 1;
  const int64_t N = 128;
  const Layer layers[] = {
      {"lenet", "conv1 1->6 5x5 p2 28", 1, 28, 28, 6, 5, ops::conv_params(1, 2), true},
      {"lenet", "conv2 6->16 5x5 14", 6, 14, 14, 16, 5, ops::conv_params(1, 0), true},
      {"resnet", "stem 1->32 3x3 28", 1, 28, 28, 32, 3, ops::conv_params(1, 1), false},
      {"resnet", "b1 32->32 3x3 14", 32, 14, 14, 32, 3, ops::conv_params(1, 1), false},
      {"resnet", "b2a 32->64 3x3 s2 14", 32, 14, 14, 64, 3, ops::conv_params(2, 1), false},
      {"resnet", "b2b 64->64 3x3 7", 64, 7, 7, 64, 3, ops::conv_params(1, 1), false},
      {"resnet", "proj 32->64 1x1 s2 14", 32, 14, 14, 64, 1, ops::conv_params(2, 0), false},
      {"resnet", "cifar 16->16 3x3 32", 16, 32, 32, 16, 3, ops::conv_params(1, 1), false},
      {"resnet", "cifar 64->64 3x3 8", 64, 8, 8, 64, 3, ops::conv_params(1, 1), false},
  };
  std::printf("%s\nthreads=%d batch=%lld, %s microseconds per batch (GFLOP/s)\n", backend::machine_line().c_str(),
              threads, static_cast<long long>(N), g_cpu_time ? "CPU" : "wall");
  std::printf("%-24s %18s %18s %18s\n", "layer", "forward", "input grad", "weight grad");
  for (const Layer& l : layers) {
    if (!only.empty() && only != l.net && std::string(l.name).rfind(only + " ", 0) != 0) continue;
    Tensor x = random({N, l.C, l.H, l.W}, 1), w = random({l.O, l.C, l.K, l.K}, 2), b = random({l.O}, 3);
    const int64_t OH = ops::conv_out_size(l.H, l.K, l.p.stride_h, l.p.pad_h);
    const int64_t OW = ops::conv_out_size(l.W, l.K, l.p.stride_w, l.p.pad_w);
    const double flops = 2.0 * N * l.O * OH * OW * l.C * l.K * l.K;
    Tensor dy = random({N, l.O, OH, OW}, 4);
    auto conv = [&](const Var& xv, const Var& wv, const Var& bv) {
      return l.relu ? ops::conv2d_relu(xv, wv, bv, l.p) : ops::conv2d(xv, wv, bv, l.p);
    };
    // mode 0: forward only; 1: + dx (weights constant); 2: + dW and db (input constant).
    // Returns the median time of the forward (mode 0) or of the backward alone.
    auto time_it = [&](int mode) {
      std::vector<double> us;
      for (int r = 0; r < repeats + 1; ++r) {
        Var xv(x, mode == 1), wv(w, mode == 2), bv(b, mode == 2);
        const double t0 = now_us();
        Var y = conv(xv, wv, bv);
        const double t1 = now_us();
        if (mode > 0) y.backward(dy);
        const double t2 = now_us();
        const double t = mode == 0 ? t1 - t0 : t2 - t1;
        if (r > 0) us.push_back(t);  // the first run warms the scratch buffers
      }
      return median(us);
    };
    const double f = time_it(0), dx = time_it(1), dw = time_it(2);
    std::printf("%-24s %9.0f (%5.1f) %9.0f (%5.1f) %9.0f (%5.1f)\n", l.name, f, flops / f * 1e-3, dx,
                flops / dx * 1e-3, dw, flops / dw * 1e-3);
  }
  return 0;
}
