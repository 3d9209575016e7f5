// The ONNX workflows (docs/onnx.md): a saved model out to ONNX, an ONNX file in as a model file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backprop/util/task.hpp"

namespace bp::pipeline {

struct ExportOnnxOptions {
  std::string model;   // a model file (a network: a tree learner or the char-lstm is refused)
  std::string output;  // the .onnx file, written atomically
};

struct ExportOnnxResult {
  std::string input;   // what the graph takes, in words
  std::string output;  // what it gives, in words
};

ExportOnnxResult export_onnx(const ExportOnnxOptions& o);

struct ImportOnnxOptions {
  std::string input;   // the .onnx file
  std::string output;  // the model file, written atomically
  std::string task;    // "" (from the graph) or a task name
};

struct ImportOnnxResult {
  Task task = Task::Regression;
  std::vector<std::string> operators;  // the ONNX operators mapped, in order
};

ImportOnnxResult import_onnx(const ImportOnnxOptions& o);

// True for a model path that names an ONNX file (by its extension, .onnx).
bool is_onnx_path(const std::string& path);

}  // namespace bp::pipeline
