// ONNX out and in (docs/onnx.md), through ONNX's own C++ library (Debian libonnx-dev: its
// protobuf classes, checker and shape inference), never a hand-written protobuf codec. This
// header names no ONNX or protobuf type: the library links them privately.
//
//   bp::onnx::export_model("model.onnx", *m.module, m.info);   // a trained network → ONNX
//   io::ModelFile f = bp::onnx::import_model("model.onnx");     // ONNX → a network + its info
//
// Export writes the network in eval mode as one graph: input "input" (batch, features…) as
// the model file's preprocessing leaves it before imputation and standardisation (a table's
// categories as 0/1 indicators, NaN for a missing value), the imputation as IsNaN/Where and the
// standardisation as Sub/Div nodes, the layers, and the probabilities (Softmax for multi-class, Sigmoid for
// binary: P(positive), (batch, 1)) or the regression values as output. Import maps a graph of
// the operators our blocks cover (docs/onnx.md has the table, with what each refuses) onto
// nn:: modules, so that the result is an ordinary model file.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/tensor/tensor.hpp"

namespace bp::onnx {

// Anything ONNX refuses to carry or that we refuse to read: an operator, attribute or graph
// shape outside the supported subset (the message names the operator and the node), a file
// that is not a valid ONNX model, a network kind that has no export yet. A model-file error,
// so the command exits with the model-file code.
class OnnxError : public io::ModelFileError {
 public:
  using io::ModelFileError::ModelFileError;
};

// ---- export

// The opset the exporter writes (ai.onnx); Softmax's axis means the last dimension from 13 on.
inline constexpr int64_t kExportOpset = 13;

// The names of the exported graph's input and output.
inline constexpr const char* kInputName = "input";
inline constexpr const char* kProbabilitiesName = "probabilities";  // classification
inline constexpr const char* kPredictionName = "prediction";        // regression

// A model's standardisation as the exported graph applies it: y = (x - center) / scale per
// feature (x the graph's input row). Identity entries (0, 1) for one-hot indicator columns,
// which the graph takes already coded. Empty when the model has no preprocessing.
struct Standardization {
  std::vector<float> center, scale;  // (features), or one entry for all pixels of an image
  // A table's missing values (NaN in the graph's input): the training mean of a numeric column,
  // 0 for an indicator (a missing category codes as all zeros). Empty for images.
  std::vector<float> impute;
  bool images = false;               // one entry standing for every pixel
  std::vector<std::string> feature_names;
};
Standardization standardization(const nlohmann::json& preprocessing);

// The ONNX model as bytes (a serialized ModelProto), checked by onnx::checker::check_model
// before it is returned. Throws OnnxError naming the first module that cannot be exported
// (the recurrent layers: "not exportable yet"), or when the checker refuses the graph.
std::string export_model_bytes(nn::Module& module, const io::ModelInfo& info);
// The same, written to `path` atomically (util/atomic_file.hpp).
void export_model(const std::filesystem::path& path, nn::Module& module, const io::ModelInfo& info);

// Runs onnx::checker::check_model on serialized model bytes; OnnxError with the checker's
// message when it refuses them. `name` labels messages.
void check_model_bytes(const std::string& bytes, const std::filesystem::path& name);

// ---- import

struct ImportOptions {
  // Unset: from the graph — a final Softmax makes it multi-class, a final Sigmoid over one
  // output binary (either taken off the network: our model files hold logits), one output
  // without either regression; several outputs without a Softmax need this set. Set to
  // multiclass or binary for a graph without that final activation: its outputs are logits.
  std::optional<Task> task;
};

// A graph mapped onto nn:: modules, before any reading of its outputs as a task.
struct ImportedGraph {
  std::unique_ptr<nn::Module> module;       // eval mode; forward takes (batch, input dims…)
  Shape input_shape;                        // the graph input's dims after the batch (-1: unknown)
  Shape output_shape;                       // the graph output's dims after the batch (-1: unknown)
  std::vector<std::string> operators;       // the operator of each node mapped, in order
  std::map<std::string, std::string> metadata;  // the model's metadata_props
};

// Maps the graph of serialized ONNX model `bytes` onto modules. The graph must have one data
// input (inputs with an initializer, or named in `constants`, are weights) and one output.
// `constants` binds graph inputs to values (ONNX's conformance cases feed weights as inputs);
// `serialized` does the same with serialized TensorProtos of any type (an int64 shape).
// Throws OnnxError naming the first unsupported operator and its node.
ImportedGraph import_graph(const std::string& bytes, const std::filesystem::path& name,
                           const std::map<std::string, Tensor>& constants = {},
                           const std::map<std::string, std::string>& serialized = {});

// An ONNX file as a model file's contents: the network (the final Softmax/Sigmoid read as
// the task, above), and, for a file this project exported, its task, class names and
// preprocessing back (the Sub/Div nodes checked against them and taken off the network).
io::ModelFile import_model(const std::filesystem::path& path, const ImportOptions& o = {});
io::ModelFile import_model_bytes(const std::string& bytes, const std::filesystem::path& name,
                                 const ImportOptions& o = {});

// A serialized TensorProto (ONNX's test data sets: input_0.pb, output_0.pb) as a Tensor;
// float32 only (OnnxError naming the type otherwise).
Tensor read_tensor_file(const std::filesystem::path& path);

// What a graph holds, without mapping it: its operators (node order), its inputs (in order)
// and the names among them that have an initializer.
struct GraphSummary {
  std::vector<std::string> operators, inputs, initializers;
};
GraphSummary summarize(const std::string& bytes, const std::filesystem::path& name);
std::string read_file(const std::filesystem::path& path);

// The operators import_graph maps (docs/onnx.md says which attributes each refuses).
const std::vector<std::string>& supported_operators();

}  // namespace bp::onnx
