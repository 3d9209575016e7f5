// Layers that act only in training mode and are the identity in eval mode: dropout and
// image augmentation. Each draws from its own seeded generator, so a run is reproducible.
#pragma once

#include <cstdint>

#include "backprop/nn/module.hpp"
#include "backprop/ops/conv_ops.hpp"

namespace bp::nn {

// Inverted dropout with its own seeded generator: active in training mode, identity in eval.
class Dropout : public Module {
 public:
  explicit Dropout(float p, uint64_t seed = 0x5eed);
  Var forward(const Var& x) override { return ops::dropout(x, p_, training_, rng_); }
  nlohmann::json config() const override;
  std::string type() const override { return "dropout"; }
  std::vector<Rng*> generators() override { return {&rng_}; }

 private:
  float p_;
  uint64_t seed_;
  Rng rng_;
};

// Training-time augmentation of images (N, C, H, W): random left–right mirroring and shifts
// of up to max_shift pixels (ops::random_shift_flip), from its own seeded generator; the
// identity in eval mode, so a trained model predicts on the images as they are.
class RandomShiftFlip : public Module {
 public:
  explicit RandomShiftFlip(int64_t max_shift = 2, bool flip = true, uint64_t seed = 0x5eed);
  Var forward(const Var& x) override { return ops::random_shift_flip(x, shift_, flip_, training_, rng_); }
  nlohmann::json config() const override;
  std::string type() const override { return "random_shift_flip"; }
  std::vector<Rng*> generators() override { return {&rng_}; }

 private:
  int64_t shift_;
  bool flip_;
  uint64_t seed_;
  Rng rng_;
};

}  // namespace bp::nn
