// Benchmark (not a test): the C++ side of bench/python_overhead.py. Loads a model file and
// times what Model.predict_proba does below Python, called directly: the model's input
// encoding (pipeline::ArrayInput, a finiteness check for a model trained from arrays) and
// pipeline::ModelRef::predict, on one thread, per call, at each batch size asked for.
//
//   python_overhead_cpp MODEL.safetensors [--batches 1,128] [--calls 3000]
// Prints one line per batch size: "RESULT batch=B wall_us=MEDIAN cpu_us=MEDIAN calls=N"
// (medians over the calls, each timed by itself; cpu: this thread's CPU time), and first
// "batch=0": the same clock reads around nothing (the timing's own cost).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/arrays.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/util/rng.hpp"

#include "bench_clock.hpp"

namespace {

using bench::median;

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: python_overhead_cpp MODEL.safetensors [--batches 1,128] [--calls 3000]\n");
    return 2;
  }
  std::vector<int64_t> batches{1, 128};
  int calls = 3000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--calls") {
      calls = std::atoi(argv[i + 1]);
    } else if (a == "--batches") {
      batches.clear();
      for (const char* p = argv[i + 1]; *p;) {
        batches.push_back(std::atoll(p));
        while (*p && *p != ',') ++p;
        if (*p) ++p;
      }
    } else {
      std::fprintf(stderr, "python_overhead_cpp: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  bp::backend::set_num_threads(1);
  bp::io::ModelFile file = bp::io::load_model(argv[1]);
  const bp::pipeline::ArrayInput input(file.info.preprocessing);
  const bp::pipeline::ModelRef model(file);
  const auto d = static_cast<int64_t>(input.names().size());
  {  // the floor: the same clock reads around nothing
    std::vector<double> wall, cpu;
    for (int c = 0; c < calls; ++c) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_us();
      const double c1 = thread_cpu_us();
      const auto t1 = std::chrono::steady_clock::now();
      wall.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
    std::printf("RESULT batch=0 wall_us=%.3f cpu_us=%.3f calls=%d\n", median(wall), median(cpu), calls);
  }
  bp::Rng rng(1);
  for (int64_t b : batches) {
    bp::Tensor x({b, d});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
    std::vector<double> wall, cpu;
    float sink = 0;
    for (int c = 0; c < calls + calls / 10; ++c) {  // the first tenth warms caches up, untimed
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = thread_cpu_us();
      const bp::Tensor p = model.predict(file.info.task, input.encode(x));
      const double c1 = thread_cpu_us();
      const auto t1 = std::chrono::steady_clock::now();
      sink += p[0];
      if (c < calls / 10) continue;
      wall.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
    std::printf("RESULT batch=%lld wall_us=%.3f cpu_us=%.3f calls=%d  # %g\n", static_cast<long long>(b), median(wall),
                median(cpu), calls, sink > -1 ? 0.0 : 1.0);
  }
  return 0;
}
