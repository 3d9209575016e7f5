// Benchmark (not a test): batch-1 inference latency of the MLP 784-256-128-10 (ReLU) in float32
// and quantized to bf16 and int8 (nn::QuantizedNet), on the machine's instructions and on the
// portable path, at one thread. bench/peer_quant.py times PyTorch float32 eager on the same
// network; scripts/bench_quant.sh runs both (alternating) and adds the accuracy table.
//
//   bench_quant [--model FILE] [--lenet FILE] [--calls 4000] | --info
// --model: a trained float model file (the main job's, say); its weights are timed and its
// calibration rows are random ones (latency does not depend on the values). Default: a
// freshly initialised MLP of the same shape. --lenet: the same for LeNet-5, timed at batch 1 in
// float32, bf16 and int8 through forward(Var).
// Prints one "RESULT <key> <value>" line per measurement (medians, microseconds per call; the
// keys ending _cpu_us in process CPU time).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/isa.hpp"
#include "backprop/backend/qgemm.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/nn/quantized.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

namespace {

using bench::median;
using bench::cpu_seconds;

using Clock = std::chrono::steady_clock;

// 200 warm-up calls, then 10 chunks; the median chunk's microseconds per call, wall-clock and
// CPU time (the process's: on a shared machine, time another process takes is not counted).
struct Timing {
  double wall = 0, cpu = 0;
};
template <class F>
Timing time_calls(int calls, F call) {
  for (int i = 0; i < 200; ++i) call();
  std::vector<double> wall, cpu;
  const int chunk = std::max(1, calls / 10);
  for (int c = 0; c < 10; ++c) {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    for (int i = 0; i < chunk; ++i) call();
    cpu.push_back((cpu_seconds() - c0) * 1e6 / chunk);
    wall.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / chunk);
  }
  return {median(wall), median(cpu)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--info") {
    std::printf("%s; quantized kernels: %s\n", bp::backend::machine_line().c_str(), bp::backend::qgemm_path());
    return 0;
  }
  std::string model_file, lenet_file;
  int calls = 4000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model_file = argv[i + 1];
    else if (a == "--lenet") lenet_file = argv[i + 1];
    else if (a == "--calls") calls = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (calls < 10) {
    std::fprintf(stderr, "bench_quant: --calls must be >= 10\n");
    return 2;
  }
  bp::backend::set_num_threads(1);
  std::unique_ptr<bp::nn::Module> net;
  if (!model_file.empty()) {
    net = std::move(bp::io::load_model(model_file).module);
  } else {
    bp::nn::MLPConfig cfg;
    cfg.inputs = 784;
    cfg.hidden = {256, 128};
    cfg.activations = {bp::nn::Act::ReLU};
    cfg.outputs = 10;
    net = bp::nn::make_mlp(cfg);
  }
  net->set_training(false);
  const int64_t in = 784;
  bp::Rng rng(2024);
  bp::Tensor calib = bp::Tensor::empty({1000, in});
  for (int64_t i = 0; i < calib.numel(); ++i) calib[i] = static_cast<float>(rng.uniform() * 3 - 0.8);
  bp::Tensor x1 = bp::Tensor::empty({1, in});
  std::memcpy(x1.data(), calib.data(), sizeof(float) * in);

  std::printf("# backprop bench_quant: MLP 784-256-128-10 ReLU, batch 1, 1 thread%s\n",
              model_file.empty() ? " (fresh weights)" : (" (" + model_file + ")").c_str());
  std::printf("# %s\n", bp::backend::machine_line().c_str());

  float sink = 0;
  // OpenBLAS starts its worker threads when it loads and they spin for about 0.1–0.2 s before
  // they sleep, whatever set_num_threads says: the process's CPU clock would count them in the
  // first timings (twice the wall time). Let them settle first.
  {
    const auto t0 = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - t0).count() < 0.5) {
      bp::autograd::NoGradGuard ng;
      sink += net->forward(bp::Var(x1)).value()[0];
    }
  }
  const Timing f32 = time_calls(calls, [&] {
    bp::autograd::NoGradGuard ng;
    sink += net->forward(bp::Var(x1)).value()[0];
  });
  std::printf("RESULT f32_us %.3f\nRESULT f32_cpu_us %.3f\n", f32.wall, f32.cpu);
  for (bp::nn::QuantDtype dt : {bp::nn::QuantDtype::BF16, bp::nn::QuantDtype::Int8}) {
    auto q = bp::nn::QuantizedNet::quantize(*net, {.dtype = dt, .calibration = calib});
    const std::string name = bp::nn::to_string(dt);
    float out[16];
    for (bool portable : {false, true}) {
      bp::backend::set_portable_kernels(portable);
      const bool native = dt == bp::nn::QuantDtype::BF16 ? bp::backend::qgemm_native_bf16() : bp::backend::qgemm_native_int8();
      if (!portable && !native) continue;  // no such instructions here
      const std::string key = name + (portable ? "_portable" : "");
      const Timing raw = time_calls(calls, [&] {
        q->infer(x1.data(), 1, out);
        sink += out[0];
      });
      const Timing mod = time_calls(calls, [&] { sink += q->forward(bp::Var(x1)).value()[0]; });
      std::printf("# %-14s infer(): %7.2f us (cpu %7.2f)   forward(Var): %7.2f us (cpu %7.2f)   (%lld weight bytes)\n",
                  key.c_str(), raw.wall, raw.cpu, mod.wall, mod.cpu, static_cast<long long>(q->weight_bytes()));
      std::printf("RESULT %s_us %.3f\nRESULT %s_cpu_us %.3f\n", key.c_str(), raw.wall, key.c_str(), raw.cpu);
      std::printf("RESULT %s_forward_us %.3f\nRESULT %s_forward_cpu_us %.3f\n", key.c_str(), mod.wall, key.c_str(),
                  mod.cpu);
    }
    bp::backend::set_portable_kernels(false);
  }
  std::printf("# float32 forward(Var): %.2f us (cpu %.2f)\n", f32.wall, f32.cpu);

  // LeNet-5 at batch 1, through forward(Var) (its convolutions run image by image).
  std::unique_ptr<bp::nn::Module> lenet;
  if (!lenet_file.empty()) lenet = std::move(bp::io::load_model(lenet_file).module);
  else lenet = bp::nn::make_lenet5({.input = bp::Shape{784}});
  lenet->set_training(false);
  const Timing lf = time_calls(calls / 4, [&] {
    bp::autograd::NoGradGuard ng;
    sink += lenet->forward(bp::Var(x1)).value()[0];
  });
  std::printf("# lenet5 float32 forward(Var): %.2f us (cpu %.2f)\n", lf.wall, lf.cpu);
  std::printf("RESULT lenet_f32_us %.3f\nRESULT lenet_f32_cpu_us %.3f\n", lf.wall, lf.cpu);
  for (bp::nn::QuantDtype dt : {bp::nn::QuantDtype::BF16, bp::nn::QuantDtype::Int8}) {
    auto q = bp::nn::QuantizedNet::quantize(*lenet, {.dtype = dt, .calibration = calib});
    const Timing t = time_calls(calls / 4, [&] { sink += q->forward(bp::Var(x1)).value()[0]; });
    const std::string name = bp::nn::to_string(dt);
    std::printf("# lenet5 %-6s forward(Var): %.2f us (cpu %.2f)\n", name.c_str(), t.wall, t.cpu);
    std::printf("RESULT lenet_%s_us %.3f\nRESULT lenet_%s_cpu_us %.3f\n", name.c_str(), t.wall, name.c_str(), t.cpu);
  }
  volatile float keep = sink;
  (void)keep;
  return 0;
}
