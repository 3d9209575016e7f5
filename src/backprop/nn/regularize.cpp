#include "backprop/nn/regularize.hpp"

#include <stdexcept>
#include <string>

namespace bp::nn {

// ---- Dropout
Dropout::Dropout(float p, uint64_t seed) : p_(p), seed_(seed), rng_(seed) {
  if (!(p >= 0.f && p < 1.f)) throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}

nlohmann::json Dropout::config() const { return {{"type", type()}, {"p", p_}, {"seed", seed_}}; }

// ---- RandomShiftFlip
RandomShiftFlip::RandomShiftFlip(int64_t max_shift, bool flip, uint64_t seed)
    : shift_(max_shift), flip_(flip), seed_(seed), rng_(seed) {
  if (max_shift < 0) throw std::invalid_argument("random_shift_flip: max_shift must be >= 0");
}

nlohmann::json RandomShiftFlip::config() const {
  return {{"type", type()}, {"max_shift", shift_}, {"flip", flip_}, {"seed", seed_}};
}

}  // namespace bp::nn
