#include "backprop/train/fit.hpp"

#include <chrono>
#include <cmath>
#include <numeric>
#include <span>
#include <utility>
#include <stdexcept>

#include "backprop/ops/ops.hpp"
#include "backprop/train/batches.hpp"

namespace bp::train {

Targets Targets::gather(const int64_t* idx, int64_t count) const {
  Targets t;
  if (values.defined()) {
    t.values = gather_rows(values, idx, count);
  } else {
    t.classes.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) t.classes[i] = classes.at(static_cast<size_t>(idx[i]));
  }
  return t;
}

Loss loss_from_string(const std::string& s) {
  if (s == "auto") return Loss::Auto;
  if (s == "mse") return Loss::MSE;
  if (s == "sse") return Loss::SSE;
  if (s == "bce") return Loss::BCE;
  if (s == "cross_entropy" || s == "ce") return Loss::CrossEntropy;
  throw std::invalid_argument("unknown loss '" + s + "' (choose auto, mse, sse, bce, cross_entropy)");
}

std::string to_string(Loss l) {
  switch (l) {
    case Loss::Auto: return "auto";
    case Loss::MSE: return "mse";
    case Loss::SSE: return "sse";
    case Loss::BCE: return "bce";
    case Loss::CrossEntropy: return "cross_entropy";
  }
  return "?";
}

namespace {
Loss resolve(Task task, Loss loss) {
  if (loss == Loss::Auto) {
    switch (task) {
      case Task::Regression: return Loss::MSE;
      case Task::Binary: return Loss::BCE;
      case Task::Multiclass: return Loss::CrossEntropy;
    }
  }
  return loss;
}

Tensor class_column(const std::vector<int32_t>& c) {
  Tensor t({static_cast<int64_t>(c.size()), 1});
  for (size_t i = 0; i < c.size(); ++i) t[static_cast<int64_t>(i)] = static_cast<float>(c[i]);
  return t;
}

Tensor one_hot(const std::vector<int32_t>& c, int64_t k) {
  Tensor t({static_cast<int64_t>(c.size()), k});
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i] < 0 || c[i] >= k) throw ShapeError("class " + std::to_string(c[i]) + " outside [0, " + std::to_string(k) + ")");
    t[static_cast<int64_t>(i) * k + c[i]] = 1.f;
  }
  return t;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Correct predictions among `out` (raw outputs) for class targets.
int64_t correct(Task task, const Tensor& out, const std::vector<int32_t>& y) {
  int64_t ok = 0;
  const int64_t n = out.dim(0), k = out.numel() / std::max<int64_t>(n, 1);
  for (int64_t i = 0; i < n; ++i) {
    int32_t pred;
    if (task == Task::Binary) {
      pred = out[i] >= 0.f ? 1 : 0;  // logit >= 0  ⇔  p >= 0.5
    } else {
      const float* r = out.data() + i * k;
      pred = static_cast<int32_t>(std::max_element(r, r + k) - r);
    }
    ok += pred == y[i];
  }
  return ok;
}
}  // namespace

Var task_loss(Task task, Loss loss, const Var& out, const Targets& y) {
  const Loss l = resolve(task, loss);
  if (task == Task::Regression) {
    if (!y.values.defined()) throw std::invalid_argument("regression needs numeric targets");
    Var t(y.values);
    if (l == Loss::MSE) return ops::mse_loss(out, t);
    if (l == Loss::SSE) return ops::sse_loss(out, t);
    throw std::invalid_argument("loss " + to_string(l) + " does not fit a regression task (use mse or sse)");
  }
  if (task == Task::Binary) {
    if (l == Loss::BCE) return ops::bce_with_logits(out, Var(class_column(y.classes)));
    // Squared error on the sigmoid output, as in the lecture's first backprop example.
    if (l == Loss::MSE) return ops::mse_loss(ops::sigmoid(out), Var(class_column(y.classes)));
    if (l == Loss::SSE) return ops::sse_loss(ops::sigmoid(out), Var(class_column(y.classes)));
    throw std::invalid_argument("loss " + to_string(l) + " does not fit a binary task (use bce, mse or sse)");
  }
  if (l == Loss::CrossEntropy) return ops::softmax_cross_entropy(out, y.classes);
  if (l == Loss::MSE) return ops::mse_loss(ops::softmax(out), Var(one_hot(y.classes, out.shape()[1])));
  if (l == Loss::SSE) return ops::sse_loss(ops::softmax(out), Var(one_hot(y.classes, out.shape()[1])));
  throw std::invalid_argument("loss " + to_string(l) + " does not fit a multi-class task (use cross_entropy, mse or sse)");
}

namespace {
// Runs the model in eval mode, recording nothing, over consecutive batches of x's rows
// (views of x, not copies): f(first row, rows, outputs). Restores the training mode.
template <class F>
void eval_batches(nn::Module& model, const Tensor& x, int64_t batch_size, F f) {
  autograd::NoGradGuard ng;
  const bool was_training = model.training();
  model.set_training(false);
  const int64_t n = x.dim(0), row = n ? x.numel() / n : 0;
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t b = std::min(batch_size, n - s);
    Shape shape = x.shape();
    shape[0] = b;
    f(s, b, model.forward(Var(Tensor::view(x.owner(), const_cast<float*>(x.data()) + s * row, shape))));
  }
  model.set_training(was_training);
}
}  // namespace

Tensor outputs(nn::Module& model, const Tensor& x, int64_t batch_size) {
  const int64_t n = x.dim(0);
  Tensor result({0, 1});
  eval_batches(model, x, batch_size, [&](int64_t s, int64_t b, const Var& out) {
    const int64_t width = out.numel() / b;
    if (s == 0) result = Tensor::empty({n, width});
    std::copy(out.value().data(), out.value().data() + out.numel(), result.data() + s * width);
  });
  return result;
}

Tensor activate(Task task, const Tensor& out) {
  autograd::NoGradGuard ng;
  if (task == Task::Binary) return ops::sigmoid(Var(out)).value();
  if (task == Task::Multiclass && out.numel() > 0) return ops::softmax(Var(out)).value();
  return out;
}

Tensor predict(nn::Module& model, Task task, const Tensor& x, int64_t batch_size) {
  return activate(task, outputs(model, x, batch_size));
}

Scores score(nn::Module& model, Task task, Loss loss, const Tensor& x, const Targets& y, int64_t batch_size) {
  const int64_t n = x.dim(0);
  if (n == 0) throw std::invalid_argument("cannot score an empty data set");
  double total = 0;
  int64_t ok = 0;
  eval_batches(model, x, batch_size, [&](int64_t s, int64_t b, const Var& out) {
    std::vector<int64_t> idx = iota(b);
    for (auto& i : idx) i += s;
    Targets yb = b == n ? y : y.gather(idx.data(), b);
    total += static_cast<double>(task_loss(task, loss, out, yb).item()) * static_cast<double>(b);
    if (task != Task::Regression) ok += correct(task, out.value(), yb.classes);
  });
  Scores sc;
  sc.loss = total / static_cast<double>(n);
  if (task != Task::Regression) sc.accuracy = static_cast<double>(ok) / static_cast<double>(n);
  return sc;
}

namespace {
DivergenceError diverged(double loss, int epoch) {
  return DivergenceError("training diverged: loss is " + std::to_string(loss) + " in epoch " +
                         std::to_string(epoch + 1) + " (try a smaller learning rate)");
}

// One step of one rank of a data-parallel run (FitOptions::sync): the forward and backward pass
// over this rank's slice of the global batch `rows`, the gradients averaged over the ranks, the
// step. The loss total and correct count are summed over the ranks with the gradient, so every
// rank sees (and checks) the global batch's, and so is `stop` (this rank's wish to stop: 0 or
// 1), so that every rank learns whether any rank wants to stop after this step.
struct SyncedStep {
  double loss_total;
  int64_t correct;
  bool stop;
};
SyncedStep synced_step(nn::Module& model, Task task, Loss loss_kind, const Tensor& x, const Targets& y,
                       std::span<const int64_t> rows, optim::Optimizer& opt, GradientSync& sync, int epoch,
                       bool stop) {
  const auto b = static_cast<int64_t>(rows.size());
  const auto [lo, hi] = shard_of(b, sync.rank(), sync.size());
  double stats[3] = {0, 0, stop ? 1.0 : 0.0};
  opt.zero_grad();
  if (hi > lo) {  // the last batch of an epoch may have fewer rows than ranks
    Var xb(gather_rows(x, rows.data() + lo, hi - lo));
    Targets yb = y.gather(rows.data() + lo, hi - lo);
    Var out = model.forward(xb);
    Var loss = task_loss(task, loss_kind, out, yb);
    stats[0] = loss.item() * static_cast<double>(hi - lo);
    if (task != Task::Regression) stats[1] = static_cast<double>(correct(task, out.value(), yb.classes));
    if (std::isfinite(stats[0])) loss.backward();
  }
  sync.reduce(opt.flat().grad_data(), opt.flat().size, hi - lo, b, stats, 3);
  if (!std::isfinite(stats[0])) throw diverged(stats[0] / static_cast<double>(b), epoch);
  opt.step();
  return {stats[0], static_cast<int64_t>(stats[1]), stats[2] > 0};
}
}  // namespace

FitResult fit(nn::Module& model, Task task, const Tensor& x, const Targets& y, optim::Optimizer& opt,
              const FitOptions& o, const Tensor* val_x, const Targets* val_y) {
  const int64_t n = x.dim(0);
  if (n == 0) throw std::invalid_argument("no training examples");
  if (y.size() != n) throw ShapeError(std::to_string(y.size()) + " targets for " + std::to_string(n) + " examples");
  if (o.epochs <= 0) throw std::invalid_argument("epochs must be positive");
  if (o.batch_size < 0) throw std::invalid_argument("batch size must be >= 0 (0 = full batch)");
  if ((o.on_checkpoint || o.should_stop) && !o.state)
    throw std::invalid_argument("fit: on_checkpoint and should_stop need FitOptions::state");
  const bool has_val = val_x && val_y && val_x->dim(0) > 0;
  Batches batches(n, o.batch_size, o.seed);
  GradientSync* sync = o.sync;
  if (sync && batches.batch_size() < sync->size())
    throw std::invalid_argument("data-parallel training on " + std::to_string(sync->size()) +
                                " processes needs a global batch of at least as many rows; the batch is " +
                                std::to_string(batches.batch_size()) + " (--batch-size)");
  // The sync averages the ranks' mean gradients; a summed loss would need them added instead.
  if (sync && o.loss == Loss::SSE)
    throw std::invalid_argument("the sse loss sums over the batch, and data-parallel training averages over it: use mse");
  auto schedule = optim::make_schedule(o.schedule, o.epochs);
  std::vector<Var> params = model.parameters();
  if (sync) sync->broadcast(opt.flat().value_data(), opt.flat().size);

  TrainState fresh;
  TrainState& st = o.state ? *o.state : fresh;
  // A state to continue from must fit this run (the caller checked the options; these are
  // the facts fit can see).
  if (st.epoch < 0 || st.epoch > o.epochs || st.batch < 0 || st.batch >= batches.batches_per_epoch() ||
      (st.batch > 0 && st.epoch == o.epochs) || (!st.best_weights.empty() && st.best_weights.size() != params.size()))
    throw std::invalid_argument("fit: the training state (epoch " + std::to_string(st.epoch) + ", batch " +
                                std::to_string(st.batch) + ") does not fit this run of " + std::to_string(o.epochs) +
                                " epochs of " + std::to_string(batches.batches_per_epoch()) + " batches");
  if (st.base_lr <= 0) st.base_lr = opt.lr();
  const float base_lr = st.base_lr;

  FitResult r;
  auto result = [&](bool interrupted) {
    r.history = st.history;
    r.best_epoch = st.best_epoch;
    r.stopped_early = st.stopped_early;
    r.interrupted = interrupted;
    return r;
  };
  // A point where the run could resume: the caller may save the state, then may stop it. In a
  // data-parallel run the ranks may be asked to stop at different moments (a signal reaches
  // each process when it does): each rank's should_stop() goes into the next step's reduction,
  // and every rank stops at the first point after a step in which any rank asked, so all stop
  // after the same step.
  bool agreed_stop = false;
  auto stop_here = [&] {
    if (o.on_checkpoint) o.on_checkpoint(st);
    if (sync) return agreed_stop;
    return o.should_stop && o.should_stop();
  };
  model.set_training(true);
  while (!st.finished && st.epoch < o.epochs) {
    const int e = st.epoch;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    opt.set_lr(schedule->lr(base_lr, e));
    batches.start_epoch(e);
    for (int64_t k = 0; k < st.batch; ++k) batches.next();  // resuming inside the epoch
    for (auto rows = batches.next(); !rows.empty();) {
      const auto b = static_cast<int64_t>(rows.size());
      if (sync) {  // one rank of a data-parallel run: the global batch's loss total and correct count
        const bool mine = agreed_stop || (o.should_stop && o.should_stop());
        const SyncedStep step = synced_step(model, task, o.loss, x, y, rows, opt, *sync, e, mine);
        st.loss_sum += step.loss_total;
        st.correct += step.correct;
        agreed_stop = step.stop;
      } else {
        Var xb(batches.whole() ? x : gather_rows(x, rows.data(), b));
        Targets yb = batches.whole() ? y : y.gather(rows.data(), b);
        opt.zero_grad();
        Var out = model.forward(xb);
        Var loss = task_loss(task, o.loss, out, yb);
        const double lv = loss.item();
        if (!std::isfinite(lv)) throw diverged(lv, e);
        loss.backward();
        opt.step();
        st.loss_sum += lv * static_cast<double>(b);
        if (task != Task::Regression) st.correct += correct(task, out.value(), yb.classes);
      }
      st.done += b;
      ++st.batch;
      ++st.steps;
      if (o.on_batch) o.on_batch(st.done, n, st.loss_sum / static_cast<double>(st.done));
      rows = batches.next();
      if (!rows.empty() && stop_here()) {
        st.seconds += elapsed();
        model.set_training(false);
        return result(true);
      }
    }
    const double secs = st.seconds + elapsed();
    EpochStats es;
    es.epoch = e + 1;
    es.epochs = o.epochs;
    es.lr = opt.lr();
    es.train.loss = st.loss_sum / static_cast<double>(n);
    if (task != Task::Regression) es.train.accuracy = static_cast<double>(st.correct) / static_cast<double>(n);
    es.seconds = secs;
    es.samples_per_second = secs > 0 ? static_cast<double>(n) / secs : 0;
    if (has_val) {
      es.validation = score(model, task, o.loss, *val_x, *val_y);
      if (es.validation.loss < st.best) {
        st.best = es.validation.loss;
        st.best_epoch = e + 1;
        st.since_best = 0;
        if (o.patience > 0) {
          st.best_weights.clear();
          for (auto& p : params) st.best_weights.push_back(p.value().clone());
        }
      } else {
        ++st.since_best;
      }
    }
    st.history.push_back(es);
    bool go_on = !o.on_epoch || o.on_epoch(es);
    if (has_val && o.patience > 0 && st.since_best >= o.patience) {
      st.stopped_early = true;
      go_on = false;
    }
    st.epoch = e + 1;
    st.batch = st.done = st.correct = 0;
    st.loss_sum = st.seconds = 0;
    if (!go_on || st.epoch >= o.epochs) break;
    if (stop_here()) {
      model.set_training(false);
      return result(true);
    }
  }
  st.finished = true;
  if (o.on_checkpoint) o.on_checkpoint(st);
  if (!st.best_weights.empty() && st.best_epoch != static_cast<int>(st.history.size()))
    for (size_t i = 0; i < params.size(); ++i) params[i].value().copy_from(st.best_weights[i]);
  model.set_training(false);
  return result(false);
}

}  // namespace bp::train
