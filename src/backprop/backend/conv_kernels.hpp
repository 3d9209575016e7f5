// Which instruction set the convolution and pooling kernels (ops/conv.cpp, ops/pool.cpp) use.
// Their vector loops are written once with GCC's vector extensions, which compile to whatever
// the build targets; a few pieces (masked loads and stores at the end of a row, the 2×2 max
// pool's even/odd split) have an AVX-512 version beside a portable one. The AVX-512 version is
// compiled in when the build targets AVX-512 (BACKPROP_NATIVE on such a machine) and used when
// the processor has it, unless switched off here: the tests run both versions on one machine.
#pragma once

namespace bp::backend {

// True when the AVX-512 pieces are compiled in, the CPU supports them, and they are not
// switched off. One relaxed atomic load: the kernels read it once per row or per call.
bool conv_avx512();
// Switches the AVX-512 pieces off (false) or back on where available (true); for tests and
// for comparing the two. Returns the previous setting. Not while a convolution runs.
bool set_conv_avx512(bool on);

}  // namespace bp::backend
