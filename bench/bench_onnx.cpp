// Inference speed against ONNX Runtime (scripts/bench_onnx.sh runs both and prints the table).
//
//   bench_onnx --export DIR                 writes DIR/lenet5.onnx, DIR/mlp.onnx (the networks
//                                           timed here, exported by onnx::export_model) and
//                                           DIR/empty.onnx (Identity on a 1×784 input: the
//                                           binding's empty call for bench/onnx_ort.js)
//   bench_onnx [--threads N] [--repeats R]  times ours: LeNet-5 at batch 128 (µs per sample) and
//                                           the MLP 784-256-128-10 at batch 1 (µs per call),
//                                           each call the whole prediction (forward and softmax)
// Prints "case threads=N us=MEDIAN cpu_us=MEDIAN" per case: medians over R runs, each timing
// many calls in one loop; cpu_us is the process's CPU time over the same calls (all threads).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/nn/shape.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/ops/ops.hpp"

#include "bench_clock.hpp"

using namespace bp;
using Clock = std::chrono::steady_clock;

namespace {

using bench::median;
using bench::cpu_seconds;

std::unique_ptr<nn::Module> lenet() { return nn::make_lenet5({.input = {784}, .seed = 1}); }
std::unique_ptr<nn::Module> mlp() {
  return nn::make_mlp({.inputs = 784, .hidden = {256, 128}, .activations = {nn::Act::ReLU}, .outputs = 10, .seed = 1});
}

Tensor inputs(int64_t batch) {
  Tensor x({batch, 784});
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform();
  return x;
}

// One case: `calls` predictions per run; per call (wall, CPU) in µs, medians over `repeats` runs.
void time_case(const char* name, nn::Module& net, const Tensor& x, int calls, int repeats, int threads, double per) {
  net.set_training(false);
  autograd::NoGradGuard ng;
  auto call = [&] { return ops::softmax(net.forward(Var(x))); };
  for (int i = 0; i < calls / 10 + 1; ++i) call();
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) call();
    wall.push_back(std::chrono::duration<double>(Clock::now() - t0).count() * 1e6 / calls / per);
    cpu.push_back((cpu_seconds() - c0) * 1e6 / calls / per);
  }
  std::printf("%s threads=%d us=%.3f cpu_us=%.3f\n", name, threads, median(wall), median(cpu));
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 7;
  std::string export_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_onnx: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--threads") threads = std::atoi(argv[++i]);
    else if (a == "--repeats") repeats = std::atoi(argv[++i]);
    else if (a == "--export") export_dir = argv[++i];
    else {
      std::fprintf(stderr, "bench_onnx: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (!export_dir.empty()) {
    io::ModelInfo info;
    info.task = Task::Multiclass;
    for (int k = 0; k < 10; ++k) info.class_names.push_back(std::to_string(k));
    onnx::export_model(export_dir + "/lenet5.onnx", *lenet(), info);
    onnx::export_model(export_dir + "/mlp.onnx", *mlp(), info);
    nn::Sequential empty;
    empty.emplace<nn::Reshape>(Shape{784});  // exports as one Reshape node: the cheapest graph
    info.task = Task::Regression;
    onnx::export_model(export_dir + "/empty.onnx", empty, info);
    return 0;
  }
  backend::set_num_threads(threads);
  auto l = lenet();
  auto m = mlp();
  time_case("lenet5_b128", *l, inputs(128), 20, repeats, threads, 128.0);
  time_case("mlp_b1", *m, inputs(1), 5000, repeats, threads, 1.0);
  return 0;
}
