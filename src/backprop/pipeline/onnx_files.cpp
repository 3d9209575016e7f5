#include "backprop/pipeline/onnx_files.hpp"

#include <filesystem>

#include "backprop/io/model_file.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/outputs.hpp"

namespace bp::pipeline {

bool is_onnx_path(const std::string& path) { return std::filesystem::path(path).extension() == ".onnx"; }

ExportOnnxResult export_onnx(const ExportOnnxOptions& o) {
  if (o.output.empty()) throw UsageError("--output: give the .onnx file to write");
  check_outputs({{"--model", o.model}}, {{"--output", o.output}});
  io::ModelFile mf = io::load_model(o.model);
  if (mf.learner) throw UsageError(o.model + " holds a tree learner: only networks export to ONNX (docs/onnx.md)");
  if (is_char_lm(mf.info))
    throw UsageError(o.model + " is a character language model (char-lstm): recurrent networks are not exportable to ONNX yet (docs/onnx.md)");
  onnx::export_model(o.output, *mf.module, mf.info);
  ExportOnnxResult r;
  const onnx::Standardization st = onnx::standardization(mf.info.preprocessing);
  if (st.center.empty())
    r.input = "'input' (batch, features): the network's own input";
  else if (st.images)
    r.input = "'input' (batch, " + std::to_string(st.feature_names.size()) + "): raw pixels in [0, 1], standardised in the graph";
  else
    r.input = "'input' (batch, " + std::to_string(st.center.size()) +
              "): the features in the model's order (numbers as they are, missing values filled in, each category as 0/1 indicators); standardised in the graph";
  r.output = mf.info.task == Task::Regression ? "'prediction' (batch, targets)"
             : mf.info.task == Task::Binary   ? "'probabilities' (batch, 1): P(positive)"
                                              : "'probabilities' (batch, classes)";
  if (!mf.info.calibrator.is_null()) r.output += ", uncalibrated (the model's calibrator is not in the graph)";
  return r;
}

ImportOnnxResult import_onnx(const ImportOnnxOptions& o) {
  if (o.output.empty()) throw UsageError("--output: give the model file to write");
  check_outputs({{"input", o.input}}, {{"--output", o.output}});
  onnx::ImportOptions io;
  if (!o.task.empty()) {
    try {
      io.task = task_from_string(o.task);
    } catch (const std::exception& e) {
      throw UsageError(std::string("--task: ") + e.what());
    }
  }
  io::ModelFile f = onnx::import_model(o.input, io);
  io::save_model(o.output, *f.module, f.info);
  ImportOnnxResult r;
  r.task = f.info.task;
  r.operators = f.info.extra.value("operators", std::vector<std::string>{});
  return r;
}

}  // namespace bp::pipeline
