// One switch for every hand-written kernel that has an AVX-512 version beside a portable one:
// the convolution and pooling pieces (conv_kernels.hpp) and the quantized products (qgemm.hpp).
// Each uses its AVX-512 version where the processor has it, unless the portable versions are
// forced here: the tests run both on one machine, and benchmarks compare them.
#pragma once

namespace bp::backend {

// True while the portable versions are forced (default false). One relaxed atomic load.
bool portable_kernels();
// Forces the portable versions (true) or lets the machine's instructions run where present
// (false). Returns the previous setting. For tests and benchmarks; not while a kernel runs.
bool set_portable_kernels(bool portable);

}  // namespace bp::backend
