// Model files: one safetensors file holds a trained model whole — the architecture, the
// weights, and what turns raw data into the network's input (category maps, imputation
// values, standardisation) — so that `backprop predict` needs nothing else, and Python's
// `safetensors` (or 20 lines of plain Python) reads the weights. The layout, the metadata keys
// and the version policy are in docs/model-files.md.
//
//   save_model(path, *net, {.task = Task::Multiclass, .class_names = {...}, .preprocessing = p});
//   io::ModelFile m = io::load_model(path);      // m.module is in eval mode
//   Tensor logits = m.module->forward(Var(x)).value();
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backprop/io/safetensors.hpp"
#include "backprop/learners/learner.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/nn/quantized.hpp"
#include "backprop/util/version.hpp"

namespace bp::io {

// The model-file format this build writes. It reads every version from 1 up to this one;
// a file of a newer version is refused with a message saying so. Version 2 added the
// checksums (kChecksumsKey, required from 2 on); version-1 files load without that check.
inline constexpr int kFormatVersion = 2;

// The library version recorded in the files this build writes (informational only; loading
// never depends on it): project(VERSION) in CMakeLists.txt, through util/version.hpp.
inline constexpr const char* kLibraryVersion = BACKPROP_VERSION_STRING;

// The __metadata__ keys of a model file (all values are strings; the structured ones hold
// JSON text).
namespace keys {
inline constexpr const char* kFormatVersion = "backprop.format_version";    // "2"
inline constexpr const char* kLibraryVersion = "backprop.library_version";  // "0.2.0"
inline constexpr const char* kArchitecture = "backprop.architecture";       // JSON: Module::config()
inline constexpr const char* kTask = "backprop.task";                       // "multiclass", …
inline constexpr const char* kClassNames = "backprop.class_names";          // JSON array of strings
inline constexpr const char* kPreprocessing = "backprop.preprocessing";     // JSON (null if none)
inline constexpr const char* kCalibrator = "backprop.calibrator";           // JSON (null if none)
inline constexpr const char* kExtra = "backprop.extra";                     // JSON (null if none)
inline constexpr const char* kChecksums = kChecksumsKey;                    // JSON; see safetensors.hpp
// A tree learner's file has this instead of kArchitecture: learners::Stored::meta (kind,
// options, n_features, n_classes, ...), its arrays stored as tensors named kLearnerPrefix + name.
inline constexpr const char* kLearner = "backprop.learner";                 // JSON: Stored::meta
inline constexpr const char* kLearnerPrefix = "learner.";
// A quantized network's file (nn::QuantizedNet, `backprop quantize`) has this instead of
// kArchitecture: QuantizedNet::Stored::meta; its arrays are tensors named kQuantizedPrefix +
// "<stage>.<array>", the weights stored as BF16 or I8.
inline constexpr const char* kQuantized = "backprop.quantized";             // JSON: QuantizedNet::config()
inline constexpr const char* kQuantizedPrefix = "q.";
}  // namespace keys

// Everything a model file holds besides the module. The JSON parts belong to their owners
// (data/ for preprocessing, eval/ for the calibrator); load_model only checks them, through
// those owners' public API, against the task, the class names and the architecture.
struct ModelInfo {
  Task task = Task::Multiclass;
  std::vector<std::string> class_names;  // index = class id; empty for regression or if unknown
  nlohmann::json preprocessing;          // null: none
  nlohmann::json calibrator;             // null: none
  nlohmann::json extra;                  // anything else worth keeping (training options, metrics, …)
};

// A network (`module`) or a tree learner (`learner`, docs/trees.md): exactly one is set. A
// quantized network (nn::QuantizedNet) is a `module` too: dynamic_cast tells it apart.
struct ModelFile {
  std::unique_ptr<nn::Module> module;
  std::unique_ptr<learners::Learner> learner;
  ModelInfo info;
  // Filled by load_model from the file; ignored by save_model.
  int format_version = kFormatVersion;
  std::string library_version;
};

// Saves `module` (architecture from config(), parameters by parameter_names(), buffers by
// buffer_names(); a nn::QuantizedNet as kQuantized and its arrays) and `info` to `path`, atomically: on failure `path` is untouched and no
// temporary file is left. Refuses (ModelFileError) a module with NaN or infinite weights,
// duplicate tensor names, or JSON that is not valid UTF-8.
void save_model(const std::filesystem::path& path, nn::Module& module, const ModelInfo& info);
void save_model(const std::filesystem::path& path, const ModelFile& file);
// A fitted tree learner: its save() as kLearner plus "learner."-prefixed tensors, and `info`
// (classification only: a regression task is refused).
void save_model(const std::filesystem::path& path, const learners::Learner& learner, const ModelInfo& info);

// Reads `path`, checks everything (container, checksums, format version, metadata, architecture,
// that the tensors are exactly the architecture's parameters and buffers with their shapes,
// that every weight is finite, and that the metadata fields agree with each other: see
// docs/model-files.md), rebuilds the module with nn::module_from_config and copies the weights
// in. The module comes back in eval mode (set_training(false)). A learner's file (kLearner)
// comes back as `learner`, validated by learners::load_learner, its classes and features
// checked against the task, the class names and the preprocessing. Throws ModelFileError.
ModelFile load_model(const std::filesystem::path& path);

// The same from a container already read (read_safetensors / parse_safetensors); `path` names
// it in messages.
ModelFile load_model(const std::filesystem::path& path, const SafeTensorsFile& file);

// Loads the weights of `path` into an existing module, which must have exactly the file's
// tensors with their shapes; if the file records an architecture, it must equal
// module.config() (so a file for another architecture is refused even where the shapes
// happen to fit). Nothing is copied unless everything fits. Works for any F32 safetensors
// file whose names match, such as one written from Python. Throws ModelFileError.
void load_weights(const std::filesystem::path& path, nn::Module& module);

}  // namespace bp::io
