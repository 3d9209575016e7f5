// Per-layer convolution speed: ops/conv.cpp's kernels against oneDNN's primitives (through the
// backend's engine switch, backend/dnnl_conv.hpp), on LeNet-5's two convolutions and the
// residual net's (nn/cnn.cpp make_resnet, 1×28×28 inputs), batch 128. Each pass is timed the
// way training runs it, through ops::conv2d[_relu] and autograd:
//   fwd  the forward (with the tape), dx  backward with only the input needing a gradient,
//   dw   backward with only the weight (and bias) needing one.
// Both engines run alternately in every round, so they see the same machine load; medians over
// the rounds, wall and CPU time (the process's, all threads: spinning threads show up there).
// scripts/bench_conv.sh runs it under both OPENBLAS environments.
//
//   bench_conv [--threads 1,2] [--rounds R] [--iters M] [--batch N] [--dnnl-openmp] [--spin]
// --dnnl-openmp: oneDNN runs its own OpenMP team (num_threads() threads) on the whole batch
//   instead of one thread per pool task. --spin: also measures what oneDNN's OpenMP team costs
//   the pool work that follows it (docs/performance.md, "oneDNN against our kernels").
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "backprop/autograd/var.hpp"
#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"
#include "backprop/ops/conv_ops.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

using namespace bp;
using Clock = std::chrono::steady_clock;

namespace {

using bench::median;

struct Layer {
  const char* name;
  Shape x, w;
  ops::Conv2dParams p;
  bool bias, relu;
};

// LeNet-5: ReLU fused, with bias. The residual net: no bias but on the projection.
std::vector<Layer> layers(int64_t n = 128) {
  return {
      {"lenet.conv1 1->6 5x5 p2 28x28", {n, 1, 28, 28}, {6, 1, 5, 5}, ops::conv_params(1, 2), true, true},
      {"lenet.conv2 6->16 5x5 14x14", {n, 6, 14, 14}, {16, 6, 5, 5}, ops::conv_params(1, 0), true, true},
      {"resnet.stem 1->32 3x3 28x28", {n, 1, 28, 28}, {32, 1, 3, 3}, ops::conv_params(1, 1), false, false},
      {"resnet.b1 32->32 3x3 14x14 (x2)", {n, 32, 14, 14}, {32, 32, 3, 3}, ops::conv_params(1, 1), false, false},
      {"resnet.b2a 32->64 3x3 s2 14x14", {n, 32, 14, 14}, {64, 32, 3, 3}, ops::conv_params(2, 1), false, false},
      {"resnet.b2b 64->64 3x3 7x7", {n, 64, 7, 7}, {64, 64, 3, 3}, ops::conv_params(1, 1), false, false},
      {"resnet.proj 32->64 1x1 s2", {n, 32, 14, 14}, {64, 32, 1, 1}, ops::conv_params(2, 0), true, false},
  };
}

Tensor random(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform() * 2 - 1);
  return t;
}

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Timing {  // seconds per call: wall and process CPU
  double wall = 0, cpu = 0;
};

Var conv(const Layer& l, const Var& x, const Var& w, const Var& b) {
  return l.relu ? ops::conv2d_relu(x, w, b, l.p) : ops::conv2d(x, w, b, l.p);
}

// One pass of one layer, `iters` times: 0 forward, 1 input gradient, 2 weight gradient.
Timing run_pass(const Layer& l, int pass, int iters, const Tensor& x, const Tensor& w, const Tensor& b,
                const Tensor& dy) {
  double wall = 0, cpu = 0;
  for (int i = 0; i < iters; ++i) {
    Var xv(x, pass == 1 || pass == 0), wv(w, pass == 2 || pass == 0), bv = l.bias ? Var(b, pass == 2) : Var();
    auto t0 = Clock::now();
    double c0 = cpu_now();
    Var y = conv(l, xv, wv, bv);
    if (pass == 0) {
      wall += std::chrono::duration<double>(Clock::now() - t0).count();
      cpu += cpu_now() - c0;
      continue;
    }
    t0 = Clock::now();
    c0 = cpu_now();
    y.backward(dy);
    wall += std::chrono::duration<double>(Clock::now() - t0).count();
    cpu += cpu_now() - c0;
  }
  return {wall / iters, cpu / iters};
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

// What oneDNN's OpenMP team costs the work after it: our pool (two threads) running our own
// backward of the residual net's b1 layer right after a oneDNN forward of LeNet's conv2, with
// oneDNN on its OpenMP team or on the pool. Only the pool work is timed.
void spin_cost(int rounds, int iters) {
  const auto ls = layers();
  const Layer& a = ls[1];
  const Layer& c = ls[3];
  const Tensor ax = random(a.x, 1), aw = random(a.w, 2), ab = random({a.w[0]}, 3);
  const Tensor cx = random(c.x, 4), cw = random(c.w, 5);
  Var probe = ops::conv2d(Var(cx), Var(cw), Var(), c.p);
  const Tensor cdy = random(probe.shape(), 6);
  backend::ThreadCount two(2);
  for (bool team : {false, true}) {
    std::vector<double> walls, cpus;
    backend::set_dnnl_openmp_threads(team);
    for (int r = 0; r < rounds; ++r) {
      double wall = 0, cpu = 0;
      for (int i = 0; i < iters; ++i) {
        backend::set_conv_engine(backend::ConvEngine::Dnnl);
        { autograd::NoGradGuard ng; Var y = conv(a, Var(ax), Var(aw), Var(ab)); }
        backend::set_conv_engine(backend::ConvEngine::Ours);
        Var xv(cx, true), wv(cw, true);
        Var y = ops::conv2d(xv, wv, Var(), c.p);
        const auto t0 = Clock::now();
        const double c0 = cpu_now();
        y.backward(cdy);
        wall += std::chrono::duration<double>(Clock::now() - t0).count();
        cpu += cpu_now() - c0;
      }
      walls.push_back(wall / iters);
      cpus.push_back(cpu / iters);
    }
    std::printf("spin %s: our b1 backward at 2 threads after a oneDNN forward: wall %.3f ms cpu %.3f ms\n",
                team ? "oneDNN on its OpenMP team" : "oneDNN on the pool      ", median(walls) * 1e3,
                median(cpus) * 1e3);
  }
  backend::set_dnnl_openmp_threads(false);
  backend::set_conv_engine(backend::ConvEngine::Auto);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads{1, 2};
  int rounds = 7, iters = 10, batch = 128;
  bool team = false, spin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_conv: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = parse_list(value());
    else if (a == "--rounds") rounds = std::atoi(value().c_str());
    else if (a == "--iters") iters = std::atoi(value().c_str());
    else if (a == "--batch") batch = std::atoi(value().c_str());
    else if (a == "--dnnl-openmp") team = true;
    else if (a == "--spin") spin = true;
    else {
      std::fprintf(stderr, "usage: bench_conv [--threads 1,2] [--rounds R] [--iters M] [--batch N] [--dnnl-openmp] [--spin]\n");
      return 2;
    }
  }
  if (rounds < 1 || iters < 1 || batch < 1 || threads.empty()) {
    std::fprintf(stderr, "bench_conv: rounds, iters, batch and threads must be positive\n");
    return 2;
  }
  std::printf("# %s\n# oneDNN %s\n", backend::machine_line().c_str(),
              team ? "on its own OpenMP team (--dnnl-openmp)" : "one thread per pool task");
  if (!backend::dnnl_available()) {
    std::printf("oneDNN is not compiled in: nothing to compare\n");
    return 0;
  }
  backend::set_dnnl_openmp_threads(team);
  const std::string head = "layer (batch " + std::to_string(batch) + ")";
  std::printf("%-34s %3s %4s %10s %10s %7s %10s %10s %7s\n", head.c_str(), "thr", "pass", "ours ms",
              "dnnl ms", "o/d", "ours cpu", "dnnl cpu", "o/d cpu");
  const char* pass_names[] = {"fwd", "dx", "dw"};
  const auto ls = layers(batch);
  for (int nt : threads) {
    backend::set_num_threads(nt);
    for (size_t li = 0; li < ls.size(); ++li) {
      const Layer& l = ls[li];
      const Tensor x = random(l.x, 10 + li), w = random(l.w, 20 + li), b = random({l.w[0]}, 30 + li);
      Var probe = conv(l, Var(x), Var(w), Var(b));
      const Tensor dy = random(probe.shape(), 40 + li);
      for (int pass = 0; pass < 3; ++pass) {
        // [engine] → per-round times
        std::vector<double> wall[2], cpu[2];
        for (int e = 0; e < 2; ++e) {  // warm-up: scratch buffers, oneDNN's primitives
          backend::set_conv_engine(e == 0 ? backend::ConvEngine::Ours : backend::ConvEngine::Dnnl);
          run_pass(l, pass, 2, x, w, b, dy);
        }
        for (int r = 0; r < rounds; ++r)
          for (int e = 0; e < 2; ++e) {
            backend::set_conv_engine(e == 0 ? backend::ConvEngine::Ours : backend::ConvEngine::Dnnl);
            const Timing t = run_pass(l, pass, iters, x, w, b, dy);
            wall[e].push_back(t.wall);
            cpu[e].push_back(t.cpu);
          }
        const double ow = median(wall[0]), dw = median(wall[1]), oc = median(cpu[0]), dc = median(cpu[1]);
        std::printf("%-34s %3d %4s %10.3f %10.3f %7.2f %10.3f %10.3f %7.2f\n", l.name, nt, pass_names[pass], ow * 1e3,
                    dw * 1e3, ow / dw, oc * 1e3, dc * 1e3, oc / dc);
        std::fflush(stdout);
      }
    }
  }
  backend::set_conv_engine(backend::ConvEngine::Auto);
  if (spin) spin_cost(rounds, iters);
  return 0;
}
