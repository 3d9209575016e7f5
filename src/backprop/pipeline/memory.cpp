#include "backprop/pipeline/memory.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "backprop/pipeline/errors.hpp"

namespace bp::pipeline {

namespace {
// Optimizer state, in parameter-sized buffers.
double state_buffers(const std::string& optimizer) {
  if (optimizer == "adam" || optimizer == "adamw") return 2;
  if (optimizer == "sgd") return 0;
  return 1;  // momentum, nesterov, adagrad, rmsprop
}
}  // namespace

MemoryEstimate estimate_training_memory(const nn::ModelSpec& spec, const optim::OptimizerSpec& optimizer,
                                        int64_t batch_size, int64_t rows) {
  MemoryEstimate e;
  if (spec.name != "mlp") return e;
  double in = 1;
  for (int64_t d : spec.input_shape) in *= static_cast<double>(d);
  double width_sum = 0;
  for (int64_t h : spec.hidden) {
    e.parameters += (in + 1) * static_cast<double>(h);
    width_sum += static_cast<double>(h);
    in = static_cast<double>(h);
  }
  e.parameters += (in + 1) * static_cast<double>(spec.outputs);
  width_sum += static_cast<double>(spec.outputs);
  const double batch = static_cast<double>(batch_size > 0 && batch_size < rows ? batch_size : rows);
  // Weights and gradients, each once as built and once in the optimizer's flat buffer while it
  // moves them, plus the optimizer's state; per layer a batch's output, activation and both
  // gradients.
  const double param_buffers = 4 + state_buffers(optimizer.name);
  e.bytes = sizeof(float) * (param_buffers * e.parameters + 4 * batch * width_sum);
  return e;
}

double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream in(line.substr(13));
    double kib = 0;
    if (in >> kib) return kib * 1024;
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void check_training_memory(const nn::ModelSpec& spec, const optim::OptimizerSpec& optimizer, int64_t batch_size,
                           int64_t rows) {
  const MemoryEstimate e = estimate_training_memory(spec, optimizer, batch_size, rows);
  const double available = available_memory_bytes();
  if (available <= 0 || e.bytes <= available) return;
  char params[64];
  std::snprintf(params, sizeof params, "%.3g", e.parameters);
  throw UsageError("the model needs about " + format_bytes(e.bytes) + " to train (" + params +
                   " parameters, their gradients and optimizer state, a batch's activations) but this machine has " +
                   format_bytes(available) + " available: choose smaller --hidden sizes (or a smaller --batch-size)");
}

}  // namespace bp::pipeline
