#include "backprop/backend/conv_kernels.hpp"

#include <atomic>

namespace bp::backend {

namespace {
bool available() {
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}
std::atomic<bool> g_on{available()};
}  // namespace

bool conv_avx512() { return g_on.load(std::memory_order_relaxed); }

bool set_conv_avx512(bool on) { return g_on.exchange(on && available(), std::memory_order_relaxed); }

}  // namespace bp::backend
