#include "backprop/backend/isa.hpp"

#include <atomic>

namespace bp::backend {

namespace {
std::atomic<bool> g_portable{false};
}  // namespace

bool portable_kernels() { return g_portable.load(std::memory_order_relaxed); }

bool set_portable_kernels(bool portable) { return g_portable.exchange(portable, std::memory_order_relaxed); }

}  // namespace bp::backend
