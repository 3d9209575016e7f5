// Which instruction set the convolution and pooling kernels (ops/conv.cpp, ops/pool.cpp) use.
// Their vector loops are written once with GCC's vector extensions, which compile to whatever
// the build targets; a few pieces (masked loads and stores at the end of a row, the 2×2 max
// pool's even/odd split) have an AVX-512 version beside a portable one. The AVX-512 version is
// compiled in when the build targets AVX-512 (BACKPROP_NATIVE on such a machine) and used when
// the processor has it, unless backend::set_portable_kernels (isa.hpp) forces the portable
// version: the tests run both versions on one machine.
#pragma once

namespace bp::backend {

// True when the AVX-512 pieces are compiled in, the CPU supports them, and the portable
// versions are not forced (isa.hpp). The kernels read it once per row or per call.
bool conv_avx512();

}  // namespace bp::backend
