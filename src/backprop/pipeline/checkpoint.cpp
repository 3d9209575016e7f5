#include "backprop/pipeline/checkpoint.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "backprop/pipeline/errors.hpp"
#include "backprop/util/task.hpp"

namespace bp::pipeline {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double number_from(const json& j, double if_null) { return j.is_null() ? if_null : j.get<double>(); }
const double kNaN = std::numeric_limits<double>::quiet_NaN();

json scores_to_json(const train::Scores& s) { return {{"loss", number(s.loss)}, {"accuracy", number(s.accuracy)}}; }
train::Scores scores_from_json(const json& j) {
  train::Scores s;
  s.loss = number_from(j.at("loss"), kNaN);
  s.accuracy = number_from(j.at("accuracy"), kNaN);
  return s;
}

json epoch_to_json(const train::EpochStats& e) {
  return {{"epoch", e.epoch},
          {"epochs", e.epochs},
          {"lr", e.lr},
          {"train", scores_to_json(e.train)},
          {"validation", scores_to_json(e.validation)},
          {"seconds", e.seconds},
          {"samples_per_second", e.samples_per_second}};
}
train::EpochStats epoch_from_json(const json& j) {
  train::EpochStats e;
  e.epoch = j.at("epoch").get<int>();
  e.epochs = j.at("epochs").get<int>();
  e.lr = j.at("lr").get<float>();
  e.train = scores_from_json(j.at("train"));
  e.validation = scores_from_json(j.at("validation"));
  e.seconds = j.at("seconds").get<double>();
  e.samples_per_second = j.at("samples_per_second").get<double>();
  return e;
}

// The network's tensors under their model-file names (parameters, then buffers).
std::vector<std::pair<std::string, Tensor>> network_tensors(nn::Module& m) {
  std::vector<std::pair<std::string, Tensor>> out;
  const auto params = m.parameters();
  const auto pnames = m.parameter_names();
  for (size_t i = 0; i < params.size(); ++i) out.emplace_back(pnames.at(i), params[i].value());
  const auto bufs = m.buffers();
  const auto bnames = m.buffer_names();
  for (size_t i = 0; i < bufs.size(); ++i) out.emplace_back(bnames.at(i), *bufs[i]);
  return out;
}

Tensor vector_tensor(const std::vector<float>& v) {
  Tensor t({static_cast<int64_t>(v.size())});
  if (!v.empty()) std::memcpy(t.data(), v.data(), sizeof(float) * v.size());
  return t;
}

}  // namespace

json state_to_json(const train::TrainState& s) {
  json history = json::array();
  for (const auto& e : s.history) history.push_back(epoch_to_json(e));
  return {{"epoch", s.epoch},
          {"batch", s.batch},
          {"steps", s.steps},
          {"base_lr", s.base_lr},
          {"loss_sum", s.loss_sum},
          {"correct", s.correct},
          {"done", s.done},
          {"seconds", s.seconds},
          {"best", number(s.best)},
          {"best_epoch", s.best_epoch},
          {"since_best", s.since_best},
          {"best_weights", !s.best_weights.empty()},
          {"history", history},
          {"stopped_early", s.stopped_early},
          {"finished", s.finished}};
}

train::TrainState state_from_json(const json& j) {
  train::TrainState s;
  try {
    s.epoch = j.at("epoch").get<int>();
    s.batch = j.at("batch").get<int64_t>();
    s.steps = j.at("steps").get<int64_t>();
    s.base_lr = j.at("base_lr").get<float>();
    s.loss_sum = j.at("loss_sum").get<double>();
    s.correct = j.at("correct").get<int64_t>();
    s.done = j.at("done").get<int64_t>();
    s.seconds = j.at("seconds").get<double>();
    s.best = number_from(j.at("best"), std::numeric_limits<double>::infinity());
    s.best_epoch = j.at("best_epoch").get<int>();
    s.since_best = j.at("since_best").get<int>();
    for (const auto& e : j.at("history")) s.history.push_back(epoch_from_json(e));
    s.stopped_early = j.at("stopped_early").get<bool>();
    s.finished = j.at("finished").get<bool>();
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("training state: ") + e.what());
  }
  return s;
}

json spec_json(const TrainSpec& spec) {
  json acts = json::array();
  for (auto a : spec.model.activations) acts.push_back(nn::to_string(a));
  return {{"model", {{"name", spec.model.name},
                     {"hidden", spec.model.hidden},
                     {"activations", acts},
                     {"seed", spec.model.seed},
                     {"init", spec.model.init ? json(nn::to_string(*spec.model.init)) : json(nullptr)}}},
          {"learner_options", spec.learner_options},
          {"optimizer", {{"name", spec.optimizer.name},
                         {"lr", spec.optimizer.lr},
                         {"momentum", spec.optimizer.momentum},
                         {"weight_decay", spec.optimizer.weight_decay}}},
          {"fit", {{"epochs", spec.fit.epochs},
                   {"batch_size", spec.fit.batch_size},
                   {"seed", spec.fit.seed},
                   {"loss", train::to_string(spec.fit.loss)},
                   {"schedule", spec.fit.schedule},
                   {"patience", spec.fit.patience}}},
          {"validation_fraction", spec.validation_fraction},
          {"validation_seed", spec.validation_seed}};
}

void save_checkpoint(const fs::path& path, const CheckpointContent& c) {
  io::NamedTensors tensors;
  for (auto& [name, t] : network_tensors(c.model)) tensors.emplace_back(name, t);
  json buffers = json::array();
  for (const auto& [name, values] : c.optimizer.state_buffers()) {
    tensors.emplace_back(std::string(kCheckpointPrefix) + "optimizer." + name, vector_tensor(*values));
    buffers.push_back(name);
  }
  if (!c.state.best_weights.empty()) {
    const auto pnames = c.model.parameter_names();
    for (size_t i = 0; i < c.state.best_weights.size(); ++i)
      tensors.emplace_back(std::string(kCheckpointPrefix) + "best." + pnames.at(i), c.state.best_weights[i]);
  }
  json generators = json::array();
  for (const Rng* g : c.model.generators()) generators.push_back(g->state());
  json names = json::array();
  for (const auto& n : c.class_names) names.push_back(n);
  const json entry = {{"format", "backprop.checkpoint"},
                      {"version", kCheckpointVersion},
                      {"run", c.run},
                      {"plan", {{"epochs", c.plan.epochs},
                                {"validation_fraction", c.plan.validation_fraction},
                                {"patience", c.plan.patience}}},
                      {"state", state_to_json(c.state)},
                      {"optimizer", {{"name", c.optimizer.name()}, {"steps", c.optimizer.steps()}, {"buffers", buffers}}},
                      {"generators", generators}};
  std::map<std::string, std::string> meta{
      {io::keys::kFormatVersion, std::to_string(io::kFormatVersion)},
      {io::keys::kLibraryVersion, io::kLibraryVersion},
      {io::keys::kArchitecture, c.model.config().dump()},
      {io::keys::kTask, to_string(c.task)},
      {io::keys::kClassNames, names.dump()},
      {io::keys::kPreprocessing, c.preprocessing.dump()},
      {kCheckpointKey, ""}};
  try {
    meta[kCheckpointKey] = entry.dump();
  } catch (const json::exception& e) {  // text that is not UTF-8 in the options
    throw io::ModelFileError(path, std::string("cannot write the checkpoint entry: ") + e.what());
  }
  io::write_safetensors(path, tensors, meta, /*checksums=*/true);
}

Checkpoint load_checkpoint(const fs::path& path) {
  const io::SafeTensorsFile file = io::read_safetensors(path);  // container and checksums
  auto bad = [&](const std::string& problem) { return io::ModelFileError(path, problem); };
  const auto it = file.metadata.find(kCheckpointKey);
  if (it == file.metadata.end())
    throw bad(std::string("not a checkpoint (no '") + kCheckpointKey +
              "' metadata entry): a model file? `backprop train --resume` takes the file written by --checkpoint");
  // The network part is a model file: the same checks.
  io::SafeTensorsFile net;
  net.metadata = file.metadata;
  net.metadata.erase(kCheckpointKey);
  net.has_metadata = true;
  net.has_checksums = file.has_checksums;
  std::map<std::string, Tensor> extra;
  const std::string prefix = kCheckpointPrefix;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(prefix, 0) == 0)
      extra.emplace(name.substr(prefix.size()), t);
    else
      net.tensors.emplace_back(name, t);
  }
  Checkpoint c;
  c.path = path;
  c.model = io::load_model(path, net);
  if (!c.model.module) throw bad("a checkpoint holds a network, not a tree learner");
  nn::Module& m = *c.model.module;

  json j;
  try {
    j = json::parse(it->second);
  } catch (const json::exception& e) {
    throw bad(std::string("metadata '") + kCheckpointKey + "' is not JSON: " + e.what());
  }
  const std::string where = std::string("metadata '") + kCheckpointKey + "': ";
  try {
    if (!j.is_object() || j.value("format", "") != "backprop.checkpoint") throw bad(where + "not a checkpoint entry");
    const int version = j.at("version").get<int>();
    if (version > kCheckpointVersion)
      throw bad(where + "checkpoint version " + std::to_string(version) + " is newer than this build reads (up to " +
                std::to_string(kCheckpointVersion) + "): upgrade backprop to resume it");
    if (version < 1) throw bad(where + "bad version " + std::to_string(version));
    c.run = j.at("run");
    const json& plan = j.at("plan");
    c.plan.epochs = plan.at("epochs").get<int>();
    c.plan.validation_fraction = plan.at("validation_fraction").get<double>();
    c.plan.patience = plan.at("patience").get<int>();
    c.state = state_from_json(j.at("state"));
    const json& opt = j.at("optimizer");
    c.optimizer = opt.at("name").get<std::string>();
    c.optimizer_steps = opt.at("steps").get<int64_t>();
    for (const auto& g : j.at("generators")) c.generators.push_back(g.get<std::string>());
    for (const auto& b : opt.at("buffers")) c.optimizer_buffers.emplace_back(b.get<std::string>(), std::vector<float>());
    if (j.at("state").at("best_weights").get<bool>()) c.state.best_weights.resize(m.parameters().size());
  } catch (const json::exception& e) {
    throw bad(where + e.what());
  } catch (const std::invalid_argument& e) {
    throw bad(where + e.what());
  }

  // Every part must fit the network and each other.
  int64_t floats = 0;
  const auto params = m.parameters();
  for (const auto& p : params) floats += p.numel();
  const auto pnames = m.parameter_names();
  size_t used = 0;
  for (auto& [name, values] : c.optimizer_buffers) {
    auto t = extra.find("optimizer." + name);
    if (t == extra.end()) throw bad(where + "the optimizer buffer '" + name + "' has no tensor");
    if (t->second.numel() != floats)
      throw bad("tensor '" + prefix + t->first + "' holds " + std::to_string(t->second.numel()) + " values for " +
                std::to_string(floats) + " parameters");
    values.assign(t->second.data(), t->second.data() + t->second.numel());
    ++used;
  }
  for (size_t i = 0; i < c.state.best_weights.size(); ++i) {
    auto t = extra.find("best." + pnames[i]);
    if (t == extra.end()) throw bad(where + "the best weights lack '" + pnames[i] + "'");
    if (t->second.shape() != params[i].value().shape())
      throw bad("tensor '" + prefix + t->first + "' does not have the shape of parameter '" + pnames[i] + "'");
    c.state.best_weights[i] = t->second;
    ++used;
  }
  if (used != extra.size()) throw bad("tensors under '" + prefix + "' that the checkpoint entry does not name");
  const auto gens = m.generators();
  if (gens.size() != c.generators.size())
    throw bad(where + std::to_string(c.generators.size()) + " generator states for a network with " +
              std::to_string(gens.size()));
  for (const auto& g : c.generators) {
    Rng probe;
    try {
      probe.set_state(g);
    } catch (const std::invalid_argument& e) {
      throw bad(where + e.what());
    }
  }
  const train::TrainState& s = c.state;
  if (c.plan.epochs <= 0 || s.epoch < 0 || s.epoch > c.plan.epochs || s.batch < 0 || s.steps < 0 ||
      c.optimizer_steps < 0 || static_cast<int>(s.history.size()) != s.epoch ||
      s.best_epoch < 0 || s.best_epoch > s.epoch || s.since_best < 0 || s.done < 0 || s.correct < 0 ||
      s.correct > s.done || (s.batch == 0) != (s.done == 0) || !std::isfinite(s.loss_sum) || !(s.base_lr > 0) ||
      (s.stopped_early && !s.finished) || (s.finished && s.batch != 0))
    throw bad(where + "the training position does not add up (epoch " + std::to_string(s.epoch) + " of " +
              std::to_string(c.plan.epochs) + ", batch " + std::to_string(s.batch) + ", " + std::to_string(s.steps) +
              " steps, " + std::to_string(s.history.size()) + " epochs of history)");
  return c;
}

void restore_checkpoint(const Checkpoint& c, nn::Module& model, optim::Optimizer& opt, train::TrainState& state) {
  if (c.model.module->config() != model.config())
    throw UsageError(c.path.string() + ": the checkpoint's network is not the one these options build (checkpoint: " +
                     c.model.module->config().dump() + "; options: " + model.config().dump() + ")");
  if (c.optimizer != opt.name())
    throw UsageError(c.path.string() + ": the checkpoint's optimizer is " + c.optimizer + ", not " + opt.name());
  auto bufs = opt.state_buffers();
  if (bufs.size() != c.optimizer_buffers.size())
    throw UsageError(c.path.string() + ": the checkpoint's optimizer state does not fit " + opt.name());
  for (size_t i = 0; i < bufs.size(); ++i) {
    const auto& [name, values] = c.optimizer_buffers[i];
    if (name != bufs[i].first || values.size() != bufs[i].second->size())
      throw UsageError(c.path.string() + ": the checkpoint's optimizer buffer '" + name + "' does not fit " + opt.name());
  }
  auto gens = model.generators();
  if (gens.size() != c.generators.size())
    throw UsageError(c.path.string() + ": the checkpoint holds " + std::to_string(c.generators.size()) +
                     " random generators, the network " + std::to_string(gens.size()));
  // Everything fits: copy.
  std::vector<Var> dst = model.parameters(), src = c.model.module->parameters();
  for (size_t i = 0; i < dst.size(); ++i) dst[i].value().copy_from(src[i].value());
  std::vector<Tensor*> dst_b = model.buffers(), src_b = c.model.module->buffers();
  for (size_t i = 0; i < dst_b.size(); ++i) dst_b[i]->copy_from(*src_b[i]);
  for (size_t i = 0; i < bufs.size(); ++i) *bufs[i].second = c.optimizer_buffers[i].second;
  opt.set_steps(c.optimizer_steps);
  for (size_t i = 0; i < gens.size(); ++i) gens[i]->set_state(c.generators[i]);
  state = c.state;
}

}  // namespace bp::pipeline
