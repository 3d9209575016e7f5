// backprop import: an ONNX file as a model file (docs/onnx.md has the operators it reads).
#include <cstdio>

#include "backprop/pipeline/onnx_files.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

Runner add_import(CLI::App& app) {
  auto o = std::make_shared<pipeline::ImportOnnxOptions>();
  CLI::App* cmd = app.add_subcommand("import", "Read an ONNX file into a model file (Gemm, Conv, pooling, BatchNorm, ... networks)");
  cmd->add_option("input", o->input, "ONNX file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", o->output, "Model file to write")->required()->check(file_name());
  cmd->add_option("--task", o->task,
                  "How to read the outputs: multiclass, binary or regression (default: a final Softmax means multiclass, "
                  "a final Sigmoid binary, else regression)");
  return [o] {
    const pipeline::ImportOnnxResult r = pipeline::import_onnx(*o);
    std::string ops;
    for (const auto& op : r.operators) ops += (ops.empty() ? "" : " ") + op;
    std::fprintf(stderr, "wrote %s (%s; operators: %s)\n", o->output.c_str(), to_string(r.task).c_str(), ops.c_str());
    return 0;
  };
}

}  // namespace bp::cli
