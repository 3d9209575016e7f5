// Rebuilding modules from their config(): the one place that knows every layer type.
#include <stdexcept>

#include "backprop/nn/layers.hpp"

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
  // ---- the other families (nn/layers.hpp lists their headers)
  if (type == "conv2d") {
    Conv2dOptions o{.kernel = get<int64_t>(cfg, "kernel"), .stride = get<int64_t>(cfg, "stride"),
                    .padding = get<int64_t>(cfg, "padding"), .dilation = get<int64_t>(cfg, "dilation"),
                    .groups = get<int64_t>(cfg, "groups"), .bias = get<bool>(cfg, "bias")};
    if (cfg.contains("act")) o.act = act_from_string(get<std::string>(cfg, "act"));
    return std::make_unique<Conv2d>(get<int64_t>(cfg, "in"), get<int64_t>(cfg, "out"), o, rng);
  }
  if (type == "max_pool2d")
    return std::make_unique<MaxPool2d>(get<int64_t>(cfg, "kernel"), get<int64_t>(cfg, "stride"), get<int64_t>(cfg, "padding"));
  if (type == "avg_pool2d")
    return std::make_unique<AvgPool2d>(get<int64_t>(cfg, "kernel"), get<int64_t>(cfg, "stride"), get<int64_t>(cfg, "padding"));
  if (type == "global_avg_pool2d") return std::make_unique<GlobalAvgPool2d>();
  if (type == "dropout") return std::make_unique<Dropout>(get<float>(cfg, "p"), get<uint64_t>(cfg, "seed"));
  if (type == "batch_norm1d" || type == "batch_norm2d")
    return std::make_unique<BatchNorm>(get<int64_t>(cfg, "channels"), type == "batch_norm1d" ? 1 : 2,
                                       get<float>(cfg, "momentum"), get<float>(cfg, "eps"), get<bool>(cfg, "affine"),
                                       cfg.contains("act") ? act_from_string(get<std::string>(cfg, "act")) : Act::Identity);
  if (type == "reshape") return std::make_unique<Reshape>(get<Shape>(cfg, "shape"));
  if (type == "random_shift_flip")
    return std::make_unique<RandomShiftFlip>(get<int64_t>(cfg, "max_shift"), get<bool>(cfg, "flip"), get<uint64_t>(cfg, "seed"));
  if (type == "residual") {
    const auto proj = get<nlohmann::json>(cfg, "projection");
    return std::make_unique<Residual>(module_from_config(get<nlohmann::json>(cfg, "block"), rng),
                                      proj.is_null() ? nullptr : module_from_config(proj, rng),
                                      act_from_string(get<std::string>(cfg, "post")));
  }
  if (type == "embedding") return std::make_unique<Embedding>(get<int64_t>(cfg, "num"), get<int64_t>(cfg, "dim"), rng);
  if (type == "rnn" || type == "lstm" || type == "gru") {
    const RecurrentOptions o{.num_layers = get<int64_t>(cfg, "num_layers"), .bidirectional = get<bool>(cfg, "bidirectional"),
                             .dropout = get<float>(cfg, "dropout"), .batch_first = get<bool>(cfg, "batch_first"),
                             .bias = get<bool>(cfg, "bias"), .seed = get<uint64_t>(cfg, "seed")};
    const ops::Cell cell = type == "rnn" ? ops::Cell::RNNTanh : type == "lstm" ? ops::Cell::LSTM : ops::Cell::GRU;
    return std::make_unique<Recurrent>(cell, get<int64_t>(cfg, "input_size"), get<int64_t>(cfg, "hidden_size"), o, rng);
  }
  if (type == "seq2seq")
    return std::make_unique<Seq2Seq>(get<int64_t>(cfg, "source_vocab"), get<int64_t>(cfg, "target_vocab"),
                                     get<int64_t>(cfg, "embedding"), get<int64_t>(cfg, "hidden"), rng,
                                     get<int64_t>(cfg, "num_layers"));
  throw std::invalid_argument("unknown layer type '" + type + "'");
}

}  // namespace bp::nn
