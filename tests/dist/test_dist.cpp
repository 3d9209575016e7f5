// Training on several processes (src/backprop/dist/, docs/distributed.md), run by CTest under
// mpirun at P = 1, 2 and 3 (CMakeLists.txt, Dist.LibraryP*): every rank runs every test.
//   * synchronous data-parallel training gives, step by step, the losses of one process with
//     the same global batch (max relative difference <= 1e-5 over 50+ steps), for the MLP and
//     LeNet-5, with a last batch smaller than the number of ranks;
//   * the same run twice gives the same bits, and every rank holds the same bits;
//   * one rank is bit-identical to train::fit alone;
//   * a stop asked on one rank stops every rank after the same step; continuing from the state
//     ends bit-identical to the run never stopped; checkpoints refuse networks with dropout;
//   * asynchronous SGD trains, applies or drops every batch once, keeps its staleness bound,
//     and leaves every rank with the server's parameters.
// A test must reach every collective call on every rank, so checks are EXPECTs after them.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backprop/dist/dist.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/training.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/rng.hpp"

namespace {

const bp::dist::Session* g_session = nullptr;

int rank() { return g_session->rank(); }
int size() { return g_session->size(); }

// A learnable 3-class problem: the label is the argmax of a fixed linear map of the features.
struct Problem {
  bp::Tensor x;
  bp::train::Targets y;
};
Problem blobs(int64_t n, bp::Shape row_shape, uint64_t seed) {
  int64_t d = 1;
  for (auto s : row_shape) d *= s;
  bp::Shape shape{n};
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  Problem p{bp::Tensor(shape), {}};
  bp::Rng rng(seed);
  std::vector<double> w(static_cast<size_t>(3 * d));
  for (auto& v : w) v = rng.normal();
  for (int64_t i = 0; i < n; ++i) {
    double best = -1e300;
    int arg = 0;
    for (int64_t j = 0; j < d; ++j) p.x[i * d + j] = static_cast<float>(rng.normal());
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += w[static_cast<size_t>(c * d + j)] * p.x[i * d + j];
      if (s > best) best = s, arg = c;
    }
    p.y.classes.push_back(arg);
  }
  return p;
}

std::unique_ptr<bp::nn::Module> mlp(int64_t inputs) {
  bp::nn::MLPConfig c;
  c.inputs = inputs;
  c.hidden = {32, 16};
  c.activations = {bp::nn::Act::ReLU};
  c.outputs = 3;
  c.seed = 7;
  return bp::nn::make_mlp(c);
}

std::unique_ptr<bp::nn::Module> lenet() {
  bp::nn::LeNetConfig c;
  c.classes = 3;
  c.seed = 7;
  return bp::nn::make_lenet5(c);
}

struct TrainRun {
  std::vector<double> losses;  // one per step: the global batch's mean loss
  std::vector<float> weights;
};

// Trains a fresh model with Adam (or SGD with momentum 0.9); with `sync`, as one rank of the
// data-parallel run.
template <class Make>
TrainRun train(Make make, const Problem& p, int64_t batch, int epochs, bp::train::GradientSync* sync,
               bool adam = true) {
  auto model = make();
  bp::optim::OptimizerSpec spec{.name = adam ? "adam" : "momentum", .lr = adam ? 3e-3f : 0.02f};
  auto owned = bp::optim::make_optimizer(spec, model->parameters());
  bp::optim::Optimizer& opt = *owned;
  bp::train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.seed = 3;
  o.sync = sync;
  TrainRun r;
  double last_total = 0;
  int64_t last_done = 0;
  // on_batch reports the running mean of the epoch; the step's own loss is the difference of
  // the running totals (sums in double: exact enough to compare at 1e-5).
  o.on_batch = [&](int64_t done, int64_t, double mean) {
    if (done < last_done) last_total = 0, last_done = 0;
    const double total = mean * static_cast<double>(done);
    r.losses.push_back((total - last_total) / static_cast<double>(done - last_done));
    last_total = total;
    last_done = done;
  };
  bp::train::fit(*model, bp::Task::Multiclass, p.x, p.y, opt, o);
  const auto& flat = opt.flat();
  r.weights.assign(flat.value_data(), flat.value_data() + flat.size);
  return r;
}

double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-12));
  return worst;
}

// Whether every rank holds exactly rank 0's floats.
bool same_bits_everywhere(const std::vector<float>& w) {
  std::vector<float> root = w;
  MPI_Bcast(root.data(), static_cast<int>(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  int same = std::memcmp(root.data(), w.data(), w.size() * sizeof(float)) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

TEST(SyncDataParallel, MlpLossesMatchOneProcessAndRunsRepeatBitForBit) {
  // 241 rows in batches of 24: 11 steps an epoch, the last of 1 row (fewer rows than ranks).
  const Problem p = blobs(241, {12}, 1);
  auto make = [] { return mlp(12); };
  const TrainRun alone = train(make, p, 24, 5, nullptr);
  auto sync = bp::dist::make_allreduce_sync(*g_session);
  const TrainRun a = train(make, p, 24, 5, sync.get());
  const TrainRun b = train(make, p, 24, 5, sync.get());
  ASSERT_EQ(a.losses.size(), 55u);
  ASSERT_EQ(alone.losses.size(), a.losses.size());
  const double mlp_diff = max_relative_difference(a.losses, alone.losses);
  if (rank() == 0) std::printf("MLP, P = %d: max relative loss difference %.2e over %zu steps\n", size(), mlp_diff, a.losses.size());
  EXPECT_LE(mlp_diff, 1e-5) << "P = " << size();
  EXPECT_EQ(0, std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * sizeof(float)))
      << "the same run twice on P = " << size() << " gave different weights";
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_TRUE(same_bits_everywhere(a.weights)) << "the ranks' weights differ";
  if (size() == 1) {  // one rank is train::fit alone, bit for bit
    EXPECT_EQ(0, std::memcmp(a.weights.data(), alone.weights.data(), a.weights.size() * sizeof(float)));
    EXPECT_EQ(a.losses, alone.losses);
  }
  // The losses went down: the test compares runs that learn.
  EXPECT_LT(a.losses.back() + a.losses[a.losses.size() - 2], a.losses[0] + a.losses[1]);
}

TEST(SyncDataParallel, LeNetLossesMatchOneProcess) {
  // SGD with momentum, the usual optimizer of a CNN. With Adam (lr 3e-3) this run sits at the
  // float floor of the test's bound: one process alone differs from itself by 1.4e-5 at step 49
  // between 1 and 2 threads (the same difference P = 2 shows: docs/distributed.md).
  const Problem p = blobs(600, {1, 28, 28}, 2);
  const TrainRun alone = train(lenet, p, 12, 1, nullptr, false);
  auto sync = bp::dist::make_allreduce_sync(*g_session, {.bucket_floats = 10000});  // several buckets
  const TrainRun a = train(lenet, p, 12, 1, sync.get(), false);
  ASSERT_EQ(a.losses.size(), 50u);
  const double diff = max_relative_difference(a.losses, alone.losses);
  if (rank() == 0) std::printf("LeNet-5, P = %d: max relative loss difference %.2e over %zu steps\n", size(), diff, a.losses.size());
  EXPECT_LE(diff, 1e-5) << "P = " << size();
  EXPECT_TRUE(same_bits_everywhere(a.weights));
  auto mean = [](const std::vector<double>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s / static_cast<double>(to - from);
  };
  EXPECT_LT(mean(a.losses, 40, 50), 0.9 * mean(a.losses, 0, 10)) << "LeNet-5 did not learn";
}

// A stop asked on one rank only (as a signal that reaches one process first) stops every rank
// after the same step, with the same state; continuing from that state ends bit-identical to
// the run never stopped. The stop is asked at the 5th step (inside the first epoch), the 11th
// (the first epoch's last: the stop comes at the epoch's end) and the 16th.
TEST(SyncDataParallel, AStopAskedOnOneRankStopsAllAfterTheSameStepAndResumesBitForBit) {
  const Problem p = blobs(241, {12}, 1);  // 11 steps an epoch
  auto sync = bp::dist::make_allreduce_sync(*g_session);
  auto run = [&](int64_t stop_at, bp::train::TrainState& st, std::vector<float>& weights, bool& interrupted,
                 int64_t& steps_at_stop) {
    auto model = mlp(12);
    auto opt = bp::optim::make_optimizer({.name = "adam", .lr = 3e-3f}, model->parameters());
    bp::train::FitOptions o;
    o.epochs = 3;
    o.batch_size = 24;
    o.seed = 3;
    o.sync = sync.get();
    o.state = &st;
    int64_t asked = 0;
    // Only the last rank ever says stop (with P = 1, rank 0).
    o.should_stop = [&] { return stop_at > 0 && rank() == size() - 1 && ++asked >= stop_at; };
    interrupted = bp::train::fit(*model, bp::Task::Multiclass, p.x, p.y, *opt, o).interrupted;
    steps_at_stop = st.steps;
    if (interrupted) {  // continue in the same objects from the state, without stopping
      o.should_stop = nullptr;
      EXPECT_FALSE(bp::train::fit(*model, bp::Task::Multiclass, p.x, p.y, *opt, o).interrupted);
    }
    weights.assign(opt->flat().value_data(), opt->flat().value_data() + opt->flat().size);
  };
  bp::train::TrainState straight_state;
  std::vector<float> straight;
  bool straight_interrupted = true;
  int64_t straight_steps = 0;
  run(0, straight_state, straight, straight_interrupted, straight_steps);
  EXPECT_FALSE(straight_interrupted);
  EXPECT_EQ(straight_steps, 33);
  for (const int64_t k : {5, 11, 16}) {
    bp::train::TrainState st;
    std::vector<float> w;
    bool interrupted = false;
    int64_t steps = 0;
    run(k, st, w, interrupted, steps);
    int64_t lo = 0, hi = 0;
    MPI_Allreduce(&steps, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&steps, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_TRUE(interrupted) << "rank " << rank() << ", stop at step " << k;
    EXPECT_EQ(lo, hi) << "the ranks stopped after different steps (stop at step " << k << ")";
    EXPECT_EQ(steps, k) << "the stop asked in step " << k << " should end the run after it";
    EXPECT_EQ(0, std::memcmp(w.data(), straight.data(), w.size() * sizeof(float)))
        << "stopped at step " << k << " and continued, P = " << size() << ": other weights than the run never stopped";
    EXPECT_EQ(st.history.size(), straight_state.history.size());
    for (size_t e = 0; e < std::min(st.history.size(), straight_state.history.size()); ++e)
      EXPECT_EQ(st.history[e].train.loss, straight_state.history[e].train.loss) << "epoch " << e + 1;
    EXPECT_TRUE(same_bits_everywhere(w));
  }
}

// Checkpoints of a data-parallel run hold rank 0's generators only, which the other ranks'
// dropout does not follow: a network with dropout (the residual net's, 0.3) is refused before
// training; the MLP (no random layer) trains with the same hooks.
TEST(SyncDataParallel, CheckpointsRefuseNetworksWithRandomLayers) {
  auto sync = bp::dist::make_allreduce_sync(*g_session);
  auto run = [&](const std::string& name, bp::Shape row) {
    const Problem p = blobs(48, row, 4);
    bp::data::Dataset d;
    d.task = bp::Task::Multiclass;
    d.x = p.x;
    d.labels = p.y.classes;
    d.class_names = {"a", "b", "c"};
    bp::pipeline::TrainSpec spec;
    spec.model.name = name;
    spec.model.hidden = {8};
    spec.fit.epochs = 1;
    spec.fit.batch_size = 12;
    spec.fit.sync = sync.get();
    bp::pipeline::Checkpointing cp;
    return bp::pipeline::train_model(spec, d, row, nullptr, &cp);
  };
  try {
    run("resnet", {1, 16, 16});
    ADD_FAILURE() << "a residual net with dropout took checkpoints on several processes";
  } catch (const bp::pipeline::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("dropout"), std::string::npos) << e.what();
  }
  EXPECT_EQ(run("mlp", {12}).state.steps, 4);
}

TEST(SyncDataParallel, ABatchSmallerThanTheRanksIsRefused) {
  if (size() < 2) GTEST_SKIP() << "needs P >= 2";
  const Problem p = blobs(20, {4}, 3);
  auto sync = bp::dist::make_allreduce_sync(*g_session);
  try {
    train([] { return mlp(4); }, p, size() - 1, 1, sync.get());
    ADD_FAILURE() << "a batch of " << size() - 1 << " rows on " << size() << " ranks was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least as many rows"), std::string::npos) << e.what();
  }
}

TEST(AsyncSgd, TrainsAndKeepsItsStalenessBound) {
  const Problem p = blobs(400, {12}, 4);
  for (int bound : {0, 1}) {
    auto model = mlp(12);
    bp::optim::Adam opt(model->parameters(), {.lr = 3e-3f});
    bp::train::FitOptions o;
    o.epochs = 6;
    o.batch_size = 20;
    o.seed = 3;
    std::vector<double> epoch_loss;
    o.on_epoch = [&](const bp::train::EpochStats& s) {
      epoch_loss.push_back(s.train.loss);
      return true;
    };
    bp::dist::AsyncStats st;
    if (size() < 2) {
      EXPECT_THROW(bp::dist::fit_async(*g_session, *model, bp::Task::Multiclass, p.x, p.y, opt, o, {bound}),
                   std::invalid_argument);
      continue;
    }
    bp::dist::fit_async(*g_session, *model, bp::Task::Multiclass, p.x, p.y, opt, o, {bound}, nullptr, nullptr, &st);
    std::vector<float> w(opt.flat().value_data(), opt.flat().value_data() + opt.flat().size);
    EXPECT_TRUE(same_bits_everywhere(w)) << "the workers do not end with the server's parameters";
    if (rank() != 0) continue;
    EXPECT_EQ(st.applied + st.dropped, 6 * 20) << "every batch is applied or dropped exactly once";
    ASSERT_EQ(epoch_loss.size(), 6u);
    EXPECT_LT(epoch_loss.back(), 0.7 * epoch_loss.front());
    if (bound > 0) EXPECT_LE(st.max_staleness, bound);
    if (size() == 2) EXPECT_EQ(st.max_staleness, 0) << "one worker never computes on stale parameters";
  }
}

// On ranks other than 0: only the failures, named by rank.
class FailurePrinter : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "rank %d: %s:%d: failure\n%s\n", rank(), r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.message());
  }
};

}  // namespace

int main(int argc, char** argv) {
  bp::dist::Session session;
  g_session = &session;
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 reports each test's progress; a failure is printed by the rank that saw it.
  if (session.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter);
  }
  int failed = RUN_ALL_TESTS() != 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any && session.rank() == 0) std::fprintf(stderr, "a test failed on some rank (P = %d)\n", session.size());
  return any;
}
