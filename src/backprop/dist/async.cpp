// Asynchronous SGD with a parameter server (docs/distributed.md, "Asynchronous SGD").
//
// Messages, all on the session's communicator, point to point:
//   server -> worker, kTagWork:  int64 {status, version, batch}  then, when status is kGo,
//                                the parameters (N floats)
//   worker -> server, kTagGrad:  double {version, batch, loss·rows, correct, rows}  then the
//                                gradient (N floats), the mean over the batch's rows
// MPI keeps the order of messages between two ranks on one tag, so each pair of messages
// arrives together. A worker waits only for the server's answer to its own push, which the
// server sends as soon as it has applied (or dropped) the gradient: never for another worker.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backprop/dist/dist.hpp"
#include "backprop/dist/mpi_wait.hpp"
#include "backprop/optim/flat.hpp"
#include "backprop/tensor/tensor.hpp"
#include "backprop/train/batches.hpp"

namespace bp::dist {

namespace {

constexpr int kTagWork = 11, kTagGrad = 12;
enum Status : int64_t { kGo = 0, kStop = 1, kDiverged = 2 };

// Batch `k` of the run (epoch k / per_epoch, batch k % per_epoch of that epoch's order) from
// a Batches that walks forward and restarts an epoch only when asked for an earlier batch.
class BatchCursor {
 public:
  explicit BatchCursor(train::Batches& b) : b_(b) {}
  std::span<const int64_t> at(int64_t k) {
    const int64_t per = b_.batches_per_epoch(), epoch = k / per, j = k % per;
    if (epoch != epoch_ || j < next_) {
      b_.start_epoch(epoch);
      epoch_ = epoch;
      next_ = 0;
    }
    std::span<const int64_t> rows;
    while (next_ <= j) {
      rows = b_.next();
      ++next_;
    }
    return rows;
  }

 private:
  train::Batches& b_;
  int64_t epoch_ = -1, next_ = 0;
};

int64_t correct_of(Task task, const Tensor& out, const std::vector<int32_t>& y) {
  if (task == Task::Regression) return 0;
  int64_t ok = 0;
  const int64_t n = out.dim(0), k = out.numel() / std::max<int64_t>(n, 1);
  for (int64_t i = 0; i < n; ++i) {
    int32_t pred;
    if (task == Task::Binary) {
      pred = out[i] >= 0.f ? 1 : 0;
    } else {
      const float* r = out.data() + i * k;
      pred = static_cast<int32_t>(std::max_element(r, r + k) - r);
    }
    ok += pred == y[static_cast<size_t>(i)];
  }
  return ok;
}

std::string diverged_message(double loss, int64_t epoch) {
  return "training diverged: loss is " + std::to_string(loss) + " in epoch " + std::to_string(epoch + 1) +
         " (try a smaller learning rate)";
}

// A worker computes with the model's own parameters, which sit in `flat` (the optimizer's
// buffers: the worker never steps its optimizer, it only overwrites the values).
void worker(MPI_Comm comm, nn::Module& model, Task task, const Tensor& x, const train::Targets& y,
            const train::FitOptions& o, const optim::FlatParameters& flat, train::Batches& batches) {
  const int n = static_cast<int>(flat.size);
  BatchCursor cursor(batches);
  for (;;) {
    int64_t head[3];
    MPI_Request req;
    MPI_Irecv(head, 3, MPI_INT64_T, 0, kTagWork, comm, &req);
    detail::wait_for(req);  // not a blocking receive: it would spin
    if (head[0] == kDiverged) throw train::DivergenceError("training diverged on another worker (the server stopped)");
    if (head[0] != kGo) break;
    MPI_Recv(flat.value_data(), n, MPI_FLOAT, 0, kTagWork, comm, MPI_STATUS_IGNORE);
    const auto rows = cursor.at(head[2]);
    const auto b = static_cast<int64_t>(rows.size());
    Var xb(gather_rows(x, rows.data(), b));
    train::Targets yb = y.gather(rows.data(), b);
    flat.zero_grad();
    Var out = model.forward(xb);
    Var loss = train::task_loss(task, o.loss, out, yb);
    const double lv = loss.item();
    if (std::isfinite(lv)) loss.backward();
    double msg[5] = {static_cast<double>(head[1]), static_cast<double>(head[2]), lv * static_cast<double>(b),
                     static_cast<double>(correct_of(task, out.value(), yb.classes)), static_cast<double>(b)};
    MPI_Send(msg, 5, MPI_DOUBLE, 0, kTagGrad, comm);
    MPI_Send(flat.grad_data(), n, MPI_FLOAT, 0, kTagGrad, comm);
  }
}

train::FitResult server(MPI_Comm comm, int size, nn::Module& model, Task task, int64_t rows_total,
                        optim::Optimizer& opt, const train::FitOptions& o, const AsyncOptions& a,
                        train::Batches& batches, const Tensor* val_x, const train::Targets* val_y,
                        AsyncStats& st) {
  const optim::FlatParameters& flat = opt.flat();
  const int n = static_cast<int>(flat.size);
  const int64_t per = batches.batches_per_epoch(), total = per * o.epochs;
  auto schedule = optim::make_schedule(o.schedule, o.epochs);
  const float base_lr = opt.lr();
  const bool has_val = val_x && val_y && val_x->dim(0) > 0;

  int64_t version = 0, next = 0, stopped = 0;
  Status ending = kGo;  // kStop after on_epoch said so, kDiverged after a non-finite loss
  double diverged_loss = 0;
  int64_t diverged_epoch = 0;
  auto reply = [&](int to) {
    int64_t head[3] = {ending != kGo ? ending : (next < total ? kGo : kStop), version, next};
    MPI_Send(head, 3, MPI_INT64_T, to, kTagWork, comm);
    if (head[0] == kGo) {
      MPI_Send(flat.value_data(), n, MPI_FLOAT, to, kTagWork, comm);
      ++next;
    } else {
      ++stopped;
    }
  };
  for (int w = 1; w < size; ++w) reply(w);

  struct Epoch {
    int64_t received = 0, correct = 0, rows = 0;
    double loss = 0;
  };
  std::vector<Epoch> epochs(static_cast<size_t>(o.epochs));
  int64_t finished = 0;  // epochs whose every batch came back
  train::FitResult r;
  auto t0 = std::chrono::steady_clock::now();
  double stale_sum = 0;
  while (stopped < size - 1) {
    double msg[5];
    MPI_Status status;
    MPI_Request req;
    MPI_Irecv(msg, 5, MPI_DOUBLE, MPI_ANY_SOURCE, kTagGrad, comm, &req);
    detail::wait_for(req, &status);
    const int from = status.MPI_SOURCE;
    MPI_Recv(flat.grad_data(), n, MPI_FLOAT, from, kTagGrad, comm, MPI_STATUS_IGNORE);
    const auto k = static_cast<int64_t>(msg[1]);
    const int64_t e = k / per, staleness = version - static_cast<int64_t>(msg[0]);
    if (!std::isfinite(msg[2]) && ending != kDiverged) {
      ending = kDiverged;
      diverged_loss = msg[2] / msg[4];
      diverged_epoch = e;
    }
    if (ending == kGo) {
      if (a.max_staleness > 0 && staleness > a.max_staleness) {
        ++st.dropped;
      } else {
        opt.set_lr(schedule->lr(base_lr, static_cast<int>(e)));
        opt.step();
        ++version;
        ++st.applied;
        stale_sum += static_cast<double>(staleness);
        st.max_staleness = std::max(st.max_staleness, staleness);
      }
      Epoch& ep = epochs[static_cast<size_t>(e)];
      ++ep.received;
      ep.loss += msg[2];
      ep.correct += static_cast<int64_t>(msg[3]);
      ep.rows += static_cast<int64_t>(msg[4]);
      if (o.on_batch && e == finished) o.on_batch(ep.rows, rows_total, ep.loss / static_cast<double>(ep.rows));
      // Epochs end in order: an epoch's statistics are reported once its last batch is back.
      while (ending == kGo && finished < o.epochs && epochs[static_cast<size_t>(finished)].received == per) {
        const Epoch& done = epochs[static_cast<size_t>(finished)];
        train::EpochStats s;
        s.epoch = static_cast<int>(finished) + 1;
        s.epochs = o.epochs;
        s.lr = opt.lr();
        s.train.loss = done.loss / static_cast<double>(done.rows);
        if (task != Task::Regression) s.train.accuracy = static_cast<double>(done.correct) / static_cast<double>(done.rows);
        const auto t1 = std::chrono::steady_clock::now();
        s.seconds = std::chrono::duration<double>(t1 - t0).count();
        t0 = t1;
        s.samples_per_second = s.seconds > 0 ? static_cast<double>(done.rows) / s.seconds : 0;
        if (has_val) {
          s.validation = train::score(model, task, o.loss, *val_x, *val_y);
          model.set_training(true);
        }
        r.history.push_back(s);
        ++finished;
        if (o.on_epoch && !o.on_epoch(s)) ending = kStop;
      }
    }
    reply(from);
  }
  st.mean_staleness = st.applied ? stale_sum / static_cast<double>(st.applied) : 0;
  if (ending == kDiverged) throw train::DivergenceError(diverged_message(diverged_loss, diverged_epoch));
  return r;
}

}  // namespace

train::FitResult fit_async(const Session& session, nn::Module& model, Task task, const Tensor& x,
                           const train::Targets& y, optim::Optimizer& opt, const train::FitOptions& o,
                           const AsyncOptions& a, const Tensor* val_x, const train::Targets* val_y,
                           AsyncStats* stats) {
  const int64_t n = x.dim(0);
  if (session.size() < 2)
    throw std::invalid_argument("asynchronous SGD needs at least 2 processes (a parameter server and a worker); "
                                "start it with mpirun -np P, P >= 2");
  if (n == 0) throw std::invalid_argument("no training examples");
  if (y.size() != n) throw ShapeError(std::to_string(y.size()) + " targets for " + std::to_string(n) + " examples");
  if (o.epochs <= 0) throw std::invalid_argument("epochs must be positive");
  if (o.batch_size < 0) throw std::invalid_argument("batch size must be >= 0 (0 = full batch)");
  if (o.patience > 0) throw std::invalid_argument("early stopping (patience) is not supported by asynchronous SGD");
  if (a.max_staleness < 0) throw std::invalid_argument("the staleness bound must be >= 0 (0: none)");
  MPI_Comm comm = *static_cast<MPI_Comm*>(session.comm());
  train::Batches batches(n, o.batch_size, o.seed);
  // Every rank starts from the server's parameters (the workers' are overwritten by every
  // answer anyway; the broadcast also makes the ranks agree before the first message).
  const optim::FlatParameters& flat = opt.flat();
  MPI_Bcast(flat.value_data(), static_cast<int>(flat.size), MPI_FLOAT, 0, comm);
  AsyncStats local;
  train::FitResult r;
  model.set_training(true);
  if (session.rank() == 0)
    r = server(comm, session.size(), model, task, n, opt, o, a, batches, val_x, val_y, local);
  else
    worker(comm, model, task, x, y, o, flat, batches);
  model.set_training(false);
  MPI_Bcast(flat.value_data(), static_cast<int>(flat.size), MPI_FLOAT, 0, comm);
  if (stats) *stats = local;
  return r;
}

}  // namespace bp::dist
