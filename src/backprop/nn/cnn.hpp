// Convolutional networks for small greyscale images (Fashion-MNIST's 1×28×28), as C++ types;
// nn::make_model knows them as "lenet5" and "resnet".
#pragma once

#include <cstdint>
#include <memory>

#include "backprop/nn/module.hpp"

namespace bp::nn {

struct LeNetConfig {
  Shape input{1, 28, 28};  // (C, H, W); a flat (H·W) input is viewed as (1, H, W) when square
  int64_t classes = 10;
  Act act = Act::ReLU;     // ReLU trains faster and ends higher than LeCun's tanh here
  bool max_pool = true;    // max pooling (true) or average pooling (LeCun's subsampling)
  uint64_t seed = 42;
};

// LeNet-5 (LeCun et al. 1998), as usually adapted to 28×28 inputs:
//   conv 6@5×5 pad 2 – act – pool 2 – conv 16@5×5 – act – pool 2 – flatten –
//   linear 120 – act – linear 84 – act – linear classes
// (a flat input first goes through Reshape). Outputs logits.
std::unique_ptr<Sequential> make_lenet5(const LeNetConfig& c = {});

struct ResNetConfig {
  Shape input{1, 28, 28};
  int64_t classes = 10;
  int64_t stem = 32;                  // channels of the first 3×3 convolution (followed by max pool 2)
  std::vector<int64_t> stages{32, 64};  // one basic block per stage; stage i > 0 halves the resolution
  // The head: global average pooling (the usual residual-net head), or the whole last feature
  // map flattened (keeps where things are: Fashion-MNIST's items are centred; measured better).
  bool global_pool = false;
  float dropout = 0.3f;               // before the classifier
  // Training-time augmentation (RandomShiftFlip): left–right mirroring, and shifts of up to
  // this many pixels (0: none). Measured (docs/cnn.md): mirroring helps within a 10-minute
  // budget, shifts of 2 made the task too hard for 14 epochs (91.5 % against 91.9 % without).
  int64_t augment_shift = 0;
  bool augment_flip = true;
  uint64_t seed = 42;
};

// A small residual network for 28×28 greyscale:
//   [reshape] – [random shift/flip, training only] – conv3×3 stem – max pool 2 – BN – ReLU – basic blocks (nn::make_basic_block) –
//   global average pool or flatten – [dropout] – linear classes
std::unique_ptr<Sequential> make_resnet(const ResNetConfig& c = {});

// (C, H, W) for an input shape: (C, H, W) itself, or a square (H·W) read as (1, H, W).
// Throws std::invalid_argument otherwise.
Shape image_shape(const Shape& input);

}  // namespace bp::nn
