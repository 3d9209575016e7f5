#include "backprop/pipeline/training.hpp"

#include <chrono>
#include <stdexcept>

#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/memory.hpp"

namespace bp::pipeline {

train::Targets targets_of(const data::Dataset& d) {
  train::Targets t;
  if (d.is_classification())
    t.classes = d.labels;
  else
    t.values = d.targets;
  return t;
}

Trained train_model(const TrainSpec& spec, const data::Dataset& all_train, const Shape& input_shape) {
  if (all_train.size() == 0) throw std::invalid_argument("the training data is empty");
  Trained out;
  out.task = all_train.task;
  out.class_names = all_train.class_names;

  nn::ModelSpec ms = spec.model;
  ms.input_shape = input_shape;
  ms.task = all_train.task;
  ms.outputs = all_train.task == Task::Multiclass ? all_train.num_classes() : 1;
  check_training_memory(ms, spec.optimizer, spec.fit.batch_size, all_train.size());
  // The spec comes from the user's options: a model that cannot be built from it (an unknown
  // name, an option the architecture does not take) is a usage error.
  try {
    out.model = nn::make_model(ms);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  const data::Dataset* train = &all_train;
  data::Dataset tr, va;
  if (spec.validation_fraction > 0) {
    data::Split sp = all_train.is_classification()
                         ? data::stratified_split(all_train.labels, spec.validation_fraction, 0.0, spec.validation_seed)
                         : data::train_validation_test_split(all_train.size(), spec.validation_fraction, 0.0,
                                                             spec.validation_seed);
    tr = all_train.subset(sp.train);
    va = all_train.subset(sp.validation);
    train = &tr;
  } else if (spec.fit.patience > 0) {
    throw UsageError("early stopping (patience) needs a validation fraction > 0");
  }
  std::unique_ptr<optim::Optimizer> opt;
  try {
    opt = optim::make_optimizer(spec.optimizer, out.model->parameters());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const auto t0 = std::chrono::steady_clock::now();
  train::Targets ty = targets_of(*train), vy;
  if (va.size() > 0) vy = targets_of(va);
  out.history = train::fit(*out.model, out.task, train->x, ty, *opt, spec.fit, va.size() > 0 ? &va.x : nullptr,
                           va.size() > 0 ? &vy : nullptr);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

train::Scores fit_and_score(const TrainSpec& spec, const data::Dataset& train, const data::Dataset& held_out,
                            const Shape& input_shape) {
  TrainSpec s = spec;
  s.validation_fraction = 0;
  s.fit.patience = 0;
  Trained t = train_model(s, train, input_shape);
  return train::score(*t.model, t.task, spec.fit.loss, held_out.x, targets_of(held_out));
}

}  // namespace bp::pipeline
