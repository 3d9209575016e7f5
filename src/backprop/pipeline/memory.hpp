// The memory a model and its training need, estimated before anything is allocated, so that
// `--hidden 1000000,1000000` is refused with a message instead of ending in std::bad_alloc.
#pragma once

#include <cstdint>
#include <string>

#include "backprop/nn/zoo.hpp"
#include "backprop/optim/optim.hpp"

namespace bp::pipeline {

struct MemoryEstimate {
  double parameters = 0;  // learnable scalars (a double: a hostile --hidden overflows int64)
  double bytes = 0;       // weights + gradients + optimizer state + a batch's activations
};

// An MLP's (`spec.name == "mlp"`) parameters from its input width, hidden sizes and outputs;
// the named CNNs are of a fixed, small size and estimate to zero. Weights, gradients and the
// flat copies the optimizer makes of both (optim/flat.hpp), the optimizer's state (two
// buffers for Adam, one for momentum, ...), and for a batch of `batch_rows` examples (0: all
// `rows`) each layer's output, its activation and their gradients, in float32.
MemoryEstimate estimate_training_memory(const nn::ModelSpec& spec, const optim::OptimizerSpec& optimizer,
                                        int64_t batch_size, int64_t rows);

// Bytes the system can give this process now: MemAvailable from /proc/meminfo, else the
// free physical pages (sysconf); 0 when neither can be read.
double available_memory_bytes();

// Throws UsageError ("the model needs about 16.0 TB to train (...) but this machine has 120.3 GB
// available; ...") when the estimate exceeds what is available. Call before building the model.
void check_training_memory(const nn::ModelSpec& spec, const optim::OptimizerSpec& optimizer, int64_t batch_size,
                           int64_t rows);

// "16.0 TB", "512 MB": a byte count for a message.
std::string format_bytes(double bytes);

}  // namespace bp::pipeline
