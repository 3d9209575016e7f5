#include "backprop/autograd/gradcheck.hpp"

#include <cmath>
#include <random>
#include <sstream>

namespace bp::autograd {

namespace {
double projected(const Tensor& out, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(out[i]) * r[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opts) {
  GradcheckResult res;
  auto wanted = [&](size_t k) { return opts.check.empty() || (k < opts.check.size() && opts.check[k]); };

  // Analytic gradients.
  std::vector<Var> vars;
  for (size_t k = 0; k < inputs.size(); ++k) vars.emplace_back(inputs[k].clone(), wanted(k));
  Var out = f(vars);
  std::mt19937_64 rng(opts.seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Tensor r(out.shape());
  for (int64_t i = 0; i < r.numel(); ++i) r[i] = u(rng);
  out.backward(r);

  // Numerical gradients, one element at a time, recording nothing.
  NoGradGuard ng;
  std::ostringstream rep;
  int reported = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!wanted(k)) continue;
    std::vector<Var> probe;
    for (const Tensor& t : inputs) probe.emplace_back(t.clone(), false);
    Tensor& x = probe[k].value();
    const Tensor& analytic = vars[k].grad();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float x0 = x[i];
      x[i] = x0 + opts.h;
      const double lp = projected(f(probe).value(), r);
      x[i] = x0 - opts.h;
      const double lm = projected(f(probe).value(), r);
      x[i] = x0;
      const double numeric = (lp - lm) / (2.0 * opts.h);
      const double a = analytic.defined() ? analytic[i] : 0.0;
      const double err = std::fabs(a - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      ++res.checked;
      if (err > opts.atol + opts.rtol * std::fabs(numeric)) {
        res.ok = false;
        if (reported++ < 8)
          rep << "input " << k << " element " << i << ": analytic " << a << " numeric " << numeric << "\n";
      }
    }
  }
  res.report = rep.str();
  return res;
}

}  // namespace bp::autograd
