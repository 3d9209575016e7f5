#include "backprop/nn/zoo.hpp"

#include <stdexcept>

namespace bp::nn {

std::vector<std::string> model_names() { return {"mlp", "logistic"}; }

std::unique_ptr<Module> make_model(const ModelSpec& s) {
  const int64_t features = shape_numel(s.input_shape);
  auto with_flatten = [&](std::unique_ptr<Sequential> net) -> std::unique_ptr<Module> {
    if (s.input_shape.size() <= 1) return net;
    auto seq = std::make_unique<Sequential>();
    seq->emplace<Flatten>();
    seq->add(std::move(net));
    return seq;
  };
  if (s.name == "mlp")
    return with_flatten(make_mlp({features, s.hidden, s.activations, s.outputs, s.task, s.seed}));
  if (s.name == "logistic") {  // one neuron per output: no hidden layer
    return with_flatten(make_mlp({features, {}, {}, s.outputs, s.task, s.seed}));
  }
  std::string names;
  for (auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown model '" + s.name + "' (choose " + names + ")");
}

}  // namespace bp::nn
