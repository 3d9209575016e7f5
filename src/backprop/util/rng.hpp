// A seeded random generator whose draws are the same on every platform and standard library
// (std::uniform_real_distribution, std::uniform_int_distribution and std::shuffle are
// implementation-defined; these are not). The one source of randomness of the project:
// initialisation, dropout, augmentation, splits, folds and the order of mini-batches.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace bp {

// Uniform integer in [0, n), n > 0, from uniform 64-bit words `next()`, exactly: a word r is
// accepted only at or above t = 2^64 mod n, so the accepted range [t, 2^64) holds a whole
// number of copies of [0, n) and r mod n is uniform; a word below t (probability t / 2^64 <
// n / 2^64) is redrawn. This is the draw the data module's splits have always used, so a
// model file's stored split seed still names the same rows (the faster multiply-shift form
// would give other rows); draws are not on a hot path (a shuffle of 60000 rows costs ~1 ms).
template <class Next>
uint64_t bounded_draw(uint64_t n, Next&& next) {
  if (n == 0) throw std::invalid_argument("bounded_draw: the bound must be positive");
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  uint64_t r = next();
  while (r < threshold) r = next();
  return r % n;
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x5eed) : gen_(seed) {}
  uint64_t next_u64() { return gen_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), exactly (bounded_draw); n > 0.
  uint64_t below(uint64_t n) { return bounded_draw(n, gen_); }
  // Standard normal by Box–Muller.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Fisher–Yates: for i = n−1 down to 1, swap v[i] with v[below(i + 1)]; every one of the n!
  // orders is equally likely.
  template <class T>
  void shuffle(std::span<T> v) {
    for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[below(i + 1)]);
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    shuffle(std::span<T>(v));
  }

  // The whole state as text, for checkpoints: the engine's standard text form (its 312 words
  // and position, which the standard fixes), then the Box–Muller spare (a flag and the
  // double's bits). set_state(state()) continues the same sequence of draws; a malformed text
  // throws std::invalid_argument and leaves the generator as it was.
  std::string state() const {
    std::ostringstream o;
    uint64_t bits = 0;
    std::memcpy(&bits, &spare_, sizeof bits);
    o << gen_ << ' ' << (has_spare_ ? 1 : 0) << ' ' << bits;
    return o.str();
  }
  void set_state(const std::string& text) {
    std::istringstream in(text);
    std::mt19937_64 g;
    int spare = -1;
    uint64_t bits = 0;
    in >> g >> spare >> bits;
    if (in.fail() || (spare != 0 && spare != 1) || !(in >> std::ws).eof())
      throw std::invalid_argument("random generator state: malformed text");
    gen_ = g;
    has_spare_ = spare == 1;
    std::memcpy(&spare_, &bits, sizeof bits);
  }

 private:
  std::mt19937_64 gen_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace bp
