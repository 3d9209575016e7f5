// backprop info: what this build runs on — version, the BLAS and the kernel set it chose, the
// processor's vector extensions, the OPENBLAS_* environment, and a note when the BLAS runs below
// the processor (backend::MachineInfo).
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "backprop/backend/backend.hpp"
#include "backprop/backend/dnnl_conv.hpp"
#include "backprop/backend/qgemm.hpp"
#include "backprop/util/version.hpp"
#include "commands.hpp"

namespace bp::cli {

Runner add_info(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("info", "Print the version, the BLAS and its kernels, and the processor's vector extensions");
  cmd->add_flag("--json", *as_json, "One JSON object instead of text");
  return [as_json] {
    const backend::MachineInfo m = backend::machine_info();
    const unsigned cores = std::thread::hardware_concurrency();
    // What `backprop quantize`d models run on: the AVX-512 BF16 / VNNI products or the portable loops.
    const std::string quantized = std::string("bf16 ") + (backend::qgemm_native_bf16() ? "avx512_bf16" : "portable") +
                                  ", int8 " + (backend::qgemm_native_int8() ? "avx512_vnni" : "portable");
    if (*as_json) {
      const nlohmann::json j = {{"version", BACKPROP_VERSION_STRING}, {"blas", m.blas},     {"blas_core", m.blas_core},
                                {"cpu", m.cpu},                       {"cpu_isa", m.cpu_isa}, {"blas_env", m.blas_env},
                                {"hardware_threads", cores},          {"note", m.note},
                                {"convolutions", backend::conv_engine_line()}, {"quantized_kernels", quantized}};
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("backprop %s\n", BACKPROP_VERSION_STRING);
    std::printf("BLAS:         %s\n", m.blas.c_str());
    std::printf("BLAS kernels: %s\n", m.blas_core.c_str());
    std::printf("CPU:          %s (%u hardware threads)\n", m.cpu.empty() ? "?" : m.cpu.c_str(), cores);
    std::printf("vector ISA:   %s\n", m.cpu_isa.c_str());
    std::printf("environment:  %s\n", m.blas_env.empty() ? "no OPENBLAS_* variable set" : m.blas_env.c_str());
    std::string conv = backend::conv_engine_line();  // "convolutions ours + oneDNN ... where measured faster"
    if (conv.rfind("convolutions ", 0) == 0) conv = conv.substr(13);
    std::printf("convolutions: %s\n", conv.c_str());
    std::printf("quantized:    %s\n", quantized.c_str());
    if (!m.note.empty()) std::printf("note: %s\n", m.note.c_str());
    return 0;
  };
}

}  // namespace bp::cli
