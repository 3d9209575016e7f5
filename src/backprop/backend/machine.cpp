// The machine a run measured: the BLAS's kernel set, the processor's vector extensions and the
// OPENBLAS_* environment (backend.hpp, MachineInfo).
#include <cblas.h>

#include <cstdlib>
#include <fstream>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"

namespace bp::backend {

namespace {

bool has_avx512() { return __builtin_cpu_supports("avx512f"); }

std::string isa_list() {
  std::string out;
  auto add = [&out](bool present, const char* name) {
    if (present) out += (out.empty() ? "" : " ") + std::string(name);
  };
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512vl"), "avx512vl");
  add(__builtin_cpu_supports("avx512vnni"), "avx512vnni");
  add(__builtin_cpu_supports("avx512bf16"), "avx512bf16");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  return out.empty() ? "no avx2" : out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

std::string openblas_env() {
  std::string out;
  for (const char* name : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"})
    if (const char* v = std::getenv(name)) out += (out.empty() ? "" : " ") + std::string(name) + "=" + v;
  return out;
}

}  // namespace

std::string blas_core_note(const std::string& blas_core, bool cpu_has_avx512, const char* forced_core) {
  if (!cpu_has_avx512) return "";
  for (const char* wide : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (blas_core == wide) return "";
  if (forced_core != nullptr && *forced_core != '\0')
    return "OPENBLAS_CORETYPE=" + std::string(forced_core) + " makes OpenBLAS run its " + blas_core +
           " kernels on a processor with AVX-512; matrix products (and GEMM-bound training) run faster "
           "without it (unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE)";
  return "OpenBLAS chose its " + blas_core +
         " kernels on a processor with AVX-512 (an OpenBLAS older than the processor?); matrix products "
         "may run faster with OPENBLAS_CORETYPE=SkylakeX";
}

MachineInfo machine_info() {
  MachineInfo m;
  m.blas = blas_info();
  m.blas_core = openblas_get_corename();
  m.cpu = cpu_model();
  m.cpu_isa = isa_list();
  m.blas_env = openblas_env();
  m.note = blas_core_note(m.blas_core, has_avx512(), std::getenv("OPENBLAS_CORETYPE"));
  return m;
}

std::string machine_line() {
  const MachineInfo m = machine_info();
  std::string line = "BLAS core " + m.blas_core;
  line += m.blas_env.empty() ? " (no OPENBLAS_* set)" : " (" + m.blas_env + ")";
  line += "; CPU " + (m.cpu.empty() ? std::string("?") : m.cpu) + ", " + m.cpu_isa;
  line += "; " + conv_engine_line();
  return line;
}

}  // namespace bp::backend
