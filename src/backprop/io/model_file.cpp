#include "backprop/io/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "backprop/autograd/var.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/eval/calibration.hpp"
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

std::string quoted(const char* key) { return std::string("'") + key + "'"; }

uint64_t file_floats(const SafeTensorsFile& f) {
  uint64_t n = 0;
  for (const auto& [name, t] : f.tensors) n += static_cast<uint64_t>(t.numel());
  return n;
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

// A lower bound on the number of floats (parameters and buffers) the layers of `cfg` hold, from
// the settings of the layer types whose size grows with them; saturating. Building allocates
// and initialises those weights before the file's tensors can be compared with them, so a few
// edited digits ("in": 100000, "out": 100000) would otherwise make a 1 kB file allocate 40 GB.
uint64_t min_weights(const json& cfg) {
  if (!cfg.is_object()) return 0;
  auto num = [&](const char* k) -> uint64_t {
    if (!cfg.contains(k) || !cfg.at(k).is_number_integer()) return 0;
    const int64_t v = cfg.at(k).get<int64_t>();
    return v > 0 ? static_cast<uint64_t>(v) : 0;
  };
  auto mul = [](uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
  };
  auto add = [](uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
  };
  const std::string type = cfg.contains("type") && cfg.at("type").is_string() ? cfg.at("type").get<std::string>() : "";
  if (type == "linear") return mul(num("in"), num("out"));
  if (type == "conv2d") {
    const uint64_t groups = std::max<uint64_t>(num("groups"), 1);
    return mul(mul(num("out"), num("in") / groups), mul(num("kernel"), num("kernel")));
  }
  if (type == "batch_norm1d" || type == "batch_norm2d") return mul(num("channels"), 2);  // running mean and variance
  uint64_t total = 0;
  if (type == "sequential" && cfg.contains("layers") && cfg.at("layers").is_array())
    for (const json& l : cfg.at("layers")) total = add(total, min_weights(l));
  if (type == "residual") {
    if (cfg.contains("block")) total = add(total, min_weights(cfg.at("block")));
    if (cfg.contains("projection")) total = add(total, min_weights(cfg.at("projection")));
  }
  return total;
}

// Builds the architecture `arch`, whose weights the file holds `file_floats` of (the builder
// refuses an architecture that needs more, before allocating them).
std::unique_ptr<nn::Module> build(const fs::path& path, const json& arch,
                                  uint64_t file_floats = std::numeric_limits<uint64_t>::max()) {
  if (const uint64_t need = min_weights(arch); need > file_floats)
    throw ModelFileError(path, "the file does not fit the architecture: " + quoted(keys::kArchitecture) +
                                   " needs at least " + std::to_string(need) + " weights, the file holds " +
                                   std::to_string(file_floats));
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


// ---- cross-validation of the metadata fields ---------------------------------------------------

std::string names_str(const std::vector<std::string>& v) { return json(v).dump(); }

// What the preprocessing says about the data the model was trained on.
struct DataFacts {
  int64_t width = 0;                     // encoded features per example: the network's input width
  Task task = Task::Multiclass;
  std::vector<std::string> class_names;  // empty for regression
};

// The only place io reads the preprocessing JSON, through its owners' public API (data/); the
// shapes it knows are those app/source.cpp writes: {"kind": "csv", "preprocessor": <the
// Preprocessor's to_json()>} and {"kind": "fashion-mnist", "center": c, "scale": s}. Null: no
// preprocessing (a model saved by a library user), nothing to check against.
std::optional<DataFacts> data_facts(const fs::path& path, const json& prep) {
  if (prep.is_null()) return std::nullopt;
  // The data module reads every form it ever wrote (version 2, and the older
  // {"kind": "csv" | "fashion-mnist"} wrappers), and validates it while reading.
  data::Preprocessor p;
  try {
    p = data::Preprocessor::from_json(prep);
  } catch (const std::exception& e) {
    throw ModelFileError(path, "metadata " + quoted(keys::kPreprocessing) + " is invalid: " + e.what());
  }
  DataFacts f;
  f.width = p.num_features();
  f.task = p.task();
  if (p.is_classification()) f.class_names = p.class_names();
  return f;
}

// The number of outputs of the last linear layer of a config, where the config ends in one
// (walking into nested sequentials); nullopt when it cannot tell.
std::optional<int64_t> last_linear_outputs(const json& cfg) {
  if (!cfg.is_object()) return std::nullopt;
  const std::string type = cfg.value("type", "");
  if (type == "linear" && cfg.contains("out") && cfg.at("out").is_number_integer()) return cfg.at("out").get<int64_t>();
  if (type == "sequential" && cfg.contains("layers") && cfg.at("layers").is_array() && !cfg.at("layers").empty())
    return last_linear_outputs(cfg.at("layers").back());
  return std::nullopt;
}

// The network's output width for inputs of `width` features, found by running it on one row of
// zeros (architecture-independent: a CNN's first layer reshapes the row). The module is in eval
// mode. A network that does not take such rows disagrees with the preprocessing.
int64_t outputs_for_width(const fs::path& path, nn::Module& module, int64_t width) {
  Tensor out;
  try {
    autograd::NoGradGuard ng;
    out = module.forward(Var(Tensor({1, width}, 0.f))).value();
  } catch (const std::bad_alloc&) {
    throw ModelFileError(path, "metadata " + quoted(keys::kArchitecture) + " is too large to run");
  } catch (const std::exception& e) {
    throw ModelFileError(path, "metadata " + quoted(keys::kArchitecture) + " does not take the " +
                                   std::to_string(width) + " input features that " + quoted(keys::kPreprocessing) +
                                   " encodes (" + e.what() + ")");
  }
  if (out.ndim() != 2 || out.dim(0) != 1)
    throw ModelFileError(path, "metadata " + quoted(keys::kArchitecture) + " gives outputs of shape " +
                                   shape_str(out.shape()) + " for one example, not (1, k)");
  // Finite weights can still compute NaN (a negative batch-norm variance, say): every
  // prediction would then be NaN, silently.
  if (!out.all_finite())
    throw ModelFileError(path, "the weights give NaN or infinite outputs for an input of zeros (a negative "
                               "variance, or weights too large?); refusing a model that cannot predict");
  return out.dim(1);
}

// Every metadata field against the others. Each disagreement is one ModelFileError naming the
// two fields. Runs after the weights are in (it may run the network once).
void check_consistency(const fs::path& path, const ModelFile& m, const json& arch) {
  // `arch` is the architecture, or for a learner its Stored::meta (n_features, n_classes: load_learner checked them).
  const ModelInfo& info = m.info;
  const std::string names_key = "metadata " + quoted(keys::kClassNames);
  const std::string task_key = quoted(keys::kTask) + " (" + to_string(info.task) + ")";
  const size_t n_names = info.class_names.size();

  // Class names: distinct, and as many as the task allows (none stored is allowed: unknown).
  std::set<std::string> seen;
  for (const auto& n : info.class_names)
    if (!seen.insert(n).second) throw ModelFileError(path, names_key + " has '" + n + "' twice");
  if (info.task == Task::Regression && n_names != 0)
    throw ModelFileError(path, names_key + " (" + std::to_string(n_names) + " names) disagrees with " + task_key +
                                   ": a regression model has no classes");
  if (info.task == Task::Binary && n_names != 0 && n_names != 2)
    throw ModelFileError(path, names_key + " (" + std::to_string(n_names) + " names) disagrees with " + task_key +
                                   ": a binary model has 2 classes");
  if (info.task == Task::Multiclass && n_names == 1)
    throw ModelFileError(path, names_key + " (1 name) disagrees with " + task_key + ": a multi-class model has 2 or more");

  // The preprocessing: the same task and classes (in the same order: label i is class i), and
  // as many input features as the network takes.
  const std::optional<DataFacts> data = data_facts(path, info.preprocessing);
  if (data) {
    if (data->task != info.task)
      throw ModelFileError(path, "metadata " + task_key + " disagrees with " + quoted(keys::kPreprocessing) + " (" +
                                     to_string(data->task) + ")");
    if (data->class_names != info.class_names)
      throw ModelFileError(path, names_key + " " + names_str(info.class_names) + " disagrees with " +
                                     quoted(keys::kPreprocessing) + ", whose classes are " +
                                     names_str(data->class_names) + " (names and order must agree)");
  }

  // A learner: a classifier of K classes (2 for binary, one per class name) on the encoded width.
  if (m.learner) {
    const std::string learner_key = "metadata " + quoted(keys::kLearner);
    const int64_t k = arch.at("n_classes").get<int64_t>(), d = arch.at("n_features").get<int64_t>();
    if (info.task == Task::Regression)
      throw ModelFileError(path, learner_key + " disagrees with " + task_key + ": the tree learners are classifiers");
    if (info.task == Task::Binary && k != 2)
      throw ModelFileError(path, learner_key + " (" + std::to_string(k) + " classes) disagrees with " + task_key +
                                     ", which has 2");
    if (info.task == Task::Multiclass && n_names != 0 && static_cast<size_t>(k) != n_names)
      throw ModelFileError(path, learner_key + " (" + std::to_string(k) + " classes) disagrees with " + names_key.substr(9) +
                                     " (" + std::to_string(n_names) + " names)");
    if (data && d != data->width)
      throw ModelFileError(path, learner_key + " (" + std::to_string(d) + " features) disagrees with " +
                                     quoted(keys::kPreprocessing) + ", which encodes " + std::to_string(data->width));
  }

  // The network's outputs: one for regression and binary (a logit), one per class otherwise.
  std::optional<int64_t> outputs;
  if (m.learner) outputs = std::nullopt;
  else if (data) outputs = outputs_for_width(path, *m.module, data->width);
  else outputs = last_linear_outputs(arch);
  if (outputs) {
    const std::string arch_key = "metadata " + quoted(keys::kArchitecture) + " (" + std::to_string(*outputs) + " output" +
                                 (*outputs == 1 ? "" : "s") + ")";
    if (info.task != Task::Multiclass && *outputs != 1)
      throw ModelFileError(path, arch_key + " disagrees with " + task_key + ", which needs 1 output");
    if (info.task == Task::Multiclass && *outputs < 2)
      throw ModelFileError(path, arch_key + " disagrees with " + task_key + ", which needs 2 or more");
    if (info.task == Task::Multiclass && n_names != 0 && static_cast<size_t>(*outputs) != n_names)
      throw ModelFileError(path, arch_key + " disagrees with " + names_key.substr(9) + " (" + std::to_string(n_names) +
                                     " names)");
  }

  // A calibrator maps a binary model's positive-class score; it is meaningless elsewhere.
  if (!info.calibrator.is_null()) {
    if (info.task != Task::Binary)
      throw ModelFileError(path, "metadata " + quoted(keys::kCalibrator) + " disagrees with " + task_key +
                                     ": only a binary model can have a calibrator");
    try {
      (void)eval::calibrator_from_json(info.calibrator);
    } catch (const std::exception& e) {
      throw ModelFileError(path, "metadata " + quoted(keys::kCalibrator) + " is invalid: " + e.what());
    }
  }
}

}  // namespace

namespace {
void save_quantized(const fs::path& path, const nn::QuantizedNet& q, const ModelInfo& info) {
  nn::QuantizedNet::Stored st = q.save();
  NamedTensors tensors;
  std::map<std::string, std::string> dtypes;
  for (auto& [name, t] : st.arrays) {
    if (!t.all_finite())
      throw ModelFileError(path, "quantized array '" + name + "' holds NaN or infinite values; refusing to save it");
    if (auto it = st.dtypes.find(name); it != st.dtypes.end()) dtypes[keys::kQuantizedPrefix + name.substr(2)] = it->second;
    tensors.emplace_back(keys::kQuantizedPrefix + name.substr(2), std::move(t));
  }
  json names = json::array();
  for (const auto& n : info.class_names) names.push_back(n);
  const std::map<std::string, std::string> meta{
      {keys::kFormatVersion, std::to_string(kFormatVersion)},
      {keys::kLibraryVersion, kLibraryVersion},
      {keys::kQuantized, dump_json(path, keys::kQuantized, st.meta)},
      {keys::kTask, to_string(info.task)},
      {keys::kClassNames, dump_json(path, keys::kClassNames, names)},
      {keys::kPreprocessing, dump_json(path, keys::kPreprocessing, info.preprocessing)},
      {keys::kCalibrator, dump_json(path, keys::kCalibrator, info.calibrator)},
      {keys::kExtra, dump_json(path, keys::kExtra, info.extra)},
  };
  write_safetensors(path, tensors, meta, /*checksums=*/true, dtypes);
}
}  // namespace

void save_model(const fs::path& path, nn::Module& module, const ModelInfo& info) {
  if (const auto* q = dynamic_cast<const nn::QuantizedNet*>(&module)) return save_quantized(path, *q, info);
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
  write_safetensors(path, tensors, meta, /*checksums=*/true);
}

void save_model(const fs::path& path, const ModelFile& file) {
  if (file.learner) return save_model(path, *file.learner, file.info);
  if (!file.module) throw ModelFileError(path, "cannot save a ModelFile without a module");
  save_model(path, *file.module, file.info);
}

void save_model(const fs::path& path, const learners::Learner& learner, const ModelInfo& info) {
  if (info.task == Task::Regression)
    throw ModelFileError(path, "a tree learner is a classifier: it cannot be saved for a regression task");
  learners::Stored st = learner.save();
  NamedTensors tensors;
  for (auto& [name, t] : st.arrays) {
    if (!t.all_finite())
      throw ModelFileError(path, "learner array '" + name + "' holds NaN or infinite values; refusing to save it");
    tensors.emplace_back(keys::kLearnerPrefix + name, std::move(t));
  }
  json names = json::array();
  for (const auto& n : info.class_names) names.push_back(n);
  const std::map<std::string, std::string> meta{
      {keys::kFormatVersion, std::to_string(kFormatVersion)},
      {keys::kLibraryVersion, kLibraryVersion},
      {keys::kLearner, dump_json(path, keys::kLearner, st.meta)},
      {keys::kTask, to_string(info.task)},
      {keys::kClassNames, dump_json(path, keys::kClassNames, names)},
      {keys::kPreprocessing, dump_json(path, keys::kPreprocessing, info.preprocessing)},
      {keys::kCalibrator, dump_json(path, keys::kCalibrator, info.calibrator)},
      {keys::kExtra, dump_json(path, keys::kExtra, info.extra)},
  };
  write_safetensors(path, tensors, meta, /*checksums=*/true);
}

ModelFile load_model(const fs::path& path) { return load_model(path, read_safetensors(path)); }

ModelFile load_model(const fs::path& path, const SafeTensorsFile& f) {
  ModelFile out;
  out.format_version = parse_format_version(path, f);
  // Version 2 added the checksums and nothing else: a version-1 file has none and loads
  // without that check; from version 2 on they are required (read_safetensors verified them).
  // A later version that changes the metadata converts older files here.
  if (out.format_version >= 2 && !f.has_checksums)
    throw ModelFileError(path, "format version " + std::to_string(out.format_version) + " requires '" + keys::kChecksums +
                                   "' in __metadata__, which is missing: the file is corrupt or was edited by hand");
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

  const int kinds = static_cast<int>(f.metadata.count(keys::kArchitecture) + f.metadata.count(keys::kLearner) +
                                     f.metadata.count(keys::kQuantized));
  if (kinds > 1)
    throw ModelFileError(path, std::string("metadata has more than one of '") + keys::kArchitecture + "', '" +
                                   keys::kLearner + "' and '" + keys::kQuantized +
                                   "': a file holds one network, learner or quantized network");
  if (!f.metadata.count(keys::kQuantized) && !f.dtypes.empty())
    throw ModelFileError(path, "tensor '" + f.dtypes.begin()->first + "' is stored as " + f.dtypes.begin()->second +
                                   ": only a quantized model's weights are stored other than F32");
  if (f.metadata.count(keys::kQuantized)) {
    const json meta = parse_meta(path, f, keys::kQuantized, true);
    const std::string prefix = keys::kQuantizedPrefix;
    std::vector<std::pair<std::string, Tensor>> arrays;
    for (const auto& [name, t] : f.tensors) {
      if (name.rfind(prefix, 0) != 0)
        throw ModelFileError(path, "tensor '" + name + "' is not a quantized array (their names begin with '" + prefix + "')");
      arrays.emplace_back("q." + name.substr(prefix.size()), t);
    }
    // The weights must be stored in the quantized type: an F32 weight would be a float model
    // in disguise (and a BF16 one in an int8 model a mix-up).
    const std::string dt = meta.is_object() && meta.contains("dtype") && meta.at("dtype").is_string()
                               ? meta.at("dtype").get<std::string>() : "?";
    const std::string want = dt == "bf16" ? "BF16" : "I8";
    for (const auto& [name, t] : f.tensors) {
      const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
      auto it = f.dtypes.find(name);
      const std::string have = it == f.dtypes.end() ? "F32" : it->second;
      if (weight != (have == want) || (!weight && have != "F32"))
        throw ModelFileError(path, "tensor '" + name + "' is stored as " + have + "; a " + dt +
                                       " model stores its weights as " + want + " and everything else as F32");
    }
    try {
      out.module = nn::QuantizedNet::load(meta, arrays);
    } catch (const std::exception& e) {
      throw ModelFileError(path, "metadata " + quoted(keys::kQuantized) + " and its arrays do not form a valid quantized network: " +
                                     e.what());
    }
    check_consistency(path, out, meta);
    return out;
  }
  if (f.metadata.count(keys::kLearner)) {
    if (f.metadata.count(keys::kArchitecture))
      throw ModelFileError(path, std::string("metadata has both '") + keys::kArchitecture + "' and '" + keys::kLearner +
                                     "': a file holds a network or a learner, not both");
    const json meta = parse_meta(path, f, keys::kLearner, true);
    const std::string prefix = keys::kLearnerPrefix;
    learners::FlatArrays arrays;
    for (const auto& [name, t] : f.tensors) {
      if (name.rfind(prefix, 0) != 0)
        throw ModelFileError(path, "tensor '" + name + "' is not a learner array (their names begin with '" + prefix + "')");
      arrays.emplace_back(name.substr(prefix.size()), t);
    }
    try {
      out.learner = learners::load_learner(meta, arrays);
    } catch (const std::exception& e) {
      throw ModelFileError(path, "metadata " + quoted(keys::kLearner) + " and its arrays do not form a valid learner: " +
                                     e.what());
    }
    check_consistency(path, out, meta);
    return out;
  }
  const json arch = parse_meta(path, f, keys::kArchitecture, true);
  out.module = build(path, arch, file_floats(f));
  Slots slots = slots_of(*out.module);
  check_and_copy(path, f, slots);
  out.module->set_training(false);
  check_consistency(path, out, arch);
  return out;
}

void load_weights(const fs::path& path, nn::Module& module) {
  const SafeTensorsFile f = read_safetensors(path);
  if (f.metadata.count(keys::kFormatVersion)) parse_format_version(path, f);  // refuses newer files
  if (f.metadata.count(keys::kArchitecture)) {
    // Compare both architectures as the factory rebuilds them, so that a setting config()
    // records but the factory does not use cannot make equal architectures differ.
    const json theirs = build(path, parse_meta(path, f, keys::kArchitecture, true), file_floats(f))->config();
    const json ours = build(path, module.config())->config();
    if (theirs != ours)
      throw ModelFileError(
          path, "the file's architecture differs from the module's: file " + theirs.dump() + ", module " + ours.dump());
  }
  Slots slots = slots_of(module);
  check_and_copy(path, f, slots);
}

}  // namespace bp::io
