// Finite-difference gradient check: the one shared helper that every block's test uses.
//
// For a function f of several tensors, it fixes a random direction R shaped like f's output
// and compares, for every input element x_i, the analytic gradient of L = Σ R ⊙ f(x) (one
// backward() seeded with R) against the central difference
//     (L(x + h e_i) − L(x − h e_i)) / 2h.
// Central differences have truncation error O(h²) (h²/6 · f''' ); in float32 the forward
// values carry relative rounding ≈ 6e-8, which the division by 2h magnifies to ≈ 6e-8·|L|/h.
// h = 1e-2 balances the two for the smooth functions here (≈ 1e-5 each for |f'''|, |L| of
// order 1), so atol = 1e-3 and rtol = 1e-2 leave a margin of two orders of magnitude while
// a wrong derivative (a missing factor, a sign, a transposed operand) is off by O(1).
// Inputs must stay at least h away from kinks (ReLU at 0, step at 0): choose them so.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backprop/autograd/var.hpp"

namespace bp::autograd {

struct GradcheckOptions {
  float h = 1e-2f;
  double atol = 1e-3;
  double rtol = 1e-2;
  uint64_t seed = 1;
  // Which inputs to check (default: all).
  std::vector<bool> check;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  int64_t checked = 0;
  std::string report;  // the worst mismatches, for the test's failure message
};

GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opts = {});

}  // namespace bp::autograd
