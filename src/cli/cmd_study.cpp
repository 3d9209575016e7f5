// backprop study: Caruana & Niculescu-Mizil's experiment (Table 2) with the project's learners.
#include <cstdio>

#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/problems.hpp"
#include "backprop/pipeline/study_learners.hpp"
#include "backprop/pipeline/study_run.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "progress.hpp"

namespace bp::cli {

namespace {
struct StudyCmd {
  pipeline::StudyOptions o;
  std::vector<std::string> problems, problem_specs, views;
  std::string data_dir = "data";
  std::string data_file;  // --data: one CSV with --view names or --positive values
  data::DataSpec data;
  bool quick = false;
  int threads = 0;
  bool quiet = false;
};

std::string learner_names() {
  std::string s;
  for (const pipeline::StudyLearner& l : pipeline::study_learners()) s += (s.empty() ? "" : ",") + l.name;
  return s;
}
}  // namespace

Runner add_study(CLI::App& app) {
  auto c = std::make_shared<StudyCmd>();
  c->o.output = "study";
  CLI::App* cmd = app.add_subcommand(
      "study",
      "Caruana & Niculescu-Mizil (2006)'s experiment: every learner over its grid, 8 metrics, Platt and isotonic "
      "calibration, normalized scores, Table 2 beside the paper's (docs/evaluation.md)");
  cmd->add_option("--problems", c->problems,
                  "Named problems (default, without --data: ADULT,CALHOUS,LETTER.P1,LETTER.P2)")
      ->delimiter(',');
  cmd->add_option("--data-dir", c->data_dir, "Where the named problems' files are")->capture_default_str();
  cmd->add_option("--problem", c->problem_specs,
                  "Another binary problem, repeatable: NAME=FILE:TARGET:POSITIVE[,POSITIVE...] (POSITIVE '>median': "
                  "a numeric target above its median)");
  cmd->add_option("--data", c->data_file, "Or: one CSV data set, with --view or --positive");
  cmd->add_option("--target", c->data.target, "With --data: the target column (default: the last; lettr for the LETTER views)");
  cmd->add_option("--ignore", c->data.ignore, "With --data: columns that are not features")->delimiter(',');
  cmd->add_option("--view", c->views, "With --data: binary problems by name, repeatable: LETTER.P1, LETTER.P2, ADULT");
  cmd->add_option("--positive", c->data.positive, "With --data: target values forming the positive class")
      ->delimiter(',');
  cmd->add_option("--learners", c->o.learners, "Learners, by row name (default: all): " + learner_names())
      ->delimiter(',');
  cmd->add_option("--grid", c->o.grid, "Parameter grids: paper (the paper's, cut where docs/evaluation.md says) or small")
      ->check(CLI::IsMember({"paper", "small"}))
      ->capture_default_str();
  cmd->add_flag("--quick", c->quick, "Small grids, one trial, 1000 training and 2000 test cases per problem");
  cmd->add_option("--trials", c->o.trials, "Trials (folds of the cross-validation used)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  cmd->add_option("--folds", c->o.folds, "Folds of the cross-validation of the training cases")
      ->check(CLI::Range(2, 20))
      ->capture_default_str();
  cmd->add_option("--max-train", c->o.max_train, "Training cases per problem (at most 80 % of the rows)")
      ->check(CLI::Range(int64_t{50}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--max-test", c->o.max_test, "Test cases per problem, drawn at random (0: all the others)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--bootstrap", c->o.bootstrap, "Samples of the bootstrap analysis of ranks (0: none)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd->add_option("--seed", c->o.seed, "Seed of the splits and the models")->check(seed_number())->capture_default_str();
  cmd->add_option("--output,-o", c->o.output, "Write PREFIX.txt, PREFIX.csv, PREFIX.json, PREFIX.png")
      ->check(file_name())
      ->capture_default_str();
  cmd->add_option("--results", c->o.results, "Every fit's scores as JSON lines (default: PREFIX.results.jsonl)")
      ->check(file_name());
  cmd->add_flag("--resume", c->o.resume, "Continue from the results file: fit only what it lacks");
  cmd->add_option("--threads", c->threads, "Threads: fits run in parallel, one per thread (0: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--quiet,-q", c->quiet, "Print only the report");
  return [c] {
    backend::set_num_threads(c->threads);
    if (c->o.output.empty()) throw pipeline::UsageError("--output: give a file name prefix");
    pipeline::StudyOptions o = c->o;
    if (c->quick) {
      const pipeline::StudyOptions given = o;
      pipeline::apply_quick(o);
      o.seed = given.seed;
    }
    if (!c->data_file.empty()) {
      c->data.source = c->data_file;
      if (!c->problems.empty()) throw pipeline::UsageError("--data and --problems: give one or the other");
      if (c->views.empty() && c->data.positive.empty())
        throw pipeline::UsageError("--data: name the binary task: --view LETTER.P1 (or another view), or --positive VALUES");
      if (!c->views.empty() && !c->data.positive.empty())
        throw pipeline::UsageError("--view and --positive: give one or the other");
      if (c->views.empty()) {
        pipeline::StudyProblem sp;
        sp.name = "POSITIVE";
        sp.data = c->data;
        o.problems.push_back(sp);
      }
      for (const std::string& v : c->views) {
        pipeline::StudyProblem sp;
        try {
          const pipeline::Problem& p = pipeline::problem_by_name(v);
          sp.name = p.name;
          sp.data = c->data;
          if (sp.data.target.empty()) sp.data.target = p.target;
          sp.data.positive = p.positive;
          sp.above_median = p.above_median;
        } catch (const std::invalid_argument& e) {
          throw pipeline::UsageError(std::string("--view: ") + e.what());
        }
        o.problems.push_back(sp);
      }
    } else {
      if (!c->views.empty() || !c->data.positive.empty() || !c->data.target.empty() || !c->data.ignore.empty())
        throw pipeline::UsageError("--view, --positive, --target and --ignore go with --data");
      std::vector<std::string> names = c->problems;
      if (names.empty() && c->problem_specs.empty()) names = pipeline::problem_names();
      for (const std::string& n : names) o.problems.push_back(pipeline::named_study_problem(n, c->data_dir));
    }
    for (const std::string& s : c->problem_specs) o.problems.push_back(pipeline::parse_study_problem(s));

    Progress progress(1, !c->quiet);
    pipeline::Observer ob;
    ob.line = [&](const std::string& line) { progress.line(line); };
    const pipeline::StudyResult r = pipeline::run_study(o, ob);
    std::printf("%s", r.report.c_str());
    if (!r.files.empty()) {
      std::printf("written:");
      for (const std::string& f : r.files) std::printf(" %s", f.c_str());
      std::printf("\n");
    }
    return 0;
  };
}

}  // namespace bp::cli
