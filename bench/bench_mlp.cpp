// Benchmark (not a test): trains the MLP 784-256-128-10 (ReLU, softmax cross-entropy, Adam
// lr 1e-3, batch 128) on synthetic data shaped like Fashion-MNIST, and times batch-1
// inference. bench/peer_mlp.py does the same work in PyTorch; scripts/bench.sh runs both
// and prints the ratios.
//
// Everything goes through the library's public API the way a user would write a training
// loop: nn::make_mlp, optim::Adam, ops::softmax_cross_entropy, Var, NoGradGuard.
//
//   bench_mlp [--threads 1,2] [--rounds 7] [--batches 50] [--infer-calls 2000] | --info
// Prints one "RESULT <key> <value>" line per measurement (medians), for scripts/bench.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/ops/ops.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

namespace {

using bench::median;

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    out.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return out;
}

struct Options {
  std::vector<int> threads{1, 2};
  int rounds = 7;        // timed rounds; the median is reported
  int batches = 50;      // batches of 128 per timed round
  int warmup = 20;       // untimed batches before the first round
  int infer_calls = 2000;  // batch-1 forward passes, timed in 10 chunks
  int64_t rows = 60000;  // Fashion-MNIST's training set size
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc == 2 && std::string(argv[1]) == "--info") {  // the BLAS in use, for scripts/bench.sh
    std::printf("%s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());
    return 0;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") o.threads = parse_list(argv[i + 1]);
    else if (a == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (a == "--batches") o.batches = std::atoi(argv[i + 1]);
    else if (a == "--infer-calls") o.infer_calls = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (o.rounds < 1 || o.batches < 1 || o.infer_calls < 10 || o.threads.empty()) {
    std::fprintf(stderr, "bench_mlp: rounds, batches must be >= 1, infer-calls >= 10\n");
    return 2;
  }
  const int64_t in = 784, classes = 10, batch = 128;

  // Synthetic Fashion-MNIST: uniform pixels in [0, 1), uniform labels, fixed seed.
  bp::Rng rng(2024);
  bp::Tensor x = bp::Tensor::empty({o.rows, in});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform());
  std::vector<int32_t> y(static_cast<size_t>(o.rows));
  for (auto& c : y) c = static_cast<int32_t>(rng.below(classes));

  std::printf("# backprop bench_mlp: MLP 784-256-128-10 ReLU, softmax CE, Adam lr 1e-3, batch %lld\n",
              static_cast<long long>(batch));
  std::printf("# BLAS: %s; %s\n", bp::backend::blas_info(), bp::backend::machine_line().c_str());

  for (int t : o.threads) {
    bp::backend::set_num_threads(t);
    bp::nn::MLPConfig cfg;
    cfg.inputs = in;
    cfg.hidden = {256, 128};
    cfg.activations = {bp::nn::Act::ReLU};
    cfg.outputs = classes;
    cfg.task = bp::Task::Multiclass;
    auto model = bp::nn::make_mlp(cfg);
    bp::optim::Adam opt(model->parameters(), {1e-3f});

    // One epoch's shuffled order; rounds walk through it (wrapping around).
    std::vector<int64_t> order(static_cast<size_t>(o.rows));
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order);
    int64_t pos = 0;
    float last_loss = 0;
    auto train_batch = [&]() {
      if (pos + batch > o.rows) pos = 0;
      const int64_t* idx = order.data() + pos;
      pos += batch;
      bp::Var xb(bp::gather_rows(x, idx, batch));
      std::vector<int32_t> yb(static_cast<size_t>(batch));
      for (int64_t i = 0; i < batch; ++i) yb[i] = y[idx[i]];
      opt.zero_grad();
      bp::Var loss = bp::ops::softmax_cross_entropy(model->forward(xb), yb);
      loss.backward();
      opt.step();
      last_loss = loss.item();
    };
    for (int i = 0; i < o.warmup; ++i) train_batch();
    std::vector<double> rates;
    for (int r = 0; r < o.rounds; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < o.batches; ++i) train_batch();
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      rates.push_back(static_cast<double>(o.batches * batch) / s);
    }
    const double train = median(rates);

    // The same work through train::fit (shuffling, gathering, loss and accuracy bookkeeping),
    // as the command-line tool trains: 2 x batches batches of rows, 3 epochs, the first untimed.
    double fit_rate = 0;
    {
      const int64_t rows = std::min<int64_t>(o.rows, int64_t{o.batches} * batch * 2);
      std::vector<int64_t> first(static_cast<size_t>(rows));
      std::iota(first.begin(), first.end(), 0);
      bp::train::Targets ty;
      ty.classes.assign(y.begin(), y.begin() + rows);
      bp::train::FitOptions fo;
      fo.epochs = 3;
      fo.batch_size = batch;
      auto r = bp::train::fit(*model, bp::Task::Multiclass, bp::gather_rows(x, first.data(), rows), ty, opt, fo);
      std::vector<double> epochs;
      for (size_t e = 1; e < r.history.size(); ++e) epochs.push_back(r.history[e].samples_per_second);
      fit_rate = median(epochs);
    }

    // Batch-1 inference: eval mode, nothing recorded on the tape.
    model->set_training(false);
    bp::Tensor x1 = bp::Tensor::empty({1, in});
    std::memcpy(x1.data(), x.data(), sizeof(float) * in);
    float sink = 0;
    std::vector<double> per_call;
    {
      bp::autograd::NoGradGuard no_grad;
      for (int i = 0; i < 200; ++i) sink += model->forward(bp::Var(x1)).value()[0];
      const int chunks = 10, calls = o.infer_calls / chunks;
      for (int c = 0; c < chunks; ++c) {
        const auto t0 = Clock::now();
        for (int i = 0; i < calls; ++i) sink += model->forward(bp::Var(x1)).value()[0];
        per_call.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / calls);
      }
    }
    const double infer = median(per_call);
    volatile float keep = sink;  // the outputs are used, so no call can be optimised away
    (void)keep;
    std::printf("# threads=%d train: median %.0f samples/s (min %.0f, max %.0f; loss %.3f)  infer batch 1: %.2f us\n", t,
                train, *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()),
                last_loss, infer);
    std::printf("# threads=%d train::fit: %.0f samples/s\n", t, fit_rate);
    std::printf("RESULT train_sps_t%d %.1f\n", t, train);
    std::printf("RESULT infer_us_t%d %.3f\n", t, infer);
  }
  return 0;
}
