#include "backprop/nn/cnn.hpp"

#include <cmath>
#include <stdexcept>

#include "backprop/nn/conv.hpp"
#include "backprop/nn/norm.hpp"
#include "backprop/nn/regularize.hpp"
#include "backprop/nn/residual.hpp"
#include "backprop/nn/shape.hpp"

namespace bp::nn {

Shape image_shape(const Shape& input) {
  if (input.size() == 3 && input[0] > 0 && input[1] > 0 && input[2] > 0) return input;
  if (input.size() == 1 && input[0] > 0) {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(input[0]))));
    if (side * side == input[0]) return {1, side, side};
  }
  throw std::invalid_argument("a convolutional network needs images (C, H, W) or square greyscale rows (H·W), got " +
                              shape_str(input));
}

namespace {
// Starts a network: a Reshape when the examples arrive as flat rows.
std::unique_ptr<Sequential> start(const Shape& input, const Shape& image) {
  auto net = std::make_unique<Sequential>();
  if (input.size() != 3) net->emplace<Reshape>(image);
  return net;
}
}  // namespace

std::unique_ptr<Sequential> make_lenet5(const LeNetConfig& c) {
  const Shape img = image_shape(c.input);
  if (c.classes <= 0) throw std::invalid_argument("LeNet-5 needs at least one class");
  Rng rng(c.seed);
  const Init init = default_init(c.act);
  auto net = start(c.input, img);
  auto pool = [&] {
    if (c.max_pool) net->emplace<MaxPool2d>(2);
    else net->emplace<AvgPool2d>(2);
  };
  // The activation rides in the convolution (fused for ReLU: no separate activation tensor).
  net->emplace<Conv2d>(img[0], 6, Conv2dOptions{.kernel = 5, .padding = 2, .init = init, .act = c.act}, rng);
  pool();
  const int64_t h1 = img[1] / 2, w1 = img[2] / 2;  // after conv (same size) and pool
  if (h1 < 5 || w1 < 5) throw std::invalid_argument("LeNet-5 needs images of at least 10×10, got " + shape_str(img));
  net->emplace<Conv2d>(6, 16, Conv2dOptions{.kernel = 5, .init = init, .act = c.act}, rng);
  pool();
  const int64_t h2 = (h1 - 4) / 2, w2 = (w1 - 4) / 2;
  if (h2 < 1 || w2 < 1) throw std::invalid_argument("LeNet-5 needs images of at least 12×12, got " + shape_str(img));
  net->emplace<Flatten>();
  net->emplace<Linear>(16 * h2 * w2, 120, true, init, rng);
  net->emplace<Activation>(c.act);
  net->emplace<Linear>(120, 84, true, init, rng);
  net->emplace<Activation>(c.act);
  net->emplace<Linear>(84, c.classes, true, Init::Glorot, rng);
  return net;
}

std::unique_ptr<Sequential> make_resnet(const ResNetConfig& c) {
  const Shape img = image_shape(c.input);
  if (c.classes <= 0) throw std::invalid_argument("the residual network needs at least one class");
  if (c.stem <= 0 || c.stages.empty()) throw std::invalid_argument("the residual network needs a stem and a stage");
  if (img[1] < 4 || img[2] < 4) throw std::invalid_argument("the residual network needs images of at least 4×4");
  Rng rng(c.seed);
  auto net = start(c.input, img);
  if (c.augment_shift > 0 || c.augment_flip) net->emplace<RandomShiftFlip>(c.augment_shift, c.augment_flip, c.seed + 2);
  // Pooling first: batch norm and ReLU then run on a quarter of the values (max pooling
  // commutes with ReLU, and with the batch norm's per-channel scaling where γ > 0).
  net->emplace<Conv2d>(img[0], c.stem, Conv2dOptions{.kernel = 3, .padding = 1, .bias = false}, rng);
  net->emplace<MaxPool2d>(2);
  net->emplace<BatchNorm>(c.stem, 2, 0.1f, 1e-5f, true, Act::ReLU);  // BN–ReLU in one block
  int64_t prev = c.stem, h = img[1] / 2, w = img[2] / 2;
  for (size_t i = 0; i < c.stages.size(); ++i) {
    if (c.stages[i] <= 0) throw std::invalid_argument("residual stages need positive channel counts");
    const int64_t stride = i == 0 ? 1 : 2;
    net->add(make_basic_block(prev, c.stages[i], stride, rng));
    prev = c.stages[i];
    h = (h - 1) / stride + 1;  // 3×3, padding 1
    w = (w - 1) / stride + 1;
  }
  int64_t features = prev;
  if (c.global_pool) {
    net->emplace<GlobalAvgPool2d>();
  } else {
    net->emplace<Flatten>();
    features = prev * h * w;
  }
  if (c.dropout > 0.f) net->emplace<Dropout>(c.dropout, c.seed + 1);
  net->emplace<Linear>(features, c.classes, true, Init::Glorot, rng);
  return net;
}

}  // namespace bp::nn
