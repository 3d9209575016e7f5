// backprop train: fit a model on a data set, report its test scores, save it.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "backprop/backend/backend.hpp"
#include "backprop/dist/dist.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
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
  bool distributed = false, async = false;  // docs/distributed.md
  int max_staleness = 0;
};

// --model char-lstm: the shared options it takes (--hidden one size, --lr, --batch-size,
// --steps, --seed, --threads, -o, -q) with its own defaults; any other given is refused by name.
int train_char_lstm(TrainCmd& c) {
  TrainOptions& t = c.train;
  auto given = [&](const char* name) { return t.cmd->count(name) > 0; };
  for (const char* flag : {"--data", "--target", "--ignore", "--positive", "--view", "--task", "--test-fraction",
                           "--split-seed", "--activation", "--init", "--loss", "--optimizer", "--momentum",
                           "--weight-decay", "--schedule", "--epochs", "--validation", "--patience", "--report",
                           "--trees", "--max-depth", "--max-features", "--min-leaf", "--criterion", "--preset"})
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
    finish_train_options(c.train);
    if (mpi.rank() != 0) c.train.quiet = true;
    std::unique_ptr<train::GradientSync> sync;
    if (c.async) {
      c.train.spec.async_session = &mpi;
      c.train.spec.async.max_staleness = c.max_staleness;
    } else {
      sync = dist::make_allreduce_sync(mpi);
      c.train.spec.fit.sync = sync.get();
    }
    Progress progress(c.train.spec.fit.epochs, !c.train.quiet);
    const auto r = pipeline::train_evaluate_save({c.data, c.train.spec, c.output, c.report},
                                                 progress_observer(progress, c.train.quiet));
    if (mpi.rank() == 0) print_train_result(r, c.train.quiet);
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
    if (c->train.spec.model.name == "char-lstm") return train_char_lstm(*c);
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
