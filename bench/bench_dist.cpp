// Data-parallel training speed (docs/distributed.md, "Measured"): train::fit on synthetic
// Fashion-MNIST-shaped data (uniform pixels, uniform labels), Adam, global batch 128, for the
// MLP 784-256-128-10 or LeNet-5. Run alone it trains in one process (--threads T); under
// `mpirun -np P` every rank takes its slice of each batch (dist::make_allreduce_sync).
// scripts/bench_dist.sh runs P = 1 and 2 (one thread each) against one process at 2 threads.
//
//   [mpirun -np P] bench_dist [--model mlp|lenet5|resnet] [--threads T] [--steps S] [--epochs E]
// Prints, from every rank, "RESULT <key> <value>" lines: rank 0 the samples/s (median over the
// epochs after the first) and the seconds a step spends in the gradient all-reduce; every rank
// its process's CPU seconds (user + system) per 1000 samples, so that the script can add the
// ranks' CPU time.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/dist/dist.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

using namespace bp;

namespace {

using bench::median;
using bench::cpu_seconds;

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mlp";
  int threads = 1, steps = 20, epochs = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--steps") steps = std::atoi(argv[i + 1]);
    else if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: [mpirun -np P] bench_dist [--model mlp|lenet5|resnet] [--threads T] [--steps S] [--epochs E]\n");
      return 2;
    }
  }
  if (threads < 1 || steps < 1 || epochs < 2 || (model != "mlp" && model != "lenet5" && model != "resnet")) {
    std::fprintf(stderr, "bench_dist: threads, steps >= 1, epochs >= 2, model mlp, lenet5 or resnet\n");
    return 2;
  }
  std::unique_ptr<dist::Session> session;
  std::unique_ptr<train::GradientSync> sync;
  double reduce_seconds = 0;
  if (dist::launched_by_mpi()) {
    session = std::make_unique<dist::Session>();
    sync = dist::make_allreduce_sync(*session, {.seconds = &reduce_seconds});
  }
  const int rank = session ? session->rank() : 0, size = session ? session->size() : 1;
  backend::set_num_threads(threads);

  const int64_t batch = 128, rows = batch * steps, classes = 10;
  const bool image = model != "mlp";
  Tensor x = image ? Tensor::empty({rows, 1, 28, 28}) : Tensor::empty({rows, 784});
  Rng rng(2024);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform());
  train::Targets y;
  for (int64_t i = 0; i < rows; ++i) y.classes.push_back(static_cast<int32_t>(rng.below(classes)));

  std::unique_ptr<nn::Module> net;
  if (model == "mlp") {
    nn::MLPConfig c;
    c.inputs = 784;
    c.hidden = {256, 128};
    c.activations = {nn::Act::ReLU};
    c.outputs = classes;
    net = nn::make_mlp(c);
  } else if (model == "lenet5") {
    net = nn::make_lenet5({});
  } else {
    net = nn::make_resnet({});
  }
  optim::Adam opt(net->parameters(), {1e-3f});
  int64_t params = opt.flat().size;

  train::FitOptions fo;
  fo.epochs = epochs;
  fo.batch_size = batch;
  fo.sync = sync.get();
  double cpu_first_epoch_end = 0, reduce_first_epoch_end = 0;
  fo.on_epoch = [&](const train::EpochStats& s) {
    if (s.epoch == 1) {
      cpu_first_epoch_end = cpu_seconds();
      reduce_first_epoch_end = reduce_seconds;
    }
    return true;
  };
  // The all-reduce alone, both ranks ready: the model's gradient reduced `steps` times after a
  // barrier-like first call; the median call is the communication's own cost, apart from
  // waiting for a rank the machine's load held back during training.
  std::vector<double> alone_ms;
  if (sync) {
    std::vector<float> g(static_cast<size_t>(params), 1.f);
    double stats[2] = {0, 0};
    for (int i = 0; i <= steps; ++i) {
      const double before = reduce_seconds;
      sync->reduce(g.data(), params, 64, 64 * size, stats, 2);
      if (i > 0) alone_ms.push_back(1e3 * (reduce_seconds - before));
    }
    reduce_seconds = 0;
  }
  const train::FitResult r = train::fit(*net, Task::Multiclass, x, y, opt, fo);
  const double cpu = cpu_seconds() - cpu_first_epoch_end;
  const double timed_samples = static_cast<double>(rows) * (epochs - 1);
  std::vector<double> sps;
  for (size_t e = 1; e < r.history.size(); ++e) sps.push_back(r.history[e].samples_per_second);
  if (rank == 0) {
    std::printf("# bench_dist: %s (%lld parameters), Adam, global batch %lld, %d steps an epoch, %d epochs (the first "
                "untimed), P = %d, %d thread(s) each\n",
                model.c_str(), static_cast<long long>(params), static_cast<long long>(batch), steps, epochs, size, threads);
    std::printf("RESULT samples_per_s %.1f\n", median(sps));
    std::printf("RESULT reduce_ms_per_step %.3f\n",
                1e3 * (reduce_seconds - reduce_first_epoch_end) / (static_cast<double>(steps) * (epochs - 1)));
    std::printf("RESULT params %lld\n", static_cast<long long>(params));
    if (!alone_ms.empty()) std::printf("RESULT reduce_alone_ms %.3f\n", median(alone_ms));
  }
  std::fflush(stdout);
  std::printf("RESULT cpu_s_per_1000_rank%d %.4f\n", rank, 1e3 * cpu / timed_samples);
  std::fflush(stdout);
  return 0;
}
