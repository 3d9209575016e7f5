// backprop train: fit a model on a data set, report its test scores, save it.
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <thread>

#include "backprop/backend/backend.hpp"
#include "backprop/dist/dist.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/checkpoint.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/util/stop_signal.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct TrainCmd {
  data::DataSpec data;
  TrainOptions train;
  std::string output = "model.safetensors";
  std::string report;
  pipeline::CharLmOptions lm;  // --model char-lstm (docs/sequences.md)
  // Checkpoints (docs/checkpoints.md).
  std::string checkpoint, checkpoint_every = "1epochs", resume;
  bool distributed = false, async = false;  // docs/distributed.md
  int max_staleness = 0;
};

// The network options a checkpoint keeps (beside the data's, kept as DataSpec::to_json), by
// flag: a resumed run takes each from the checkpoint unless given, and refuses one given with
// another value. `f(flag, field)` visits them.
template <class F>
void network_options(TrainCmd& c, F f) {
  TrainOptions& t = c.train;
  pipeline::TrainSpec& s = t.spec;
  f("--model", s.model.name);
  f("--hidden", t.hidden);
  f("--activation", t.activation);
  f("--init", t.init);
  f("--loss", t.loss);
  f("--optimizer", s.optimizer.name);
  f("--lr", s.optimizer.lr);
  f("--momentum", s.optimizer.momentum);
  f("--weight-decay", s.optimizer.weight_decay);
  f("--schedule", s.fit.schedule);
  f("--epochs", s.fit.epochs);
  f("--batch-size", s.fit.batch_size);
  f("--seed", s.model.seed);
  f("--validation", s.validation_fraction);
  f("--patience", s.fit.patience);
}

// The data options by flag, as keys of DataSpec::to_json (--view sets the target and the
// positive values).
const std::pair<const char*, const char*> kDataOptions[] = {
    {"--target", "target"},         {"--ignore", "ignore"},
    {"--positive", "positive"},     {"--task", "task"},
    {"--test-fraction", "test_fraction"}, {"--split-seed", "split_seed"},
    {"--no-standardize", "standardize"},  {"--na-values", "na_values"},
    {"--skip-initial-space", "initial_space"}, {"--drop-missing-target", "drop_missing_target"},
    {"--view", "target"},           {"--view", "positive"}};

// What the checkpoint keeps of the command line (given or defaulted): every option above, the
// output files, the thread count and the checkpoint interval.
nlohmann::json stored_options(TrainCmd& c) {
  nlohmann::json net;
  network_options(c, [&](const char* flag, const auto& v) { net[flag] = v; });
  return {{"network", net},
          {"data", c.data.to_json()},
          {"output", c.output},
          {"report", c.report},
          {"threads", c.train.threads},
          {"checkpoint_every", c.checkpoint_every}};
}

// An option's value as a user would write it (a float option's 0.001f, not 0.0010000000474974513).
std::string shown(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    std::ostringstream o;
    o << v.get<double>();
    return o.str();
  }
  return v.dump();
}

// --resume: the options of the checkpoint's run, less those given now; a given option with
// another value than the run's is a UsageError naming both.
void take_stored_options(TrainCmd& c, const pipeline::Checkpoint& ck) {
  auto given = [&](const char* name) { return c.train.cmd->count(name) > 0; };
  auto conflict = [&](const char* flag, const nlohmann::json& was, const nlohmann::json& now) {
    return pipeline::UsageError(std::string(flag) + " " + shown(now) + " conflicts with the checkpoint " +
                                ck.path.string() + ", whose run has " + shown(was) +
                                ": a resumed run keeps its options (leave it out, or start a new run without --resume)");
  };
  const nlohmann::json* o = ck.run.is_object() && ck.run.contains("options") ? &ck.run.at("options") : nullptr;
  if (!o || !o->is_object() || !o->contains("network") || !o->contains("data"))
    throw io::ModelFileError(ck.path, "the checkpoint does not hold the command line's options (written by a program, "
                                      "not by `backprop train`?)");
  try {
    const nlohmann::json& net = o->at("network");
    network_options(c, [&](const char* flag, auto& v) {
      using T = std::decay_t<decltype(v)>;
      const nlohmann::json& was = net.at(flag);
      if (!given(flag)) v = was.get<T>();
      else if (nlohmann::json(v) != was) throw conflict(flag, was, nlohmann::json(v));
    });
    const nlohmann::json now = c.data.to_json(), was = o->at("data");
    for (const auto& [flag, key] : kDataOptions)
      if (given(flag) && now.at(key) != was.at(key)) throw conflict(flag, was.at(key), now.at(key));
    const std::string source = c.data.source;
    c.data = data::DataSpec::from_json(was);
    // The data file may have moved: the pipeline checks its fingerprint instead.
    if (given("--data")) c.data.source = source;
    if (!given("--output")) c.output = o->at("output").get<std::string>();
    if (!given("--report")) c.report = o->at("report").get<std::string>();
    if (!given("--threads")) c.train.threads = o->at("threads").get<int>();
    if (!given("--checkpoint-every")) c.checkpoint_every = o->at("checkpoint_every").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw io::ModelFileError(ck.path, std::string("the checkpoint's options are malformed: ") + e.what());
  } catch (const std::invalid_argument& e) {
    if (dynamic_cast<const pipeline::UsageError*>(&e)) throw;
    throw io::ModelFileError(ck.path, std::string("the checkpoint's options are malformed: ") + e.what());
  }
  if (c.checkpoint.empty()) c.checkpoint = c.resume;  // go on writing where the run did
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

// Trains a network with checkpoints (--checkpoint, --resume): SIGINT and SIGTERM stop it after
// the current step, with a final checkpoint; the exit code is then the shell's 128 + signal.
int train_with_checkpoints(TrainCmd& c) {
  std::shared_ptr<const pipeline::Checkpoint> ck;
  if (!c.resume.empty()) {
    ck = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(c.resume));
    take_stored_options(c, *ck);
  }
  finish_train_options(c.train);
  if (pipeline::is_learner_kind(c.train.spec.model.name))
    throw pipeline::UsageError("--model " + c.train.spec.model.name +
                               ": the tree learners train in one pass and take no checkpoints (docs/checkpoints.md)");
  if (ck) {
    const int was = ck->run.value("threads", 0);
    if (!c.train.quiet && was != backend::num_threads())
      std::fprintf(stderr,
                   "backprop: note: the checkpoint's run used %d threads, this one %d: the result is bit-identical to "
                   "an uninterrupted run only at the same count\n",
                   was, backend::num_threads());
  }
  pipeline::TrainRunOptions o{c.data, c.train.spec, c.output, c.report, {}};
  o.checkpoint.path = c.checkpoint;
  o.checkpoint.every = pipeline::CheckpointEvery::parse(c.checkpoint_every);
  o.checkpoint.resume = ck;
  o.checkpoint.caller = stored_options(c);
  util::StopSignals stop;
  o.checkpoint.should_stop = [] { return util::StopSignals::requested(); };
  Progress progress(c.train.spec.fit.epochs, !c.train.quiet);
  const pipeline::TrainRunResult r = pipeline::train_evaluate_save(o, progress_observer(progress, c.train.quiet));
  if (r.interrupted) {
    const int sig = util::StopSignals::signal_number();
    std::fflush(stdout);
    std::fprintf(stderr,
                 "backprop: training stopped by %s after step %lld (epoch %d, %lld of its batches done); checkpoint written to %s\n"
                 "backprop: resume with: backprop train --resume %s\n",
                 signal_name(sig), static_cast<long long>(r.state.steps), r.state.epoch + 1,
                 static_cast<long long>(r.state.batch), c.checkpoint.c_str(), c.checkpoint.c_str());
    return 128 + (sig > 0 ? sig : SIGTERM);
  }
  if (r.resumed_finished && !c.train.quiet)
    std::printf("the checkpoint's run had finished: nothing left to train (the model is saved again, the same)\n");
  print_train_result(r, c.train.quiet);
  return 0;
}

// --model char-lstm: the shared options it takes (--hidden one size, --lr, --batch-size,
// --steps, --seed, --threads, -o, -q) with its own defaults; any other given is refused by name.
int train_char_lstm(TrainCmd& c) {
  TrainOptions& t = c.train;
  auto given = [&](const char* name) { return t.cmd->count(name) > 0; };
  for (const char* flag : {"--data", "--target", "--ignore", "--positive", "--view", "--task", "--test-fraction",
                           "--split-seed", "--activation", "--init", "--loss", "--optimizer", "--momentum",
                           "--weight-decay", "--schedule", "--epochs", "--validation", "--patience", "--report",
                           "--trees", "--max-depth", "--max-features", "--min-leaf", "--criterion", "--preset",
                           "--checkpoint", "--checkpoint-every", "--resume"})
    if (given(flag)) throw pipeline::UsageError(std::string(flag) + " is not an option of --model char-lstm");
  pipeline::CharLmOptions& o = c.lm;
  if (given("--hidden")) {
    const std::vector<int64_t> h = parse_sizes(t.hidden, "--hidden");
    if (h.size() != 1) throw pipeline::UsageError("--hidden: char-lstm takes one size (its LSTM layer's)");
    o.hidden = h[0];
  }
  if (given("--lr")) o.lr = t.spec.optimizer.lr;
  if (given("--batch-size")) o.batch_size = t.spec.fit.batch_size;
  if (given("--steps")) o.steps = t.steps;
  o.seed = t.spec.model.seed;
  o.output = c.output;
  backend::set_num_threads(t.threads);
  Progress progress(0, !t.quiet);
  const pipeline::CharLmResult r = pipeline::train_char_lm(o, progress_observer(progress, t.quiet));
  std::printf("%lld steps in %.0fs; best validation loss %.4f nats/char (%.3f bits/char, %lld characters) at "
              "step %lld, whose weights are saved\n",
              static_cast<long long>(r.steps), r.seconds, r.validation_loss, r.validation_loss / std::log(2.0),
              static_cast<long long>(r.validation_chars), static_cast<long long>(r.best_step));
  std::printf("model saved to %s\n", r.model_file.c_str());
  return 0;
}

// Under mpirun (or with --distributed / --async): every rank runs this with the same options;
// rank 0 alone prints and writes. A failure is printed once: by rank 0, which then ends the
// job (MPI_Abort), or, when rank 0 does not meet it within a second (a failure of this rank
// alone), by this rank naming itself. A rank killed outright ends the job through mpirun.
int train_distributed(TrainCmd& c) {
  dist::Session mpi;
  try {
    const std::string& kind = c.train.spec.model.name;
    if (kind == "char-lstm" || pipeline::is_learner_kind(kind))
      throw pipeline::UsageError("--model " + kind + ": training on several processes takes the networks of train::fit "
                                 "(mlp, lenet5, resnet, ...)");
    if (c.train.cmd->count("--max-staleness") > 0 && !c.async)
      throw pipeline::UsageError("--max-staleness bounds asynchronous SGD: give --async too");
    if (c.distributed && c.async) throw pipeline::UsageError("--distributed and --async: choose one");
    const bool checkpoints = !c.checkpoint.empty() || !c.resume.empty();
    if (c.async && (checkpoints || c.train.cmd->count("--checkpoint-every") > 0))
      throw pipeline::UsageError("--async takes no checkpoints: an asynchronous run depends on the timing of its "
                                 "processes, so it cannot be resumed exactly (docs/distributed.md); synchronous "
                                 "data-parallel training (the default under mpirun) can");
    if (!checkpoints && c.train.cmd->count("--checkpoint-every") > 0)
      throw pipeline::UsageError("--checkpoint-every needs --checkpoint FILE (or --resume FILE)");
    // Every rank reads the same checkpoint and so restores the same state; rank 0 alone writes.
    std::shared_ptr<const pipeline::Checkpoint> ck;
    if (!c.resume.empty()) {
      ck = std::make_shared<const pipeline::Checkpoint>(pipeline::load_checkpoint(c.resume));
      take_stored_options(c, *ck);
    }
    finish_train_options(c.train);
    if (mpi.rank() != 0) c.train.quiet = true;
    if (ck && !c.train.quiet) {
      const int was = ck->run.value("processes", 1), threads = ck->run.value("threads", 0);
      if (was != mpi.size() || threads != backend::num_threads())
        std::fprintf(stderr,
                     "backprop: note: the checkpoint's run used %d processes of %d threads, this one %d of %d: the "
                     "result is bit-identical to an uninterrupted run only with the same counts (else it agrees to "
                     "float rounding)\n",
                     was, threads, mpi.size(), backend::num_threads());
    }
    std::unique_ptr<train::GradientSync> sync;
    if (c.async) {
      c.train.spec.async_session = &mpi;
      c.train.spec.async.max_staleness = c.max_staleness;
    } else {
      sync = dist::make_allreduce_sync(mpi);
      c.train.spec.fit.sync = sync.get();
    }
    pipeline::TrainRunOptions o{c.data, c.train.spec, c.output, c.report, {}};
    std::unique_ptr<util::StopSignals> stop;
    if (checkpoints) {
      o.checkpoint.path = c.checkpoint;
      o.checkpoint.every = pipeline::CheckpointEvery::parse(c.checkpoint_every);
      o.checkpoint.resume = ck;
      o.checkpoint.caller = stored_options(c);
      stop = std::make_unique<util::StopSignals>();
      o.checkpoint.should_stop = [] { return util::StopSignals::requested(); };
    }
    Progress progress(c.train.spec.fit.epochs, !c.train.quiet);
    const auto r = pipeline::train_evaluate_save(o, progress_observer(progress, c.train.quiet));
    if (r.interrupted) {
      // Every rank stopped after the same step (fit agrees on it); the signal may have reached
      // only some of them.
      const int sig = util::StopSignals::signal_number();
      if (mpi.rank() == 0) {
        std::fflush(stdout);
        std::fprintf(stderr,
                     "backprop: training stopped by %s after step %lld (epoch %d, %lld of its batches done); "
                     "checkpoint written to %s\n"
                     "backprop: resume with: mpirun -np P backprop train --resume %s\n",
                     signal_name(sig), static_cast<long long>(r.state.steps), r.state.epoch + 1,
                     static_cast<long long>(r.state.batch), c.checkpoint.c_str(), c.checkpoint.c_str());
      }
      return 128 + (sig > 0 ? sig : SIGTERM);
    }
    if (mpi.rank() == 0) {
      if (r.resumed_finished && !c.train.quiet)
        std::printf("the checkpoint's run had finished: nothing left to train (the model is saved again, the same)\n");
      print_train_result(r, c.train.quiet);
    }
    return 0;
  } catch (...) {
    if (mpi.rank() != 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    const int code = report_error(std::current_exception(),
                                  mpi.rank() == 0 ? "" : "rank " + std::to_string(mpi.rank()) + ": ");
    std::fflush(stderr);
    mpi.abort(code);  // returns only with one rank
    return code;
  }
}
}  // namespace

Runner add_train(CLI::App& app) {
  auto c = std::make_shared<TrainCmd>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model, report its test scores and save it");
  add_data_options(cmd, c->data);
  add_train_options(cmd, c->train);
  cmd->add_option("--output,-o", c->output, "Model file to write (safetensors)")
      ->check(file_name())
      ->capture_default_str();
  cmd->add_option("--report", c->report, "Also write the results as JSON to this file")->check(file_name());
  const std::string lm = "Character language model (--model char-lstm --text FILE)";
  cmd->add_option("--text", c->lm.text, "char-lstm: the text to learn (plain or gzip)")->group(lm);
  cmd->add_option("--embedding", c->lm.embedding, "char-lstm: embedding size")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str()->group(lm);
  cmd->add_option("--seq-len", c->lm.seq_len, "char-lstm: characters per training window (TBPTT length)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str()->group(lm);
  cmd->add_option("--clip", c->lm.clip, "char-lstm: gradient-norm clipping (0: off)")
      ->check(non_negative_number())->capture_default_str()->group(lm);
  cmd->add_option("--minutes", c->lm.minutes, "char-lstm: train this long (instead of --steps; default 1000 steps)")
      ->check(positive_number())->group(lm);
  const std::string ck = "Checkpoints (docs/checkpoints.md)";
  cmd->add_option("--checkpoint", c->checkpoint,
                  "Write a checkpoint of the training to this file (networks): every --checkpoint-every, at the end, "
                  "and on SIGINT/SIGTERM, which then stop the run after the current step")
      ->check(file_name())->group(ck);
  cmd->add_option("--checkpoint-every", c->checkpoint_every, "How often: N[s|epochs|steps] (a bare N is epochs)")
      ->capture_default_str()->group(ck);
  cmd->add_option("--resume", c->resume,
                  "Continue the run of this checkpoint: its options and data (the same file), unless given (then they "
                  "must agree); it goes on writing checkpoints there unless --checkpoint names another file")
      ->check(CLI::ExistingFile)->group(ck);
  const std::string dg = "Several processes (mpirun -np P backprop train ...; docs/distributed.md)";
  cmd->add_flag("--distributed", c->distributed,
                "Synchronous data-parallel training over MPI (the default under mpirun): each process takes its "
                "slice of every batch")->group(dg);
  cmd->add_flag("--async", c->async,
                "Asynchronous SGD over MPI: rank 0 is a parameter server, the other ranks compute gradients")->group(dg);
  cmd->add_option("--max-staleness", c->max_staleness,
                  "--async: drop a gradient computed on parameters more than N updates old (0: no bound)")
      ->check(CLI::Range(0, 1 << 30))->capture_default_str()->group(dg);
  return [c] {
    if (c->distributed || c->async || dist::launched_by_mpi()) return train_distributed(*c);
    if (c->train.cmd->count("--max-staleness") > 0)
      throw pipeline::UsageError("--max-staleness bounds asynchronous SGD: give --async (under mpirun)");
    if (c->train.spec.model.name == "char-lstm" && c->resume.empty()) return train_char_lstm(*c);
    if (!c->checkpoint.empty() || !c->resume.empty()) return train_with_checkpoints(*c);
    if (c->train.cmd->count("--checkpoint-every") > 0)
      throw pipeline::UsageError("--checkpoint-every needs --checkpoint FILE (or --resume FILE)");
    for (const char* flag : {"--text", "--embedding", "--seq-len", "--clip", "--minutes"})
      if (c->train.cmd->count(flag) > 0)
        throw pipeline::UsageError(std::string(flag) + " is an option of --model char-lstm");
    finish_train_options(c->train);
    Progress progress(c->train.spec.fit.epochs, !c->train.quiet);
    print_train_result(pipeline::train_evaluate_save({c->data, c->train.spec, c->output, c->report},
                                                     progress_observer(progress, c->train.quiet)),
                       c->train.quiet);
    return 0;
  };
}

}  // namespace bp::cli
