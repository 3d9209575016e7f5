// Benchmark (not a test): GFLOP/s of backend::gemm on the products of one training step of
// the MLP 784-256-128-10 at batch 128 (bench_mlp's work), for 1 and 2 threads. Shows how
// close the whole step can get to the GEMM ceiling of this machine.
//
//   bench_gemm [--threads 1,2] [--reps 200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

namespace {

using bench::median;

struct Shape {
  const char* what;
  bool ta, tb;
  int m, n, k;
};

// The products of bench_mlp's step, as ops/linear.cpp issues them.
const Shape kShapes[] = {
    {"fwd  L1 x W1^T", false, true, 128, 256, 784},  {"fwd  L2 h W2^T", false, true, 128, 128, 256},
    {"fwd  L3 h W3^T", false, true, 128, 10, 128},   {"bwd  L3 dx=G W3", false, false, 128, 128, 10},
    {"bwd  L3 dW=G^T h", true, false, 10, 128, 128}, {"bwd  L2 dx=G W2", false, false, 128, 256, 128},
    {"bwd  L2 dW=G^T h", true, false, 128, 256, 128}, {"bwd  L1 dW=G^T x", true, false, 256, 784, 128},
    {"infer L1 batch 1", false, true, 1, 256, 784},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads{1, 2};
  int reps = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") {
      threads.clear();
      for (const char* p = argv[i + 1]; *p;) {
        threads.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p) ++p;
      }
    } else if (a == "--reps") {
      reps = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  bp::Rng rng(1);
  std::vector<float> a(256 * 784), b(256 * 784), c(256 * 784);
  for (auto& v : a) v = static_cast<float>(rng.uniform(-1, 1));
  for (auto& v : b) v = static_cast<float>(rng.uniform(-1, 1));
  std::printf("# BLAS: %s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());
  for (int t : threads) {
    bp::backend::set_num_threads(t);
    double step_flops = 0, step_secs = 0;
    for (const Shape& s : kShapes) {
      const int lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
      auto once = [&] { bp::backend::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 0.f, c.data(), s.n); };
      for (int i = 0; i < 10; ++i) once();
      std::vector<double> times;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) once();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
      }
      const double sec = median(times), flops = 2.0 * s.m * s.n * s.k;
      if (s.m > 1) {
        step_flops += flops;
        step_secs += sec;
      }
      std::printf("threads=%d  %-18s %c%c m=%4d n=%4d k=%4d  %8.2f us  %6.1f GFLOP/s\n", t, s.what, s.ta ? 'T' : 'N',
                  s.tb ? 'T' : 'N', s.m, s.n, s.k, sec * 1e6, flops / sec * 1e-9);
    }
    std::printf("threads=%d  all GEMMs of one training step: %.1f us, %.1f GFLOP/s -> at most %.0f samples/s\n", t,
                step_secs * 1e6, step_flops / step_secs * 1e-9, 128.0 / step_secs);
  }
  return 0;
}
