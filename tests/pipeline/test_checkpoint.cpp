// Checkpoints (docs/checkpoints.md): a run stopped after k steps, written to a file, read back
// into a freshly built network and optimizer and continued, ends bit-identical (weights, loss
// history) to the run that was never stopped — for an MLP (with early stopping), LeNet-5, and a
// residual net with dropout and augmentation (whose generators must be restored: shown by
// a control that leaves them out and differs). Then the pipeline's train → checkpoint → resume,
// and the refusals: corrupt, truncated, not a checkpoint, conflicting options, other data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "backprop/io/model_file.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/pipeline/checkpoint.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/data/error.hpp"
#include "backprop/util/rng.hpp"
#include "../test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

class Checkpoints : public bp::testing::TempDirTest {
 protected:
  Checkpoints() : TempDirTest("backprop_ckpt") {}
};

// A training problem at the fit level.
struct Problem {
  std::function<std::unique_ptr<nn::Module>()> make;
  Task task = Task::Multiclass;
  Tensor x, vx;
  train::Targets y, vy;
  optim::OptimizerSpec optimizer;
  train::FitOptions fit;
  bool validation = false;
};

struct Outcome {
  std::vector<float> weights;  // parameters, then buffers
  std::vector<train::EpochStats> history;
  int best_epoch = 0;
  bool stopped_early = false;
  int stops = 0;  // times the run was stopped and resumed
};

std::vector<float> all_weights(nn::Module& m) {
  std::vector<float> w;
  for (auto& p : m.parameters()) w.insert(w.end(), p.value().data(), p.value().data() + p.numel());
  for (auto* b : m.buffers()) w.insert(w.end(), b->data(), b->data() + b->numel());
  return w;
}

train::FitResult run_fit(const Problem& p, nn::Module& m, optim::Optimizer& opt, train::FitOptions fo) {
  return train::fit(m, p.task, p.x, p.y, opt, fo, p.validation ? &p.vx : nullptr, p.validation ? &p.vy : nullptr);
}

Outcome straight(const Problem& p) {
  auto m = p.make();
  auto opt = optim::make_optimizer(p.optimizer, m->parameters());
  const train::FitResult r = run_fit(p, *m, *opt, p.fit);
  return {all_weights(*m), r.history, r.best_epoch, r.stopped_early, 0};
}

// Stops after each step count in `stops` (a stop that falls on an epoch's end stops there),
// writes a checkpoint, and continues in a new network and optimizer read from the file.
// restore_generators false: the control, whose dropout and augmentation start afresh.
Outcome interrupted(const Problem& p, const std::vector<int64_t>& stops, const std::string& file,
                    bool restore_generators = true) {
  Outcome out;
  size_t next = 0;
  for (;;) {
    auto m = p.make();
    auto opt = optim::make_optimizer(p.optimizer, m->parameters());
    train::TrainState state;
    if (fs::exists(file)) {
      const pipeline::Checkpoint c = pipeline::load_checkpoint(file);
      std::vector<std::string> fresh;
      for (const Rng* g : m->generators()) fresh.push_back(g->state());
      pipeline::restore_checkpoint(c, *m, *opt, state);
      if (!restore_generators)
        for (size_t i = 0; i < fresh.size(); ++i) m->generators()[i]->set_state(fresh[i]);
    }
    train::FitOptions fo = p.fit;
    fo.state = &state;
    fo.should_stop = [&] { return next < stops.size() && state.steps >= stops[next]; };
    const train::FitResult r = run_fit(p, *m, *opt, fo);
    if (!r.interrupted) {
      out.weights = all_weights(*m);
      out.history = r.history;
      out.best_epoch = r.best_epoch;
      out.stopped_early = r.stopped_early;
      return out;
    }
    ++next;
    ++out.stops;
    const pipeline::TrainingPlan plan{p.fit.epochs, 0.0, p.fit.patience};
    const std::vector<std::string> names;
    pipeline::save_checkpoint(file, {*m, *opt, state, plan, p.task, names, nullptr, nlohmann::json::object()});
  }
}

uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// Bit for bit: every weight, every epoch's losses and accuracies.
void expect_identical(const Outcome& a, const Outcome& b) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  EXPECT_EQ(std::memcmp(a.weights.data(), b.weights.data(), sizeof(float) * a.weights.size()), 0)
      << "the weights differ";
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_EQ(bits(a.history[i].train.loss), bits(b.history[i].train.loss)) << "epoch " << i + 1;
    EXPECT_EQ(bits(a.history[i].train.accuracy), bits(b.history[i].train.accuracy)) << "epoch " << i + 1;
    EXPECT_EQ(bits(a.history[i].validation.loss), bits(b.history[i].validation.loss)) << "epoch " << i + 1;
    EXPECT_EQ(a.history[i].lr, b.history[i].lr);
  }
  EXPECT_EQ(a.best_epoch, b.best_epoch);
  EXPECT_EQ(a.stopped_early, b.stopped_early);
}

// Random inputs of `shape` per row and labels from a fixed rule, so that training learns.
void make_data(Problem& p, int64_t rows, const Shape& row_shape, int classes, uint64_t seed) {
  Shape s{rows};
  s.insert(s.end(), row_shape.begin(), row_shape.end());
  p.x = bp::testing::random_tensor(s, seed);
  const int64_t width = p.x.numel() / rows;
  for (int64_t i = 0; i < rows; ++i) {
    float sum = 0;
    for (int64_t k = 0; k < std::min<int64_t>(width, 5); ++k) sum += p.x[i * width + k];
    p.y.classes.push_back(static_cast<int32_t>(sum > 0 ? 1 + (i % (classes - 1)) * (classes > 2) : 0));
  }
}

Problem mlp_problem() {
  Problem p;
  p.task = Task::Binary;
  make_data(p, 60, {8}, 2, 11);
  Problem v;
  make_data(v, 20, {8}, 2, 12);
  p.vx = v.x;
  p.vy = v.y;
  p.validation = true;
  p.make = [] {
    return nn::make_model({.name = "mlp", .input_shape = {8}, .outputs = 1, .task = Task::Binary, .hidden = {16, 8},
                           .seed = 3});
  };
  p.optimizer = {.name = "adam", .lr = 0.05f};
  p.fit.epochs = 30;
  p.fit.batch_size = 8;  // 8 steps per epoch, the last one short
  p.fit.seed = 5;
  p.fit.schedule = "cosine";
  p.fit.patience = 3;
  return p;
}

TEST_F(Checkpoints, MlpStoppedAndResumedIsBitIdentical) {
  const Problem p = mlp_problem();
  const Outcome a = straight(p);
  ASSERT_TRUE(a.stopped_early) << "the problem is meant to exercise early stopping's saved state";
  ASSERT_LT(a.best_epoch, static_cast<int>(a.history.size()));  // the best weights are restored at the end
  // Inside the first epoch, on an epoch's end (step 16), after the best epoch, and three times.
  for (const auto& stops : std::vector<std::vector<int64_t>>{{3}, {16}, {8 * (a.best_epoch + 1) + 2}, {5, 21, 40}}) {
    fs::remove(path("mlp.ckpt"));
    const Outcome b = interrupted(p, stops, path("mlp.ckpt"));
    EXPECT_EQ(b.stops, static_cast<int>(stops.size()));
    expect_identical(a, b);
  }
}

TEST_F(Checkpoints, LeNetStoppedAndResumedIsBitIdentical) {
  Problem p;
  make_data(p, 24, {1, 28, 28}, 10, 21);
  p.make = [] { return nn::make_lenet5({.seed = 9}); };
  p.optimizer = {.name = "nesterov", .lr = 0.05f, .momentum = 0.9f};
  p.fit.epochs = 2;
  p.fit.batch_size = 8;
  p.fit.seed = 2;
  p.fit.schedule = "step:1:0.5";
  const Outcome a = straight(p);
  const Outcome b = interrupted(p, {2, 4}, path("lenet.ckpt"));
  EXPECT_EQ(b.stops, 2);
  expect_identical(a, b);
}

TEST_F(Checkpoints, DropoutAndAugmentationGeneratorsAreRestored) {
  Problem p;
  make_data(p, 16, {1, 8, 8}, 3, 31);
  p.make = [] {
    return nn::make_resnet({.input = {1, 8, 8}, .classes = 3, .stem = 4, .stages = {4}, .dropout = 0.5f,
                            .augment_shift = 1, .seed = 4});
  };
  ASSERT_EQ(p.make()->generators().size(), 2u);  // augmentation, dropout
  p.optimizer = {.name = "rmsprop", .lr = 0.01f};
  p.fit.epochs = 2;
  p.fit.batch_size = 4;
  p.fit.seed = 6;
  const Outcome a = straight(p);
  const Outcome b = interrupted(p, {3}, path("resnet.ckpt"));
  expect_identical(a, b);
  // The control: the same stop without the generators' states ends elsewhere, so the test
  // above sees them.
  fs::remove(path("resnet.ckpt"));
  const Outcome c = interrupted(p, {3}, path("resnet.ckpt"), /*restore_generators=*/false);
  EXPECT_NE(std::memcmp(a.weights.data(), c.weights.data(), sizeof(float) * a.weights.size()), 0);
}

TEST(RngState, RoundTripsAndRefusesGarbage) {
  Rng a(77);
  a.normal();  // leaves a Box–Muller spare
  a.next_u64();
  Rng b(1);
  b.set_state(a.state());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.normal(), b.normal());
  EXPECT_EQ(a.next_u64(), b.next_u64());
  const std::string before = b.state();
  EXPECT_THROW(b.set_state("1 2 3"), std::invalid_argument);
  EXPECT_THROW(b.set_state(before + " 9"), std::invalid_argument);
  EXPECT_EQ(b.state(), before);
}

TEST(CheckpointEvery, ParsesUnitsAndRefusesTheRest) {
  using U = pipeline::CheckpointEvery::Unit;
  EXPECT_EQ(pipeline::CheckpointEvery::parse("3").unit, U::Epochs);
  EXPECT_EQ(pipeline::CheckpointEvery::parse("2epochs").n, 2);
  EXPECT_EQ(pipeline::CheckpointEvery::parse("500steps").unit, U::Steps);
  EXPECT_EQ(pipeline::CheckpointEvery::parse("1.5s").unit, U::Seconds);
  EXPECT_DOUBLE_EQ(pipeline::CheckpointEvery::parse("1.5s").n, 1.5);
  for (const char* bad : {"", "s", "0", "-1steps", "1.5epochs", "3 steps", "10min", "nan", "inf s"})
    EXPECT_THROW(pipeline::CheckpointEvery::parse(bad), pipeline::UsageError) << bad;
}

// ---- the pipeline: train_evaluate_save with checkpoints

pipeline::TrainRunOptions sonar_run(const std::string& output) {
  pipeline::TrainRunOptions o;
  o.data.source = bp::testing::repo_data("Sonar.csv");
  o.data.split_seed = 3;
  o.spec.model.name = "mlp";
  o.spec.model.hidden = {12};
  o.spec.model.seed = 8;
  o.spec.optimizer.name = "adam";
  o.spec.optimizer.lr = 0.01f;
  o.spec.fit.epochs = 12;
  o.spec.fit.batch_size = 16;
  o.spec.fit.seed = 8;
  o.spec.fit.schedule = "cosine";
  o.spec.fit.patience = 4;
  o.spec.validation_fraction = 0.2;
  o.output = output;
  return o;
}

// The tensors of a saved model, by name (the metadata holds timings, which differ).
std::map<std::string, std::vector<float>> model_tensors(const std::string& file) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, t] : io::read_safetensors(file).tensors)
    out[name] = std::vector<float>(t.data(), t.data() + t.numel());
  return out;
}

std::vector<double> history_losses(const nlohmann::json& report) {
  std::vector<double> out;
  for (const auto& e : report.at("training").at("history")) {
    out.push_back(e.at("loss").get<double>());
    out.push_back(e.at("val_loss").get<double>());
  }
  return out;
}

TEST_F(Checkpoints, PipelineRunStoppedAndResumedSavesTheSameModel) {
  const pipeline::TrainRunResult a = pipeline::train_evaluate_save(sonar_run(path("a.safetensors")));

  pipeline::TrainRunOptions o = sonar_run(path("b.safetensors"));
  o.checkpoint.path = path("b.ckpt");
  o.checkpoint.every = pipeline::CheckpointEvery::parse("5steps");
  int calls = 0;
  o.checkpoint.should_stop = [&] { return ++calls == 20; };
  o.checkpoint.caller = {{"note", "kept"}};
  const pipeline::TrainRunResult stopped = pipeline::train_evaluate_save(o);
  ASSERT_TRUE(stopped.interrupted);
  EXPECT_FALSE(fs::exists(path("b.safetensors")));
  EXPECT_EQ(stopped.state.steps, 20);

  auto c = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("b.ckpt")));
  EXPECT_EQ(c->state.steps, 20);
  EXPECT_EQ(c->run.at("options").at("note"), "kept");
  EXPECT_TRUE(c->run.at("data").contains("fingerprint"));
  o.checkpoint.resume = c;
  o.checkpoint.should_stop = nullptr;
  const pipeline::TrainRunResult b = pipeline::train_evaluate_save(o);
  ASSERT_FALSE(b.interrupted);
  EXPECT_FALSE(b.resumed_finished);
  EXPECT_EQ(model_tensors(path("a.safetensors")), model_tensors(path("b.safetensors")));
  EXPECT_EQ(history_losses(a.report), history_losses(b.report));
  EXPECT_EQ(a.report.at("test"), b.report.at("test"));

  // The last checkpoint is of the finished run: resuming it trains nothing and saves the same model.
  auto done = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("b.ckpt")));
  EXPECT_TRUE(done->state.finished);
  o.checkpoint.resume = done;
  o.output = path("c.safetensors");
  const pipeline::TrainRunResult again = pipeline::train_evaluate_save(o);
  EXPECT_TRUE(again.resumed_finished);
  EXPECT_EQ(model_tensors(path("a.safetensors")), model_tensors(path("c.safetensors")));
  EXPECT_EQ(history_losses(a.report), history_losses(again.report));
}

TEST_F(Checkpoints, RegressionWithScaledTargetsResumesToTheSameModel) {
  // The fit sees standardised targets and the unscaling is folded into the output layer at the
  // end: a checkpoint holds the fit's units, and the resumed run folds once.
  pipeline::TrainRunOptions o = sonar_run(path("a.safetensors"));
  o.data.source = bp::testing::repo_data("Servo.csv");
  o.spec.fit.patience = 0;
  o.spec.validation_fraction = 0;
  const pipeline::TrainRunResult a = pipeline::train_evaluate_save(o);
  ASSERT_EQ(a.report.at("training").at("task"), "regression");
  o.output = path("b.safetensors");
  o.checkpoint.path = path("b.ckpt");
  int calls = 0;
  o.checkpoint.should_stop = [&] { return ++calls == 13; };
  ASSERT_TRUE(pipeline::train_evaluate_save(o).interrupted);
  o.checkpoint.should_stop = nullptr;
  o.checkpoint.resume = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("b.ckpt")));
  pipeline::train_evaluate_save(o);
  EXPECT_EQ(model_tensors(path("a.safetensors")), model_tensors(path("b.safetensors")));
  o.checkpoint.resume = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("b.ckpt")));
  o.output = path("c.safetensors");
  EXPECT_TRUE(pipeline::train_evaluate_save(o).resumed_finished);
  EXPECT_EQ(model_tensors(path("a.safetensors")), model_tensors(path("c.safetensors")));
}

TEST_F(Checkpoints, EarlyStoppingStateIsKept) {
  // A run whose early stopping has a best epoch before the stop keeps its best weights in the
  // checkpoint, and ends with them.
  pipeline::TrainRunOptions o = sonar_run(path("m.safetensors"));
  o.spec.fit.epochs = 60;
  o.spec.optimizer.lr = 0.05f;
  o.spec.fit.patience = 3;
  o.checkpoint.should_stop = [] { return false; };  // the state comes back, nothing is written
  const pipeline::TrainRunResult a = pipeline::train_evaluate_save(o);
  ASSERT_TRUE(a.state.stopped_early);
  const int best = a.state.best_epoch;
  const auto steps_per_epoch = static_cast<int>(a.state.steps / static_cast<int64_t>(a.state.history.size()));
  ASSERT_EQ(a.state.steps % static_cast<int64_t>(a.state.history.size()), 0);
  o.output = path("n.safetensors");
  o.checkpoint.path = path("n.ckpt");
  int calls = 0;
  o.checkpoint.should_stop = [&] { return ++calls == steps_per_epoch * (best + 1) + 1; };
  ASSERT_TRUE(pipeline::train_evaluate_save(o).interrupted);
  auto c = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("n.ckpt")));
  EXPECT_EQ(c->state.best_epoch, best);
  EXPECT_EQ(c->state.best_weights.size(), 2 * 2u);  // two linear layers: weight, bias
  EXPECT_GE(c->state.since_best, 1);
  o.checkpoint.resume = c;
  o.checkpoint.should_stop = nullptr;
  const pipeline::TrainRunResult b = pipeline::train_evaluate_save(o);
  EXPECT_EQ(model_tensors(path("m.safetensors")), model_tensors(path("n.safetensors")));
  EXPECT_EQ(history_losses(a.report), history_losses(b.report));
}

TEST_F(Checkpoints, DamagedTruncatedOrForeignFilesAreRefused) {
  pipeline::TrainRunOptions o = sonar_run(path("m.safetensors"));
  o.spec.fit.epochs = 2;
  o.checkpoint.path = path("c.ckpt");
  pipeline::train_evaluate_save(o);
  ASSERT_NO_THROW(pipeline::load_checkpoint(path("c.ckpt")));
  std::string bytes;
  {
    std::ifstream in(path("c.ckpt"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  };
  auto message = [](const std::string& file) {
    try {
      pipeline::load_checkpoint(file);
    } catch (const io::ModelFileError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // A flipped bit near the end (in the optimizer's state or the weights).
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x10;
  EXPECT_NE(message(write("flipped.ckpt", flipped)).find("fails its checksum"), std::string::npos);
  // Truncated.
  EXPECT_NE(message(write("short.ckpt", bytes.substr(0, bytes.size() / 2))), "accepted");
  EXPECT_NE(message(write("tiny.ckpt", bytes.substr(0, 5))), "accepted");
  // A model file is not a checkpoint.
  EXPECT_NE(message(path("m.safetensors")).find("not a checkpoint"), std::string::npos);
}

TEST_F(Checkpoints, ResumingWithOtherOptionsOrOtherDataIsRefused) {
  pipeline::TrainRunOptions o = sonar_run(path("m.safetensors"));
  o.checkpoint.path = path("c.ckpt");
  int calls = 0;
  o.checkpoint.should_stop = [&] { return ++calls == 3; };
  ASSERT_TRUE(pipeline::train_evaluate_save(o).interrupted);
  o.checkpoint.should_stop = nullptr;
  o.checkpoint.resume = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(path("c.ckpt")));

  pipeline::TrainRunOptions lr = o;
  lr.spec.optimizer.lr = 0.02f;
  try {
    pipeline::train_evaluate_save(lr);
    ADD_FAILURE() << "another learning rate was accepted";
  } catch (const pipeline::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.lr"), std::string::npos) << e.what();
  }
  pipeline::TrainRunOptions split = o;
  split.data.split_seed = 4;
  EXPECT_THROW(pipeline::train_evaluate_save(split), pipeline::UsageError);

  // The same file elsewhere is fine; another file of the same name is not.
  pipeline::TrainRunOptions other = o;
  std::string sonar;
  {
    std::ifstream in(bp::testing::repo_data("Sonar.csv"), std::ios::binary);
    sonar.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path("Sonar.csv"), std::ios::binary) << sonar;
  other.data.source = path("Sonar.csv");
  other.output = path("moved.safetensors");
  EXPECT_NO_THROW(pipeline::train_evaluate_save(other));
  std::ofstream(path("Sonar.csv"), std::ios::binary) << sonar << "\n";
  EXPECT_THROW(pipeline::train_evaluate_save(other), data::DataError);
}

TEST_F(Checkpoints, TreeLearnersTakeNone) {
  pipeline::TrainRunOptions o = sonar_run(path("m.safetensors"));
  o.spec.model.name = "random-forest";
  o.checkpoint.path = path("c.ckpt");
  EXPECT_THROW(pipeline::train_evaluate_save(o), pipeline::UsageError);
}

}  // namespace
