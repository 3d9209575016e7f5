// LeNet-5 speed: training (batch 128, Adam) and inference (batch 1 and 128) in samples per
// second, on synthetic 28×28 inputs. bench/peer_lenet.py runs the same work in PyTorch;
// scripts/bench_lenet.sh runs both and prints the ratios.
//
//   bench_lenet [--threads N] [--steps S] [--repeats R] [--train-only] [--model lenet5|resnet]
// Prints one line per measurement: "train threads=1 samples_per_s=12345.6". (--model resnet
// times the residual network the same way, for profiling; the peer covers LeNet-5 only.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/tensor/allocator.hpp"

using namespace bp;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, steps = 50, repeats = 5;
  bool train_only = false;
  std::string model = "lenet5";
  if (argc == 2 && std::string(argv[1]) == "--info") {  // what ran, for scripts/bench_lenet.sh
    std::printf("%s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_lenet: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (a == "--threads") threads = next();
    else if (a == "--steps") steps = next();
    else if (a == "--repeats") repeats = next();
    else if (a == "--train-only") train_only = true;
    else if (a == "--model" && i + 1 < argc) model = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_lenet [--threads N] [--steps S] [--repeats R] [--train-only] [--model lenet5|resnet]\n");
      return 2;
    }
  }
  if (threads < 1 || steps < 1 || repeats < 1) {
    std::fprintf(stderr, "bench_lenet: threads, steps and repeats must be positive\n");
    return 2;
  }
  backend::set_num_threads(threads);
  const int64_t batch = 128, nbatches = 8;
  Rng rng(1);
  std::vector<Tensor> xs;
  std::vector<std::vector<int32_t>> ys;
  for (int64_t b = 0; b < nbatches; ++b) {
    Tensor x({batch, 784});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform());
    std::vector<int32_t> y(batch);
    for (auto& c : y) c = static_cast<int32_t>(rng.below(10));
    xs.push_back(std::move(x));
    ys.push_back(std::move(y));
  }
  if (model != "lenet5" && model != "resnet") {
    std::fprintf(stderr, "bench_lenet: unknown model '%s' (lenet5 or resnet)\n", model.c_str());
    return 2;
  }
  std::unique_ptr<nn::Module> net;
  if (model == "lenet5") net = nn::make_lenet5({.input = {784}});
  else net = nn::make_resnet({.input = {784}});
  optim::Adam opt(net->parameters(), {.lr = 1e-3f});
  auto train_steps = [&](int n) {
    for (int s = 0; s < n; ++s) {
      opt.zero_grad();
      Var loss = ops::softmax_cross_entropy(net->forward(Var(xs[s % nbatches])), ys[s % nbatches]);
      loss.backward();
      opt.step();
    }
  };
  net->set_training(true);
  train_steps(5);  // warm-up: allocations, thread pools
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    train_steps(steps);
    rates.push_back(static_cast<double>(steps * batch) / seconds_since(t0));
  }
  std::printf("train threads=%d samples_per_s=%.1f\n", threads, median(rates));
  std::fflush(stdout);
  // The tensor allocator's counters (tensor/allocator.hpp), on stderr: scripts/bench_lenet.sh
  // reads every stdout line as a measurement.
  auto report_memory = [] {
    const memory::Stats m = memory::stats();
    std::fprintf(stderr, "memory peak_live_bytes=%lld cached_bytes=%lld hits=%lld misses=%lld caching=%d\n",
                 static_cast<long long>(m.peak_live_bytes), static_cast<long long>(m.cached_bytes),
                 static_cast<long long>(m.hits), static_cast<long long>(m.misses), m.caching ? 1 : 0);
  };
  if (train_only) return report_memory(), 0;

  net->set_training(false);
  autograd::NoGradGuard ng;
  for (int64_t bs : {int64_t{128}, int64_t{1}}) {
    std::vector<Tensor> inputs;
    for (int64_t i = 0; i < batch; i += bs) {
      std::vector<int64_t> idx(static_cast<size_t>(bs));
      for (int64_t j = 0; j < bs; ++j) idx[j] = i + j;
      inputs.push_back(gather_rows(xs[0], idx.data(), bs));
    }
    const int calls = bs == 1 ? 2000 : std::max(steps * 2, 20);
    for (int i = 0; i < 10; ++i) net->forward(Var(inputs[i % inputs.size()]));
    rates.clear();
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < calls; ++i) net->forward(Var(inputs[i % inputs.size()]));
      rates.push_back(static_cast<double>(calls * bs) / seconds_since(t0));
    }
    std::printf("infer%lld threads=%d samples_per_s=%.1f\n", static_cast<long long>(bs), threads, median(rates));
    std::fflush(stdout);
  }
  report_memory();
  return 0;
}
