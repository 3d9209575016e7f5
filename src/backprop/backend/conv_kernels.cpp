#include "backprop/backend/conv_kernels.hpp"

#include "backprop/backend/isa.hpp"

namespace bp::backend {

namespace {
bool available() {
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}
const bool g_available = available();
}  // namespace

bool conv_avx512() { return g_available && !portable_kernels(); }

}  // namespace bp::backend
