// Rebuilding modules from their config(): the one place that knows every layer type.
#include <stdexcept>

#include "backprop/nn/module.hpp"

namespace bp::nn {

namespace {
template <class T>
T get(const nlohmann::json& cfg, const char* key) {
  if (!cfg.contains(key)) throw std::invalid_argument(std::string("layer config lacks '") + key + "': " + cfg.dump());
  try {
    return cfg.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(std::string("layer config has a bad '") + key + "': " + cfg.dump());
  }
}
}  // namespace

std::unique_ptr<Module> module_from_config(const nlohmann::json& cfg, Rng& rng) {
  if (!cfg.is_object()) throw std::invalid_argument("layer config must be an object: " + cfg.dump());
  const std::string type = get<std::string>(cfg, "type");
  if (type == "linear") {
    return std::make_unique<Linear>(get<int64_t>(cfg, "in"), get<int64_t>(cfg, "out"), get<bool>(cfg, "bias"),
                                    Init::Glorot, rng);
  }
  if (type == "activation") return std::make_unique<Activation>(act_from_string(get<std::string>(cfg, "act")));
  if (type == "flatten") return std::make_unique<Flatten>();
  if (type == "sequential") {
    auto seq = std::make_unique<Sequential>();
    const auto layers = get<nlohmann::json>(cfg, "layers");
    if (!layers.is_array()) throw std::invalid_argument("sequential config: 'layers' must be an array");
    for (const auto& l : layers) seq->add(module_from_config(l, rng));
    return seq;
  }
  throw std::invalid_argument("unknown layer type '" + type + "'");
}

}  // namespace bp::nn
