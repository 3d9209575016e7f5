// backprop study: Caruana & Niculescu-Mizil's protocol with the project's models.
#include <cstdio>

#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/study_run.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct StudyCmd {
  pipeline::StudyOptions o;
  int threads = 0;
  bool quiet = false;
};
}  // namespace

Runner add_study(CLI::App& app) {
  auto c = std::make_shared<StudyCmd>();
  c->o.output = "study";
  CLI::App* cmd = app.add_subcommand(
      "study", "Compare the project's models as Caruana & Niculescu-Mizil (2006) did: 8 metrics, calibration, normalized scores");
  cmd->add_option("--data", c->o.data.source, "CSV data set")->required();
  cmd->add_option("--target", c->o.data.target, "Target column (default: the last column; lettr for the LETTER views)");
  cmd->add_option("--ignore", c->o.data.ignore, "Columns that are not features")->delimiter(',');
  cmd->add_option("--view", c->o.views, "Binary problems by name, repeatable: LETTER.P1, LETTER.P2");
  cmd->add_option("--positive", c->o.data.positive, "Or: target values forming the positive class")->delimiter(',');
  cmd->add_option("--trials", c->o.trials, "Trials = folds of the cross-validation")->check(CLI::Range(2, 20))->capture_default_str();
  cmd->add_option("--max-train", c->o.max_train, "Training cases (at most 80 % of the rows)")
      ->check(CLI::Range(int64_t{50}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--mlp-epochs", c->o.mlp_epochs, "Epochs of each MLP")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--seed", c->o.seed, "Seed of the splits and the models")->check(seed_number())->capture_default_str();
  cmd->add_option("--output,-o", c->o.output, "Write PREFIX.txt, PREFIX.csv and PREFIX.json")
      ->check(file_name())
      ->capture_default_str();
  cmd->add_option("--threads", c->threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--quiet,-q", c->quiet, "Print only the tables");
  return [c] {
    backend::set_num_threads(c->threads);
    if (c->o.output.empty()) throw pipeline::UsageError("--output: give a file name prefix");
    Progress progress(1, !c->quiet);
    pipeline::Observer ob;
    ob.line = [&](const std::string& line) { progress.line(line); };
    const pipeline::StudyResult r = pipeline::run_study(c->o, ob);
    std::printf("%s\n", pipeline::format_raw_rows(r.table).c_str());
    std::printf("normalized scores (baseline 0, best model per problem 1), mean over %zu problem(s):\n%s",
                r.problems.size(), eval::format_study_table(r.table).c_str());
    std::printf("study took %.0f s\n", r.seconds);
    std::printf("written to %s.txt, %s.csv, %s.json\n", c->o.output.c_str(), c->o.output.c_str(), c->o.output.c_str());
    return 0;
  };
}

}  // namespace bp::cli
