// backprop export: a saved network as an ONNX file (docs/onnx.md).
#include <cstdio>

#include "backprop/pipeline/onnx_files.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

Runner add_export(CLI::App& app) {
  auto o = std::make_shared<pipeline::ExportOnnxOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a saved network as an ONNX file (preprocessing and probabilities included)");
  cmd->add_option("--model,-m", o->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", o->output, "ONNX file to write")->required()->check(file_name());
  return [o] {
    const pipeline::ExportOnnxResult r = pipeline::export_onnx(*o);
    std::fprintf(stderr, "wrote %s\n  input:  %s\n  output: %s\n", o->output.c_str(), r.input.c_str(), r.output.c_str());
    return 0;
  };
}

}  // namespace bp::cli
