#include "backprop/io/model_file.hpp"

#include <limits>
#include <map>

#include "backprop/util/rng.hpp"

namespace bp::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A module's tensors, by the names a model file gives them: parameters, then buffers.
struct Slots {
  std::vector<Var> params;  // keeps the parameters' nodes alive while `tensors` points into them
  std::vector<std::pair<std::string, Tensor*>> tensors;
};

Slots slots_of(nn::Module& m) {
  Slots s;
  s.params = m.parameters();
  const auto pnames = m.parameter_names();
  auto buffers = m.buffers();
  const auto bnames = m.buffer_names();
  if (pnames.size() != s.params.size() || bnames.size() != buffers.size())
    throw std::logic_error("module '" + m.type() +
                           "': parameter_names()/buffer_names() do not match parameters()/buffers()");
  for (size_t i = 0; i < s.params.size(); ++i) s.tensors.emplace_back(pnames[i], &s.params[i].value());
  for (size_t i = 0; i < buffers.size(); ++i) s.tensors.emplace_back(bnames[i], buffers[i]);
  return s;
}

std::string dump_json(const fs::path& path, const char* key, const json& j) {
  try {
    return j.dump();
  } catch (const json::exception& e) {
    throw ModelFileError(path, std::string("cannot write metadata '") + key + "': " + e.what());
  }
}

// Checks that the file's tensors are exactly the module's, with the same shapes and finite
// values, then copies them in. Nothing is copied unless everything fits.
void check_and_copy(const fs::path& path, const SafeTensorsFile& file, Slots& slots) {
  const std::string misfit = "the file does not fit the architecture: ";
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : file.tensors) by_name[name] = &t;
  std::vector<const Tensor*> src;
  for (const auto& [name, dst] : slots.tensors) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw ModelFileError(path, misfit + "it lacks tensor '" + name + "'");
    if (it->second->shape() != dst->shape())
      throw ModelFileError(path, misfit + "tensor '" + name + "' has shape " + shape_str(it->second->shape()) +
                                     " where the architecture has " + shape_str(dst->shape()));
    src.push_back(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw ModelFileError(
        path, misfit + "it has tensor '" + by_name.begin()->first + "', which the architecture does not have");
  for (size_t i = 0; i < src.size(); ++i)
    if (!src[i]->all_finite())
      throw ModelFileError(path, "tensor '" + slots.tensors[i].first +
                                     "' holds NaN or infinite values; refusing a model with non-finite weights");
  for (size_t i = 0; i < src.size(); ++i) slots.tensors[i].second->copy_from(*src[i]);
}

// A metadata value that holds JSON text.
json parse_meta(const fs::path& path, const SafeTensorsFile& f, const char* key, bool required) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) {
    if (required)
      throw ModelFileError(path, std::string("not a backprop model file: __metadata__ lacks '") + key + "'");
    return json();
  }
  try {
    return json::parse(it->second);
  } catch (const json::exception& e) {
    throw ModelFileError(path, std::string("metadata '") + key + "' is not valid JSON (" + e.what() + ")");
  }
}

std::unique_ptr<nn::Module> build(const fs::path& path, const json& arch) {
  Rng rng(0);  // the initial weights are overwritten
  try {
    return nn::module_from_config(arch, rng);
  } catch (const std::bad_alloc&) {
    throw ModelFileError(path, "the architecture is too large to build");
  } catch (const std::exception& e) {
    throw ModelFileError(path, std::string("the architecture is invalid: ") + e.what());
  }
}

int parse_format_version(const fs::path& path, const SafeTensorsFile& f) {
  if (!f.has_metadata)
    throw ModelFileError(path,
                         "not a backprop model file: the header has no __metadata__ (a bare weights file? "
                         "load_weights() reads those into a module you build)");
  auto it = f.metadata.find(keys::kFormatVersion);
  if (it == f.metadata.end())
    throw ModelFileError(path,
                         std::string("not a backprop model file: __metadata__ lacks '") + keys::kFormatVersion + "'");
  const std::string& s = it->second;
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
    throw ModelFileError(path, "format version '" + s + "' is not a number");
  const int v = s.size() > 9 ? std::numeric_limits<int>::max() : std::stoi(s);
  if (v < 1) throw ModelFileError(path, "format version " + s + " is invalid (versions start at 1)");
  if (v > kFormatVersion)
    throw ModelFileError(path, "format version " + s + " is newer than this build of backprop reads (up to " +
                                   std::to_string(kFormatVersion) + "): upgrade backprop to load it");
  return v;
}

}  // namespace

void save_model(const fs::path& path, nn::Module& module, const ModelInfo& info) {
  Slots slots = slots_of(module);
  NamedTensors tensors;
  for (const auto& [name, t] : slots.tensors) {
    if (!t->all_finite())
      throw ModelFileError(path,
                           "tensor '" + name + "' holds NaN or infinite values; refusing to save a diverged model");
    tensors.emplace_back(name, *t);
  }
  json names = json::array();
  for (const auto& n : info.class_names) names.push_back(n);
  const std::map<std::string, std::string> meta{
      {keys::kFormatVersion, std::to_string(kFormatVersion)},
      {keys::kLibraryVersion, kLibraryVersion},
      {keys::kArchitecture, dump_json(path, keys::kArchitecture, module.config())},
      {keys::kTask, to_string(info.task)},
      {keys::kClassNames, dump_json(path, keys::kClassNames, names)},
      {keys::kPreprocessing, dump_json(path, keys::kPreprocessing, info.preprocessing)},
      {keys::kCalibrator, dump_json(path, keys::kCalibrator, info.calibrator)},
      {keys::kExtra, dump_json(path, keys::kExtra, info.extra)},
  };
  write_safetensors(path, tensors, meta);
}

void save_model(const fs::path& path, const ModelFile& file) {
  if (!file.module) throw ModelFileError(path, "cannot save a ModelFile without a module");
  save_model(path, *file.module, file.info);
}

ModelFile load_model(const fs::path& path) {
  const SafeTensorsFile f = read_safetensors(path);
  ModelFile out;
  out.format_version = parse_format_version(path, f);
  // Format version 1 is the only one so far; a later version that changes the metadata
  // converts older files here, so that they keep loading.
  if (auto it = f.metadata.find(keys::kLibraryVersion); it != f.metadata.end()) out.library_version = it->second;

  auto task = f.metadata.find(keys::kTask);
  if (task == f.metadata.end())
    throw ModelFileError(path, std::string("not a backprop model file: __metadata__ lacks '") + keys::kTask + "'");
  try {
    out.info.task = task_from_string(task->second);
  } catch (const std::exception& e) {
    throw ModelFileError(path, std::string("metadata '") + keys::kTask + "': " + e.what());
  }
  const json names = parse_meta(path, f, keys::kClassNames, false);
  if (!names.is_null()) {
    if (!names.is_array())
      throw ModelFileError(path, std::string("metadata '") + keys::kClassNames + "' is not an array");
    for (const auto& n : names) {
      if (!n.is_string())
        throw ModelFileError(path, std::string("metadata '") + keys::kClassNames + "' holds a non-string: " + n.dump());
      out.info.class_names.push_back(n.get<std::string>());
    }
  }
  out.info.preprocessing = parse_meta(path, f, keys::kPreprocessing, false);
  out.info.calibrator = parse_meta(path, f, keys::kCalibrator, false);
  out.info.extra = parse_meta(path, f, keys::kExtra, false);

  out.module = build(path, parse_meta(path, f, keys::kArchitecture, true));
  Slots slots = slots_of(*out.module);
  check_and_copy(path, f, slots);
  out.module->set_training(false);
  return out;
}

void load_weights(const fs::path& path, nn::Module& module) {
  const SafeTensorsFile f = read_safetensors(path);
  if (f.metadata.count(keys::kFormatVersion)) parse_format_version(path, f);  // refuses newer files
  if (f.metadata.count(keys::kArchitecture)) {
    // Compare both architectures as the factory rebuilds them, so that a setting config()
    // records but the factory does not use cannot make equal architectures differ.
    const json theirs = build(path, parse_meta(path, f, keys::kArchitecture, true))->config();
    const json ours = build(path, module.config())->config();
    if (theirs != ours)
      throw ModelFileError(
          path, "the file's architecture differs from the module's: file " + theirs.dump() + ", module " + ours.dump());
  }
  Slots slots = slots_of(module);
  check_and_copy(path, f, slots);
}

}  // namespace bp::io
