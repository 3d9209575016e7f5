#include "backprop/pipeline/training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "backprop/pipeline/checkpoint.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/memory.hpp"
#include "backprop/tensor/allocator.hpp"

namespace bp::pipeline {

train::Targets targets_of(const data::Dataset& d) {
  train::Targets t;
  if (d.is_classification())
    t.classes = d.labels;
  else
    t.values = d.targets;
  return t;
}

TrainingPlan training_plan(const TrainSpec& spec, int64_t rows) {
  TrainingPlan p;
  p.validation_fraction = spec.validation_fraction;
  p.patience = spec.fit.patience;
  if (spec.fit.epochs != kAutoEpochs) {
    p.epochs = spec.fit.epochs;
    return p;
  }
  const int64_t batch = spec.fit.batch_size > 0 ? spec.fit.batch_size : std::max<int64_t>(rows, 1);
  const int64_t steps = std::max<int64_t>(1, (rows + batch - 1) / batch);
  const int64_t wanted = (kMinSteps + steps - 1) / steps;
  p.epochs = static_cast<int>(std::clamp<int64_t>(wanted, kDefaultEpochs, kMaxAutoEpochs));
  if (p.epochs > kDefaultEpochs) {  // a small data set: guard the many epochs against overfitting
    if (p.validation_fraction <= 0) p.validation_fraction = kAutoValidationFraction;
    if (p.patience <= 0) p.patience = std::max(10, p.epochs / 5);
  }
  return p;
}

namespace {
// The network's output layer when it is a Linear layer with a bias (the last module, looking
// inside nested Sequentials), else nullptr.
nn::Linear* output_linear(nn::Module& m) {
  nn::Module* cur = &m;
  while (auto* seq = dynamic_cast<nn::Sequential*>(cur)) {
    if (seq->size() == 0) return nullptr;
    cur = &(*seq)[seq->size() - 1];
  }
  auto* lin = dynamic_cast<nn::Linear*>(cur);
  return lin && lin->bias.defined() && lin->out_features() == 1 ? lin : nullptr;
}

// y -> (y - center) / scale, a copy.
Tensor scaled(const Tensor& y, const data::TargetScaling& s) {
  Tensor z = y.clone();
  for (int64_t i = 0; i < z.numel(); ++i) z[i] = static_cast<float>(s.apply(z[i]));
  return z;
}

// on_epoch thinned to about 100 calls over `epochs`: epoch 1, every k-th, the last.
std::function<bool(const train::EpochStats&)> thinned(std::function<bool(const train::EpochStats&)> f, int epochs) {
  if (!f || epochs <= 100) return f;
  const int k = (epochs + 99) / 100;
  return [f = std::move(f), k, epochs](const train::EpochStats& s) {
    return (s.epoch == 1 || s.epoch % k == 0 || s.epoch == epochs) ? f(s) : true;
  };
}
}  // namespace

bool is_learner_kind(const std::string& name) {
  const auto kinds = learners::learner_kinds();
  return std::find(kinds.begin(), kinds.end(), name) != kinds.end();
}

namespace {
Trained train_learner(const TrainSpec& spec, const data::Dataset& d) {
  if (!d.is_classification())
    throw UsageError("--model " + spec.model.name +
                     ": the learners are classifiers, and this target is numeric (a regression task); use a network, "
                     "or --task binary/multiclass");
  Trained out;
  out.task = d.task;
  out.class_names = d.class_names;
  nlohmann::json opts = spec.learner_options;
  const nlohmann::json defaults = learners::default_options(spec.model.name);
  if (defaults.contains("seed") && !opts.contains("seed")) opts["seed"] = spec.model.seed;
  try {
    out.learner = learners::make_learner(spec.model.name, opts);
  } catch (const learners::LearnerError& e) {
    throw UsageError(std::string("--model ") + spec.model.name + ": " + e.what());
  }
  if (d.x.ndim() != 2) throw UsageError("--model " + spec.model.name + ": the learners take tables, not images");
  learners::TrainSet ts;
  ts.X = learners::MatrixView{d.x.data(), d.x.dim(0), d.x.dim(1)};
  ts.y = d.labels.data();
  ts.n_classes = d.task == Task::Binary ? 2 : d.num_classes();
  const auto t0 = std::chrono::steady_clock::now();
  // What a fit refuses (k above the training rows, one class only for an SVM, ...) is the
  // options' misfit with this data: a usage error naming the learner.
  try {
    out.learner->fit(ts);
  } catch (const learners::LearnerError& e) {
    throw UsageError(std::string("--model ") + spec.model.name + ": " + e.what());
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}
}  // namespace

CheckpointEvery CheckpointEvery::parse(const std::string& text) {
  size_t pos = 0;
  double n = 0;
  try {
    n = std::stod(text, &pos);
  } catch (...) {
    pos = 0;
  }
  const std::string unit = pos > 0 ? text.substr(pos) : "";
  CheckpointEvery e;
  e.n = n;
  if (unit.empty() || unit == "epochs" || unit == "epoch") e.unit = Unit::Epochs;
  else if (unit == "steps" || unit == "step") e.unit = Unit::Steps;
  else if (unit == "s") e.unit = Unit::Seconds;
  else pos = 0;
  // Epochs and steps are counts: whole numbers.
  const bool whole = e.unit == Unit::Seconds || (n == std::floor(n) && n < 1e15);
  if (pos == 0 || !std::isfinite(n) || n <= 0 || !whole || text.find_first_of(" \t") != std::string::npos)
    throw UsageError("--checkpoint-every: '" + text +
                     "' is not N[s|epochs|steps] (e.g. 1epochs, 500steps, 300s; a bare N is epochs)");
  return e;
}

std::string CheckpointEvery::to_string() const {
  std::ostringstream o;
  o << n << (unit == Unit::Epochs ? "epochs" : unit == Unit::Steps ? "steps" : "s");
  return o.str();
}

namespace {
// The checkpoint hooks of the fit loop: `save` where `every` says one is due, at the end, and
// before a stop.
struct Saver {
  const Checkpointing& c;
  nn::Module& model;
  optim::Optimizer& opt;
  const TrainingPlan& plan;
  int64_t last_steps = -1;
  int last_epoch = -1;
  std::chrono::steady_clock::time_point last_time = std::chrono::steady_clock::now();
  bool last_finished = false;

  void write(const train::TrainState& s) {
    if (!c.save || (s.steps == last_steps && s.epoch == last_epoch && s.finished == last_finished)) return;
    c.save(model, opt, s, plan);
    last_steps = s.steps;
    last_epoch = s.epoch;
    last_finished = s.finished;
    last_time = std::chrono::steady_clock::now();
  }
  bool due(const train::TrainState& s) const {
    if (s.finished) return true;
    switch (c.every.unit) {
      case CheckpointEvery::Unit::Epochs:
        return s.batch == 0 && s.epoch % static_cast<int64_t>(c.every.n) == 0;
      case CheckpointEvery::Unit::Steps:
        return s.steps % static_cast<int64_t>(c.every.n) == 0;
      case CheckpointEvery::Unit::Seconds:
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_time).count() >= c.every.n;
    }
    return false;
  }
};
}  // namespace

Trained train_model(const TrainSpec& spec, const data::Dataset& all_train, const Shape& input_shape,
                    const data::TargetScaling* target_scaling, const Checkpointing* checkpointing) {
  if (all_train.size() == 0) throw std::invalid_argument("the training data is empty");
  if (is_learner_kind(spec.model.name)) {
    if (checkpointing)
      throw UsageError("--model " + spec.model.name +
                       ": the tree learners train in one pass and take no checkpoints (docs/checkpoints.md)");
    return train_learner(spec, all_train);
  }
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

  out.plan = training_plan(spec, all_train.size());
  train::FitOptions fo = spec.fit;
  fo.epochs = out.plan.epochs;
  fo.patience = out.plan.patience;
  fo.on_epoch = thinned(spec.fit.on_epoch, fo.epochs);

  const data::Dataset* train = &all_train;
  data::Dataset tr, va;
  if (out.plan.validation_fraction > 0) {
    const double vf = out.plan.validation_fraction;
    data::Split sp = all_train.is_classification()
                         ? data::stratified_split(all_train.labels, vf, 0.0, spec.validation_seed)
                         : data::train_validation_test_split(all_train.size(), vf, 0.0, spec.validation_seed);
    // Too few rows to carve a validation part from (or a part that takes them all): train
    // on every row, without early stopping.
    if (sp.validation.empty() || sp.train.empty()) {
      if (spec.validation_fraction > 0 || spec.fit.patience > 0)
        throw UsageError("the training part (" + std::to_string(all_train.size()) +
                         " rows) is too small for a validation fraction of " + std::to_string(vf));
      out.plan.validation_fraction = 0;
      out.plan.patience = fo.patience = 0;
    } else {
      tr = all_train.subset(sp.train);
      va = all_train.subset(sp.validation);
      train = &tr;
    }
  } else if (fo.patience > 0) {
    throw UsageError("early stopping (patience) needs a validation fraction > 0");
  }

  // Regression: fit on standardised targets when the output layer can take the inverse.
  nn::Linear* head = out.task == Task::Regression ? output_linear(*out.model) : nullptr;
  if (head) out.target_scaling = target_scaling ? *target_scaling : data::TargetScaling::fit(
      std::span<const float>(all_train.targets.data(), static_cast<size_t>(all_train.targets.numel())));
  std::unique_ptr<optim::Optimizer> opt;
  try {
    opt = optim::make_optimizer(spec.optimizer, out.model->parameters());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const auto t0 = std::chrono::steady_clock::now();
  memory::reset_peak();  // the peak of this fit (the process's tensors: the data sets' included)
  train::Targets ty = targets_of(*train), vy;
  if (va.size() > 0) vy = targets_of(va);
  const data::TargetScaling& ts = out.target_scaling;
  if (!ts.identity()) {
    ty.values = scaled(ty.values, ts);
    if (va.size() > 0) vy.values = scaled(vy.values, ts);
  }
  std::unique_ptr<Saver> saver;
  if (checkpointing) {
    if (const Checkpoint* c = checkpointing->resume) {
      if (c->plan.epochs != out.plan.epochs || c->plan.patience != out.plan.patience ||
          c->plan.validation_fraction != out.plan.validation_fraction)
        throw UsageError(c->path.string() + ": the checkpoint's plan (" + std::to_string(c->plan.epochs) +
                         " epochs, patience " + std::to_string(c->plan.patience) +
                         ") is not the one these options give (" + std::to_string(out.plan.epochs) + " epochs, patience " +
                         std::to_string(out.plan.patience) + ")");
      restore_checkpoint(*c, *out.model, *opt, out.state);
    }
    saver = std::make_unique<Saver>(Saver{*checkpointing, *out.model, *opt, out.plan});
    fo.state = &out.state;
    fo.on_checkpoint = [s = saver.get()](const train::TrainState& st) {
      if (s->due(st)) s->write(st);
    };
    if (fo.sync) {
      // Data-parallel: fit asks every rank before each step and agrees on where to stop (the
      // hook only looks); the final checkpoint is written below, once fit has stopped.
      if (!out.model->generators().empty())
        throw UsageError("checkpoints of data-parallel training take networks without dropout or random "
                         "augmentation: each process draws its own numbers, which one file cannot hold "
                         "(docs/distributed.md)");
      fo.should_stop = [s = saver.get()] { return s->c.should_stop && s->c.should_stop(); };
    } else {
      fo.should_stop = [s = saver.get(), &out] {
        if (!s->c.should_stop || !s->c.should_stop()) return false;
        s->write(out.state);  // the final checkpoint, unless this point's is already written
        return true;
      };
    }
  }
  if (checkpointing && spec.async_session)
    throw UsageError("--async takes no checkpoints: an asynchronous run depends on the timing of its processes, so "
                     "it cannot be resumed exactly (docs/distributed.md); synchronous data-parallel training can");
  if (spec.async_session) {
    if (fo.patience > 0)
      throw UsageError(spec.fit.epochs == kAutoEpochs
                           ? "--async: give --epochs (for this data set the automatic length adds early stopping, "
                             "which asynchronous SGD does not support)"
                           : "--async: early stopping (--patience) is not supported by asynchronous SGD");
    try {
      out.history = dist::fit_async(*spec.async_session, *out.model, out.task, train->x, ty, *opt, fo, spec.async,
                                    va.size() > 0 ? &va.x : nullptr, va.size() > 0 ? &vy : nullptr, &out.async_stats);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  } else {
    if (fo.sync && train->size() < fo.sync->size())
      throw UsageError("data-parallel training on " + std::to_string(fo.sync->size()) + " processes needs at least " +
                       std::to_string(fo.sync->size()) + " training rows; there are " + std::to_string(train->size()));
    if (fo.sync && fo.loss == train::Loss::SSE)
      throw UsageError("--loss sse sums over the batch, and data-parallel training averages over it: use mse");
    if (fo.sync && fo.batch_size > 0 && fo.batch_size < fo.sync->size())
      throw UsageError("--batch-size " + std::to_string(fo.batch_size) + " is smaller than the " +
                       std::to_string(fo.sync->size()) +
                       " processes: data-parallel training splits every batch among them, one row at least each");
    out.history = train::fit(*out.model, out.task, train->x, ty, *opt, fo, va.size() > 0 ? &va.x : nullptr,
                             va.size() > 0 ? &vy : nullptr);
  }
  if (out.history.interrupted) {
    if (fo.sync && saver) saver->write(out.state);  // the final checkpoint (rank 0's save writes it)
    out.interrupted = true;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.peak_tensor_bytes = memory::stats().peak_live_bytes;
    return out;
  }
  if (!ts.identity()) {  // y = scale z + center: the unscaling folded into the output layer
    const auto sc = static_cast<float>(ts.scale);
    Tensor& w = head->weight.value();
    for (int64_t i = 0; i < w.numel(); ++i) w[i] *= sc;
    Tensor& b = head->bias.value();
    for (int64_t i = 0; i < b.numel(); ++i) b[i] = static_cast<float>(ts.inverse(b[i]));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.peak_tensor_bytes = memory::stats().peak_live_bytes;
  return out;
}

train::Scores fit_and_score(const TrainSpec& spec, const data::Dataset& train, const data::Dataset& held_out,
                            const Shape& input_shape) {
  TrainSpec s = spec;
  if (s.fit.epochs != kAutoEpochs) {  // explicit epochs: the whole fold trains, no early stopping
    s.validation_fraction = 0;
    s.fit.patience = 0;
  }
  Trained t = train_model(s, train, input_shape);
  if (t.learner) throw UsageError("--model " + spec.model.name + ": cross-validated scoring takes networks only");
  return train::score(*t.model, t.task, spec.fit.loss, held_out.x, targets_of(held_out));
}

}  // namespace bp::pipeline
