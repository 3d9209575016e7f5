#include "backprop/nn/zoo.hpp"

#include <stdexcept>

#include "backprop/nn/cnn.hpp"
#include "backprop/nn/shape.hpp"

namespace bp::nn {

std::vector<std::string> model_names() { return {"mlp", "logistic", "lenet5", "resnet"}; }

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
    return with_flatten(make_mlp({features, s.hidden, s.activations, s.outputs, s.task, s.seed, s.init}));
  if (s.name == "logistic") {  // one neuron per output: no hidden layer
    return with_flatten(make_mlp({features, {}, {}, s.outputs, s.task, s.seed, s.init}));
  }
  // Convolutional networks (nn/cnn.hpp): input (C, H, W), or square rows of H·W pixels.
  if (s.name == "lenet5" || s.name == "resnet") {
    if (s.init) throw std::invalid_argument("a weight initialisation can be chosen for mlp and logistic only, not " + s.name);
    if (s.task != Task::Multiclass || s.outputs < 2)
      throw std::invalid_argument("model '" + s.name + "' is a multi-class classifier (needs 2 or more classes)");
    if (s.name == "lenet5")  // the activation may be chosen (--activation); ReLU by default
      return make_lenet5({.input = s.input_shape, .classes = s.outputs,
                          .act = s.activations.empty() ? Act::ReLU : s.activations[0], .seed = s.seed});
    return make_resnet({.input = s.input_shape, .classes = s.outputs, .seed = s.seed});
  }
  std::string names;
  for (auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown model '" + s.name + "' (choose " + names + ")");
}

}  // namespace bp::nn
