// A trained model of either family as the workflows use it: a network (nn::Module) or a tree
// learner (learners::Learner, docs/trees.md). The one seam between them: scoring, calibrating
// and predicting go through predict(), which gives train::predict's form for both.
#pragma once

#include "backprop/io/model_file.hpp"
#include "backprop/learners/learner.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/pipeline/training.hpp"
#include "backprop/train/fit.hpp"

namespace bp::pipeline {

class ModelRef {
 public:
  ModelRef(nn::Module& net) : net_(&net) {}                         // NOLINT: implicit by design
  ModelRef(const learners::Learner& l) : learner_(&l) {}            // NOLINT
  ModelRef(io::ModelFile& f) : net_(f.module.get()), learner_(f.learner.get()) {}  // NOLINT
  ModelRef(Trained& t) : net_(t.model.get()), learner_(t.learner.get()) {}          // NOLINT
  nn::Module* network() const { return net_; }
  const learners::Learner* learner() const { return learner_; }
  // Binary: (n, 1) P(positive); multi-class: (n, K) probabilities; regression: (n, 1) values.
  Tensor predict(Task task, const Tensor& x) const;

 private:
  nn::Module* net_ = nullptr;
  const learners::Learner* learner_ = nullptr;
};

}  // namespace bp::pipeline
