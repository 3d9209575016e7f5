#include "backprop/pipeline/model.hpp"

#include <stdexcept>

namespace bp::pipeline {

Tensor ModelRef::predict(Task task, const Tensor& x) const {
  if (net_) return train::predict(*net_, task, x);
  if (!learner_) throw std::logic_error("ModelRef: no model");
  if (task == Task::Regression) throw std::invalid_argument("the learners are classifiers: no regression");
  if (x.ndim() != 2) throw std::invalid_argument("a learner predicts from a matrix (rows, features), not " + shape_str(x.shape()));
  const Tensor p = learner_->predict_proba(learners::MatrixView{x.data(), x.dim(0), x.dim(1)});
  if (task != Task::Binary) return p;
  // The networks' binary form: one column, P(class 1) (the positive class).
  if (p.ndim() != 2 || p.dim(1) != 2) throw std::invalid_argument("a binary model's learner must have 2 classes");
  const int64_t n = p.dim(0);
  Tensor pos({n, 1}, 0.f);
  for (int64_t i = 0; i < n; ++i) pos[i] = p[i * 2 + 1];
  return pos;
}

}  // namespace bp::pipeline
