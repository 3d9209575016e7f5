// The workflows called directly (no binary spawned): train → evaluate → save, tune, evaluate
// with calibration, predict, a tiny study; and their failures by type.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>

#include "backprop/data/csv.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/data/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/util/atomic_file.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/evaluate_saved.hpp"
#include "backprop/pipeline/model_data.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/predict.hpp"
#include "backprop/pipeline/report.hpp"
#include "backprop/pipeline/study_run.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/pipeline/tune.hpp"
#include "../test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

class Pipeline : public bp::testing::TempDirTest {
 protected:
  Pipeline() : TempDirTest("backprop_pipeline") {}
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  // A binary table that a small network learns well: y is "yes" when a + b > 9, with a
  // categorical column that carries part of the signal; `yes` and `no` name the classes.
  std::string binary_csv(int rows, const std::string& yes = "yes", const std::string& no = "no") const {
    auto quoted = [](const std::string& v) {
      if (v.find_first_of(",\"\n") == std::string::npos) return v;
      std::string q = "\"";
      for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::ostringstream s;
    s << "a,b,color,y\n";
    for (int i = 0; i < rows; ++i) {
      const int a = i % 10, b = (i * 7) % 11;
      const bool pos = a + b > 9;
      s << a << ',' << b << ',' << (pos == (i % 5 != 0) ? "red" : "blue") << ',' << quoted(pos ? yes : no) << '\n';
    }
    std::ofstream(path("data.csv")) << s.str();
    return path("data.csv");
  }

  static pipeline::TrainSpec small_spec(int epochs = 40) {
    pipeline::TrainSpec s;
    s.model.name = "mlp";
    s.model.hidden = {8};
    s.optimizer.name = "adam";
    s.optimizer.lr = 0.02f;
    s.fit.epochs = epochs;
    s.fit.batch_size = 16;
    return s;
  }

  pipeline::TrainRunResult train_small(const std::string& csv, const std::string& model) {
    pipeline::TrainRunOptions o;
    o.data.source = csv;
    o.data.test_fraction = 0.25;
    o.spec = small_spec();
    o.output = model;
    return pipeline::train_evaluate_save(o);
  }

};

TEST_F(Pipeline, TrainEvaluateSaveOnASmallCsv) {
  const std::string csv = binary_csv(200), model = path("m.safetensors"), report = path("r.json");
  pipeline::TrainRunOptions o;
  o.data.source = csv;
  o.data.test_fraction = 0.25;
  o.spec = small_spec();
  o.output = model;
  o.report = report;
  int epochs_seen = 0;
  std::string described;
  pipeline::Observer ob;
  ob.epoch = [&](const train::EpochStats&) { ++epochs_seen; };
  ob.data_ready = [&](const std::string& d) { described = d; };
  const pipeline::TrainRunResult r = pipeline::train_evaluate_save(o, ob);
  EXPECT_EQ(epochs_seen, 40);
  EXPECT_EQ(described, r.data_description);
  EXPECT_NE(described.find("150 train, 50 test"), std::string::npos) << described;
  EXPECT_EQ(r.report.at("training").at("task"), "binary");
  EXPECT_EQ(r.report.at("test").at("examples").get<int>(), 50);
  EXPECT_GT(r.report.at("test").at("accuracy").get<double>(), 0.85);
  EXPECT_EQ(r.report.at("model_file"), model);
  // The fit's peak of tensor memory holds at least the 150 training rows (two numeric columns).
  const auto peak = r.report.at("training").at("peak_tensor_bytes").get<int64_t>();
  EXPECT_GE(peak, 150 * 2 * 4);
  EXPECT_LT(peak, 64 << 20);
  EXPECT_NE(pipeline::describe_training(r.report).find(", peak tensor memory "), std::string::npos);
  // The report file holds what the function returned; the model file reloads with its data.
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(report)), r.report);
  const io::ModelFile mf = io::load_model(model);
  EXPECT_EQ(mf.info.task, Task::Binary);
  EXPECT_EQ(mf.info.class_names, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(mf.info.extra.at("data").at("source"), csv);
  EXPECT_EQ(entries(), (std::set<std::string>{"data.csv", "m.safetensors", "r.json"}));

  // Evaluating the saved model on its own test part gives the numbers training reported.
  pipeline::EvaluateOptions e;
  e.model = model;
  const pipeline::EvaluateResult ev = pipeline::evaluate_saved_model(e);
  EXPECT_EQ(ev.rows, 50);
  EXPECT_FALSE(ev.calibrated);
  EXPECT_EQ(ev.evaluation.at("accuracy"), r.report.at("test").at("accuracy"));
}

TEST_F(Pipeline, DivergenceIsTyped) {
  const std::string csv = binary_csv(100);
  pipeline::TrainRunOptions o;
  o.data.source = csv;
  o.spec = small_spec(5);
  o.spec.optimizer.name = "sgd";
  o.spec.optimizer.lr = 1e30f;
  o.output = path("m.safetensors");
  EXPECT_THROW(pipeline::train_evaluate_save(o), train::DivergenceError);
  EXPECT_EQ(entries(), (std::set<std::string>{"data.csv"}));  // nothing saved
}

TEST_F(Pipeline, TunePicksTheLowestLossAndSkipsADivergingRate) {
  pipeline::TuneOptions o;
  o.data.source = binary_csv(200);
  o.spec = small_spec(10);
  o.spec.optimizer.name = "sgd";
  o.lrs = {1e30, 0.3, 0.01, 0.0001};
  o.hidden_grid = {{4}, {8}};
  o.folds = 3;
  o.output = path("t.safetensors");
  o.report = path("t.json");
  std::vector<pipeline::TuneCandidate> seen;
  pipeline::TunePlan plan;
  pipeline::TuneObserver ob;
  ob.plan = [&](const pipeline::TunePlan& p) { plan = p; };
  ob.candidate = [&](const pipeline::TuneCandidate& c) { seen.push_back(c); };
  const pipeline::TuneResult r = pipeline::tune(o, ob);
  EXPECT_EQ(plan.folds, 3);
  EXPECT_TRUE(plan.classification);
  ASSERT_EQ(r.candidates.size(), 8u);
  ASSERT_EQ(seen.size(), 8u);
  // The diverging rate is in the table, marked, with an infinite loss; never chosen.
  size_t diverged = 0;
  for (const auto& c : r.candidates) {
    EXPECT_EQ(c.diverged, c.lr == 1e30) << c.lr;
    if (c.diverged) {
      EXPECT_TRUE(std::isinf(c.loss));
    }
    diverged += c.diverged;
  }
  EXPECT_EQ(diverged, 2u);
  // The chosen one has the lowest loss of all.
  double lowest = std::numeric_limits<double>::infinity();
  for (const auto& c : r.candidates) lowest = std::min(lowest, c.loss);
  EXPECT_EQ(r.candidates.at(r.chosen).loss, lowest);
  EXPECT_FALSE(r.candidates.at(r.chosen).diverged);
  // The final model is trained with it, and the report says so.
  const nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("t.json")));
  EXPECT_EQ(rep.at("command"), "tune");
  EXPECT_EQ(rep.at("tuning").at("chosen").at("lr").get<double>(), r.candidates.at(r.chosen).lr);
  EXPECT_EQ(rep.at("tuning").at("chosen").at("hidden"), pipeline::hidden_text(r.candidates.at(r.chosen).hidden));
  EXPECT_EQ(rep.at("training").at("optimizer").at("lr").get<double>(),
            static_cast<double>(static_cast<float>(r.candidates.at(r.chosen).lr)));
  EXPECT_TRUE(rep.at("tuning").at("candidates").at(0).at("loss").is_null());  // lr 1e30
}

TEST_F(Pipeline, TuneWhereEveryRateDivergesAndBadOptions) {
  pipeline::TuneOptions o;
  o.data.source = binary_csv(100);
  o.spec = small_spec(3);
  o.spec.optimizer.name = "sgd";
  o.lrs = {1e30};
  o.output = path("t.safetensors");
  EXPECT_THROW(pipeline::tune(o), train::DivergenceError);
  o.lrs = {0.1};
  o.folds = 1;
  EXPECT_THROW(pipeline::tune(o), pipeline::UsageError);
  o.folds = 0;
  o.lrs = {};
  EXPECT_THROW(pipeline::tune(o), pipeline::UsageError);
  o.lrs = {-0.1};
  EXPECT_THROW(pipeline::tune(o), pipeline::UsageError);
  EXPECT_FALSE(fs::exists(path("t.safetensors")));
}

TEST_F(Pipeline, CalibrateAndSaveTheCalibratedModel) {
  const std::string model = path("m.safetensors"), cal = path("cal.safetensors");
  train_small(binary_csv(300), model);
  for (const std::string method : {"platt", "isotonic"}) {
    pipeline::EvaluateOptions e;
    e.model = model;
    e.part = "all";
    e.calibrate = method;
    e.save_calibrated = cal;
    e.reliability_plot = path("rel.svg");
    e.report = path("e.json");
    const pipeline::EvaluateResult r = pipeline::evaluate_saved_model(e);
    EXPECT_TRUE(r.calibrated);
    EXPECT_EQ(r.evaluation.at("calibration").at("type"), method);
    // 30 % of the rows fit the calibrator, the rest are scored.
    EXPECT_EQ(r.evaluation.at("calibration_fit").at("rows").get<int64_t>() + r.rows, 300);
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("e.json"))), r.report);
    EXPECT_EQ(io::load_model(cal).info.calibrator.at("type"), method);
    EXPECT_TRUE(fs::exists(path("rel.svg")));
  }
  // The saved model carries its calibrator: evaluating it applies it without being asked.
  pipeline::EvaluateOptions again;
  again.model = cal;
  EXPECT_TRUE(pipeline::evaluate_saved_model(again).calibrated);
}

TEST_F(Pipeline, EvaluateRefusesOptionsThatCannotApply) {
  const std::string model = path("m.safetensors");
  train_small(binary_csv(100), model);
  pipeline::EvaluateOptions e;
  e.model = model;
  e.save_calibrated = path("cal.safetensors");  // without --calibrate: once wrote nothing, said "saved"
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
  e.save_calibrated.clear();
  e.calibrate = "sigmoid";
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
  e.calibrate.clear();
  e.calibration_data = path("data.csv");  // without --calibrate: was silently ignored
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
  e.calibration_data.clear();
  e.part = "middle";
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
  e.part = "test";
  e.model = path("missing.safetensors");
  EXPECT_THROW(pipeline::evaluate_saved_model(e), io::ModelFileError);
  EXPECT_FALSE(fs::exists(path("cal.safetensors")));
}

TEST_F(Pipeline, CalibratingARegressionModelIsAUsageError) {
  std::ostringstream s;
  s << "x,y\n";
  for (int i = 0; i < 60; ++i) s << i << ',' << 0.5 * i + (i % 3) << '\n';
  std::ofstream(path("r.csv")) << s.str();
  pipeline::TrainRunOptions o;
  o.data.source = path("r.csv");
  o.spec = small_spec(3);
  o.output = path("r.safetensors");
  pipeline::train_evaluate_save(o);
  pipeline::EvaluateOptions e;
  e.model = path("r.safetensors");
  e.calibrate = "platt";
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
  e.calibrate.clear();
  e.roc_plot = path("roc.png");
  EXPECT_THROW(pipeline::evaluate_saved_model(e), pipeline::UsageError);
}

TEST_F(Pipeline, PredictWritesCsvThatTheReaderReadsBack) {
  // Class names that need quoting, in the header and in the prediction column.
  const std::string csv = binary_csv(200, "yes, \"sure\"", "no\nway");
  const std::string model = path("m.safetensors");
  train_small(csv, model);
  pipeline::PredictOptions p;
  p.model = model;
  p.data.source = csv;
  const pipeline::PredictResult to_stdout = pipeline::predict_to_csv(p);
  EXPECT_EQ(to_stdout.rows, 200);
  p.output = path("p.csv");
  const pipeline::PredictResult to_file = pipeline::predict_to_csv(p);
  EXPECT_TRUE(to_file.csv.empty());
  std::ifstream in(path("p.csv"), std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(written, to_stdout.csv);  // the same table, whole

  const data::Table t = data::read_csv(path("p.csv"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"row", "prediction", "p_no\nway", "p_yes, \"sure\""}));
  EXPECT_EQ(t.num_rows(), 200);
  EXPECT_EQ(entries(), (std::set<std::string>{"data.csv", "m.safetensors", "p.csv"}));
}

TEST_F(Pipeline, ATinyStudy) {
  pipeline::StudyOptions o;
  o.problems = {{"POSITIVE", {}, false}};
  o.problems[0].data.source = binary_csv(300);
  o.problems[0].data.positive = {"yes"};
  o.learners = {"LR", "PRC", "ANN"};
  o.grid = "small";
  o.folds = 2;
  o.trials = 2;
  o.max_train = 120;
  o.bootstrap = 50;
  o.output = path("study");
  std::vector<std::string> lines;
  pipeline::Observer ob;
  ob.line = [&](const std::string& l) { lines.push_back(l); };
  const pipeline::StudyResult r = pipeline::run_study(o, ob);
  EXPECT_FALSE(lines.empty());  // the problem, the fits, the time left
  EXPECT_EQ(r.problems, (std::vector<std::string>{"POSITIVE"}));
  EXPECT_EQ(r.table.rows.size(), 9u);  // 3 learners x 3 calibrations
  EXPECT_EQ(r.files, (std::vector<std::string>{path("study.txt"), path("study.csv"), path("study.json"), path("study.png")}));
  EXPECT_EQ(entries(), (std::set<std::string>{"data.csv", "study.txt", "study.csv", "study.json", "study.png",
                                              "study.results.jsonl"}));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("study.json"))).at("rows").size(), 9u);

  o.output.clear();
  o.folds = 1;
  EXPECT_THROW(pipeline::run_study(o), pipeline::UsageError);
  o.folds = 2;
  o.problems.clear();
  EXPECT_THROW(pipeline::run_study(o), pipeline::UsageError);
}


// Issue 9, B1/B2: one check of every workflow's files, before any work.
TEST_F(Pipeline, CheckOutputsComparesFilesNotStrings) {
  const std::string csv = binary_csv(50);
  fs::create_directories(path("sub"));
  fs::create_symlink(csv, path("link.csv"));
  EXPECT_TRUE(pipeline::same_file(csv, path("sub/../data.csv")));
  EXPECT_TRUE(pipeline::same_file(csv, path("link.csv")));
  EXPECT_FALSE(pipeline::same_file(csv, path("other.csv")));
  EXPECT_TRUE(pipeline::same_file(path("new/x"), path("new/../new/x")));  // neither exists: by path
  using pipeline::check_outputs;
  EXPECT_THROW(check_outputs({{"--data", csv}}, {{"--output", path("link.csv")}}), pipeline::UsageError);
  EXPECT_THROW(check_outputs({}, {{"--output", path("a")}, {"--report", path("sub/../a")}}), pipeline::UsageError);
  EXPECT_THROW(check_outputs({}, {{"--output", path("nowhere/a")}}), util::FileWriteError);
  EXPECT_THROW(check_outputs({}, {{"--output", path("sub")}}), pipeline::UsageError);
  EXPECT_NO_THROW(check_outputs({{"--data", csv}}, {{"--output", path("m.safetensors")}, {"--report", ""}}));

  // Every workflow calls it first: nothing trained, nothing written, the data untouched.
  const std::string before = [&] {
    std::ifstream in(csv);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }();
  pipeline::TrainRunOptions t;
  t.data.source = csv;
  t.spec = small_spec(100000);  // would take long had it started
  t.output = csv;
  int epochs = 0;
  pipeline::Observer ob;
  ob.epoch = [&](const train::EpochStats&) { ++epochs; };
  EXPECT_THROW(pipeline::train_evaluate_save(t, ob), pipeline::UsageError);
  t.output = path("m.safetensors");
  t.report = path("nowhere/r.json");
  EXPECT_THROW(pipeline::train_evaluate_save(t, ob), util::FileWriteError);
  pipeline::TuneOptions u;
  u.data.source = csv;
  u.spec = small_spec(100000);
  u.output = path("link.csv");
  EXPECT_THROW(pipeline::tune(u), pipeline::UsageError);
  pipeline::StudyOptions st;
  st.problems = {{"POSITIVE", {}, false}};
  st.problems[0].data.source = csv;
  st.problems[0].data.positive = {"yes"};
  st.output = path("data");  // writes data.csv
  EXPECT_THROW(pipeline::run_study(st), pipeline::UsageError);
  EXPECT_EQ(epochs, 0);
  std::ifstream in(csv);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), before);
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

// Issue 9, B6: the model knows its file and split; another file is scored whole, with a note;
// data options are refused by name.
TEST_F(Pipeline, EvaluateActsOnTheModelsOwnDataDescription) {
  const std::string model = path("m.safetensors");
  pipeline::TrainRunOptions o;
  o.data.source = binary_csv(200);
  o.data.split_seed = 5;
  o.spec = small_spec(5);
  o.output = model;
  const pipeline::TrainRunResult tr = pipeline::train_evaluate_save(o);
  const nlohmann::json rec = io::load_model(model).info.extra.at("data");
  EXPECT_EQ(rec.at("split").at("seed"), 5);
  EXPECT_EQ(rec.at("split").at("test_rows"), 40);
  EXPECT_EQ(rec.at("fingerprint").at("bytes").get<int64_t>(), static_cast<int64_t>(fs::file_size(o.data.source)));
  EXPECT_EQ(tr.report.at("data").at("target_column"), "y");

  pipeline::EvaluateOptions e;
  e.model = model;
  e.data = data::DataSpec{};
  e.data->source = o.data.source;  // the same file named again: its seed-5 test part
  pipeline::EvaluateResult same = pipeline::evaluate_saved_model(e);
  EXPECT_EQ(same.part, "test");
  EXPECT_EQ(same.rows, 40);
  EXPECT_TRUE(same.notes.empty());
  EXPECT_EQ(same.evaluation.at("accuracy"), tr.report.at("test").at("accuracy"));

  std::ofstream(path("other.csv")) << "a,b,color,y\n1,2,red,no\n9,9,blue,yes\n3,3,red,no\n";
  e.data->source = path("other.csv");
  e.report = path("e.json");
  pipeline::EvaluateResult other = pipeline::evaluate_saved_model(e);
  EXPECT_EQ(other.part, "all");
  EXPECT_EQ(other.rows, 3);
  ASSERT_EQ(other.notes.size(), 1u);
  EXPECT_EQ(other.notes[0], path("other.csv") + " is not the file this model was trained on: scoring all 3 rows");
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("e.json"))).at("notes").at(0), other.notes[0]);

  e.report.clear();
  e.given_data_options = {"--positive"};
  try {
    pipeline::evaluate_saved_model(e);
    ADD_FAILURE() << "--positive was accepted";
  } catch (const pipeline::UsageError& err) {
    EXPECT_NE(std::string(err.what()).find("--positive cannot apply to a saved model"), std::string::npos) << err.what();
  }
  e.given_data_options.clear();
  e.data->target = "a";  // a library caller's spec: the field is refused by its option's name
  try {
    pipeline::evaluate_saved_model(e);
    ADD_FAILURE() << "a target was accepted";
  } catch (const pipeline::UsageError& err) {
    EXPECT_NE(std::string(err.what()).find("--target"), std::string::npos) << err.what();
  }
  pipeline::PredictOptions p;
  p.model = model;
  p.data.source = o.data.source;
  p.data.split_seed = 9;
  EXPECT_THROW(pipeline::predict_to_csv(p), pipeline::UsageError);

  // A model file written before the fingerprint: as evaluate always did (the stored split,
  // rule 1), and it says that it cannot check the file.
  io::ModelFile mf = io::load_model(model);
  nlohmann::json old = data::DataSpec::from_json(mf.info.extra.at("data")).to_json();
  for (const char* k : {"split_rule", "drop_missing_target"}) old.erase(k);
  mf.info.extra["data"] = old;
  io::save_model(path("old.safetensors"), mf);
  pipeline::EvaluateOptions eo;
  eo.model = path("old.safetensors");
  const pipeline::EvaluateResult r = pipeline::evaluate_saved_model(eo);
  EXPECT_EQ(r.data.split_rule, 1);
  EXPECT_EQ(r.data.split_seed, 5u);
  EXPECT_EQ(r.rows, 40);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("records no fingerprint"), std::string::npos) << r.notes[0];
}

// Issue 9, D: after calibration the reported loss is the calibrated one, and says so.
TEST_F(Pipeline, TheCalibratedLossIsTheOneReported) {
  const std::string model = path("m.safetensors");
  train_small(binary_csv(300), model);
  pipeline::EvaluateOptions e;
  e.model = model;
  e.part = "all";
  e.calibrate = "platt";
  const pipeline::EvaluateResult r = pipeline::evaluate_saved_model(e);
  EXPECT_EQ(r.evaluation.at("loss"), r.evaluation.at("log_loss"));  // of the calibrated probabilities
  EXPECT_TRUE(r.evaluation.contains("loss_uncalibrated"));
  EXPECT_NE(r.evaluation.at("loss"), r.evaluation.at("loss_uncalibrated"));
  const std::string text = pipeline::format_evaluation(r.evaluation);
  EXPECT_NE(text.find("(calibrated: log loss)"), std::string::npos) << text;
  EXPECT_NE(text.find("(before calibration)"), std::string::npos) << text;
}

// Issue 9, B7 in the study: positive values of a numeric target compare as numbers, and test
// rows whose value training never saw (a continuous negative class) are negative, not refused.
TEST_F(Pipeline, AStudyOnANumericTarget) {
  std::ostringstream s;
  s << "a,b,y\n";
  for (int i = 0; i < 300; ++i) {
    const int a = i % 10, b = (i * 7) % 11;
    if (a + b > 9)
      s << a << ',' << b << ',' << (i % 2 ? "1" : "1.0") << '\n';
    else
      s << a << ',' << b << ',' << 2 + 0.001 * i << '\n';  // one value per row
  }
  std::ofstream(path("num.csv")) << s.str();
  pipeline::StudyOptions o;
  o.problems = {{"POSITIVE", {}, false}};
  o.problems[0].data.source = path("num.csv");
  o.problems[0].data.positive = {"1.00"};
  o.learners = {"LR", "PRC", "ANN"};
  o.grid = "small";
  o.folds = 2;
  o.trials = 2;
  o.max_train = 120;
  const pipeline::StudyResult r = pipeline::run_study(o);
  ASSERT_EQ(r.table.rows.size(), 9u);
  // Half the rows are positive, spelled "1" or "1.0" (matching by text would find a quarter,
  // or none for "1.00"): the test set's positive rate says both spellings count.
  EXPECT_NEAR(r.table.rows[0].positive_rate, 0.5, 0.1);
}

}  // namespace

// A binary model whose every probability is exactly 0.5 (zero weights: logit 0) counts each row
// as positive, as the eight metrics' ACC does, so "accuracy" and ACC agree.
TEST(PipelineReport, BinaryAccuracyAndAccAgreeAtOneHalf) {
  auto net = bp::nn::make_mlp({.inputs = 3, .hidden = {}, .outputs = 1, .task = bp::Task::Binary});
  for (bp::Var& p : net->parameters()) p.value().fill(0.f);
  bp::data::Dataset d;
  d.task = bp::Task::Binary;
  d.x = bp::Tensor({4, 3}, 1.f);
  d.labels = {1, 0, 1, 1};
  d.class_names = {"no", "yes"};
  const nlohmann::json ev =
      bp::pipeline::evaluate(*net, bp::Task::Binary, d.class_names, d, bp::train::Loss::Auto);
  EXPECT_DOUBLE_EQ(ev.at("accuracy").get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(ev.at("metrics").at("ACC").get<double>(), 0.75);
}
