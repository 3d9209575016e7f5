// The `backprop` command end to end: train → save → evaluate → predict on real files, and one
// clear message with a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.hpp"
#include "cli_test_util.hpp"

namespace {

namespace fs = std::filesystem;

using bp::testing::cli::Result;
using bp::testing::cli::run;
using bp::testing::cli::slurp;

class Cli : public bp::testing::TempDirTest {
 protected:
  Cli() : TempDirTest("backprop_cli") {}
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  // Fails the test unless the command failed with exactly one "backprop: error:" line that
  // contains `fragment`.
  void expect_error(const std::string& args, const std::string& fragment) {
    Result r = run(args);
    EXPECT_NE(r.code, 0) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(fragment), std::string::npos) << "expected '" << fragment << "' in:\n" << r.out;
    EXPECT_EQ(r.out.find("terminate called"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Segmentation"), std::string::npos) << r.out;
  }
};

const std::string kSmall =
    "a,b,color,y\n"
    "1,2,red,yes\n3,1,blue,no\n2,2,red,yes\n5,1,blue,no\n1,3,red,yes\n4,0,blue,no\n2,3,red,yes\n6,1,blue,no\n"
    "1,2,red,yes\n3,1,blue,no\n2,2,red,yes\n5,1,blue,no\n1,3,red,yes\n4,0,blue,no\n2,3,red,yes\n6,1,blue,no\n";

TEST_F(Cli, HelpOnEverySubcommand) {
  for (const char* sub : {"train", "evaluate", "predict", "tune"}) {
    Result r = run(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("--"), std::string::npos) << sub;
  }
  Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("train"), std::string::npos);
}

TEST_F(Cli, TrainSaveEvaluatePredictOnACsv) {
  const std::string model = path("m.safetensors"), report = path("r.json");
  Result t = run("train --data " + bp::testing::repo_data("BreastCancer.csv") +
                 " --target Class --ignore Id --hidden 16 --epochs 30 --batch-size 16 --lr 0.01 -q --output " + model +
                 " --report " + report);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("accuracy"), std::string::npos) << t.out;
  ASSERT_TRUE(fs::exists(model));
  nlohmann::json rep = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(rep.at("training").at("task"), "binary");
  EXPECT_GT(rep.at("test").at("accuracy").get<double>(), 0.9);  // benign/malignant is easy: ~96 %
  EXPECT_EQ(rep.at("test").at("examples").get<int>(), 140);      // 20 % of 699, stratified

  Result e = run("evaluate --model " + model + " --report " + path("e.json"));
  ASSERT_EQ(e.code, 0) << e.out;
  nlohmann::json ev = nlohmann::json::parse(std::ifstream(path("e.json")));
  // The same rows and the same weights: the same accuracy as train reported.
  EXPECT_EQ(ev.at("evaluation").at("accuracy"), rep.at("test").at("accuracy"));
  EXPECT_TRUE(ev.at("evaluation").contains("metrics"));  // binary: the eight metrics

  Result p1 = run("predict --model " + model + " --data " + bp::testing::repo_data("BreastCancer.csv") + " -o " + path("p1.csv"));
  ASSERT_EQ(p1.code, 0) << p1.out;
  Result p2 = run("predict --model " + model + " --data " + bp::testing::repo_data("BreastCancer.csv") + " -o " + path("p2.csv"));
  ASSERT_EQ(p2.code, 0) << p2.out;
  std::ifstream f1(path("p1.csv")), f2(path("p2.csv"));
  std::string a((std::istreambuf_iterator<char>(f1)), {}), b((std::istreambuf_iterator<char>(f2)), {});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.substr(0, a.find('\n')), "row,prediction,p_benign,p_malignant");
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 700);  // header + 699 rows
}

TEST_F(Cli, RegressionReportsRmseMaeR2) {
  Result t = run("train --data " + bp::testing::repo_data("Servo.csv") +
                 " --hidden 32 --epochs 100 --batch-size 16 --lr 0.01 -q --output " + path("s.safetensors"));
  ASSERT_EQ(t.code, 0) << t.out;
  for (const char* k : {"RMSE", "MAE", "R²"}) EXPECT_NE(t.out.find(k), std::string::npos) << t.out;
}

TEST_F(Cli, TuneChoosesALearningRateByCrossValidation) {
  Result t = run("tune --data " + bp::testing::repo_data("Sonar.csv") +
                 " --lrs 0.1,0.001 --folds 3 --hidden 8 --epochs 5 --batch-size 16 -q --output " + path("t.safetensors") +
                 " --report " + path("t.json"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("3-fold"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("chosen: lr"), std::string::npos) << t.out;
  nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("t.json")));
  EXPECT_EQ(rep.at("tuning").at("candidates").size(), 2u);
}

TEST_F(Cli, BadOptionsAreRefused) {
  expect_error("", "subcommand");
  expect_error("train --bogus", "--bogus");
  expect_error("train --lr -1", "--lr");
  expect_error("train --lr abc", "--lr");
  expect_error("train --epochs 0", "--epochs");
  expect_error("train --hidden 12,abc", "--hidden");
  expect_error("train --optimizer sgdd", "unknown optimizer 'sgdd'");
  expect_error("train --activation relux", "unknown activation 'relux'");
  expect_error("train --schedule step:x", "unknown schedule");
  expect_error("train --model transformer", "unknown model 'transformer'");
  expect_error("train --task clustering", "--task");
  expect_error("train --init uniform", "unknown initialisation 'uniform'");
  expect_error("train --model lenet5 --init he", "mlp and logistic only");
}

TEST_F(Cli, BadDataGetsOneClearMessage) {
  const std::string small = write("small.csv", kSmall);
  expect_error("train --data " + path("nope.csv"), "nope.csv");
  expect_error("train --data " + write("fields.csv", "a,b,y\n1,2,x\n1,2\n"), "fields.csv:3");
  expect_error("train --data " + write("quote.csv", "a,y\n\"1,x\n"), "quote.csv");
  expect_error("train --data " + small + " --target colour", "colour");
  expect_error("train --data " + write("empty.csv", "a,b,y\n"), "empty.csv");
  expect_error("train --data " + write("nan.csv", "a,y\n1,x\nnan,y\n2,x\n3,y\n"), "nan.csv:3");
  expect_error("train --data " + write("inf.csv", "a,y\n1,x\ninf,y\n2,x\n3,y\n"), "inf.csv:3");
  expect_error("train --data " + write("text.csv", "a,b,y\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n5,oops,x\n6,7,y\n7,8,x\n8,9,y\n9,1,x\n10,2,y\n"),
               "text.csv");
}

TEST_F(Cli, UnseenClassAtPredictionTime) {
  const std::string small = write("small.csv", kSmall), model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + small + " --hidden 4 --epochs 2 -q --test-fraction 0 -o " + model).code, 0);
  expect_error("predict --model " + model + " --data " + write("new.csv", "a,b,color,y\n1,2,green,yes\n"), "green");
  expect_error("evaluate --model " + model + " --data " + write("newy.csv", "a,b,color,y\n1,2,red,maybe\n") + " --part all",
               "maybe");
}

TEST_F(Cli, BadModelFilesAreRefused) {
  const std::string small = write("small.csv", kSmall), model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + small + " --hidden 4 --epochs 2 -q --test-fraction 0 -o " + model).code, 0);
  const auto size = fs::file_size(model);
  fs::copy_file(model, path("cut.safetensors"));
  fs::resize_file(path("cut.safetensors"), size - 7);
  expect_error("evaluate --model " + path("cut.safetensors") + " --data " + small + " --part all", "cut.safetensors");
  expect_error("evaluate --model " + write("junk.safetensors", "not a model at all") + " --data " + small, "junk.safetensors");
  expect_error("evaluate --model " + path("missing.safetensors"), "missing.safetensors");
}

TEST_F(Cli, WrongTaskForTheModelIsRefused) {
  const std::string small = write("small.csv", kSmall), model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + small + " --hidden 4 --epochs 2 -q --test-fraction 0 -o " + model).code, 0);
  expect_error("evaluate --model " + model + " --data " + bp::testing::repo_data("Servo.csv") + " --part all", "Servo");
  expect_error("evaluate --model " + model + " --calibrate sigmoid", "--calibrate");
}

}  // namespace

namespace {

TEST_F(Cli, StudyWritesThePapersTableRawAndNormalized) {
  const std::string prefix = path("study");
  Result r = run("study --data " + bp::testing::repo_data("LetterRecognition.csv.gz") +
                 " --view LETTER.P2 --max-train 600 --folds 2 --trials 2 --grid small --learners lr,prc,ann -q -o " + prefix);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* col : {"MODEL", "CAL", "ACC", "FSC", "LFT", "ROC", "APR", "BEP", "RMS", "MXE", "MEAN"})
    EXPECT_NE(r.out.find(col), std::string::npos) << col;
  EXPECT_NE(r.out.find("raw test-set metrics"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(std::ifstream(prefix + ".json"));
  // 3 learners x 3 calibrations on one problem.
  ASSERT_EQ(j.at("rows").size(), 9u);
  // Each metric's best is the best raw value of any row or any OPT-SEL (test-set selection);
  // no row normalizes above 1, and the best row normalizes to exactly 1 unless an OPT-SEL
  // value beat it.
  for (const char* m : {"ACC", "ROC", "RMS", "MXE"}) {
    const bool low = std::string(m) == "RMS" || std::string(m) == "MXE";
    double best_norm = -1e9, best_raw = low ? 1e9 : -1e9, best_row = best_raw;
    for (const auto& row : j.at("rows")) {
      best_norm = std::max(best_norm, row.at("normalized").at(m).get<double>());
      for (const char* k : {"raw", "opt_sel_raw"}) {
        const double v = row.at(k).at(m).get<double>();
        best_raw = low ? std::min(best_raw, v) : std::max(best_raw, v);
      }
      const double v = row.at("raw").at(m).get<double>();
      best_row = low ? std::min(best_row, v) : std::max(best_row, v);
    }
    EXPECT_DOUBLE_EQ(j.at("problems")[0].at("best").at(m).get<double>(), best_raw) << m;
    EXPECT_LE(best_norm, 1.0 + 1e-12) << m;
    if (best_row == best_raw) EXPECT_DOUBLE_EQ(best_norm, 1.0) << m;
  }
  EXPECT_TRUE(fs::exists(prefix + ".csv"));
  EXPECT_TRUE(fs::exists(prefix + ".txt"));
}

TEST_F(Cli, StudyNeedsABinaryTask) {
  expect_error("study --data " + bp::testing::repo_data("LetterRecognition.csv.gz"), "--view");
  expect_error("study --data " + bp::testing::repo_data("LetterRecognition.csv.gz") + " --view LETTER.P9", "LETTER.P9");
}

}  // namespace

namespace {

TEST_F(Cli, CalibrateKeepTheCalibratorAndDrawPictures) {
  const std::string model = path("m.safetensors"), cal = path("cal.safetensors");
  const std::string data = bp::testing::repo_data("PimaIndiansDiabetes.csv");
  ASSERT_EQ(run("train --data " + data + " --hidden 8 --epochs 20 --batch-size 32 --lr 0.01 -q -o " + model).code, 0);
  for (const char* method : {"platt", "isotonic"}) {
    Result r = run("evaluate -m " + model + " --calibrate " + method + " --save-calibrated " + cal + " --reliability-plot " +
                   path("rel.png") + " --roc-plot " + path("roc.svg") + " --report " + path("e.json"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("calibrated"), std::string::npos) << r.out;
    nlohmann::json e = nlohmann::json::parse(std::ifstream(path("e.json")));
    EXPECT_EQ(e.at("evaluation").at("calibration").at("type"), method == std::string("platt") ? "platt" : "isotonic")
        << e.at("evaluation").at("calibration").dump();
    std::ifstream png(path("rel.png"), std::ios::binary);
    char sig[8] = {};
    png.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG");
    std::ifstream svg(path("roc.svg"));
    std::string text((std::istreambuf_iterator<char>(svg)), {});
    EXPECT_NE(text.find("<svg"), std::string::npos);
  }
  // The saved model carries its calibrator: evaluate applies it without being asked.
  Result again = run("evaluate -m " + cal + " --report " + path("again.json"));
  ASSERT_EQ(again.code, 0) << again.out;
  nlohmann::json a = nlohmann::json::parse(std::ifstream(path("again.json")));
  EXPECT_TRUE(a.at("evaluation").contains("calibration"));
}

}  // namespace

namespace {

// The documented exit codes (README, "Exit codes"), each with its one-line message.
TEST_F(Cli, ExitCodesSayWhatKindOfFailure) {
  const std::string small = write("small.csv", kSmall), model = path("m.safetensors");
  auto expect = [&](const std::string& args, int code, const std::string& fragment) {
    Result r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    // One error line, the last (stdout may have described the data before).
    const size_t at = r.out.find("backprop: error: ");
    ASSERT_NE(at, std::string::npos) << args << "\n" << r.out;
    EXPECT_TRUE(at == 0 || r.out[at - 1] == '\n') << r.out;
    EXPECT_EQ(r.out.find('\n', at), r.out.size() - 1) << "one line, the last:\n" << r.out;
    EXPECT_EQ(r.out.find("backprop: error: ", at + 1), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(fragment), std::string::npos) << "expected '" << fragment << "' in:\n" << r.out;
  };
  // 2: usage, from the option parser and from the pipeline alike.
  expect("train --bogus", 2, "--bogus");
  expect("train --lr -1", 2, "--lr");
  expect("train --hidden 12,abc -q", 2, "--hidden");
  expect("train --optimizer sgdd --data " + small + " -q -o " + model, 2, "unknown optimizer 'sgdd'");
  // With explicit epochs nothing is carved for validation (without them, the plan for a small
  // data set carves a validation part, and --patience applies to it).
  expect("train --epochs 5 --patience 3 --data " + small + " -q -o " + model, 2, "validation fraction");
  expect("tune --folds 1 --data " + small + " -q -o " + model, 2, "--folds");
  expect("evaluate -m " + path("missing.safetensors"), 2, "missing.safetensors");
  // 3: bad data.
  expect("train -q --data " + write("fields.csv", "a,b,y\n1,2,x\n1,2\n"), 3, "fields.csv:3");
  // 4: a model file that is not one.
  expect("evaluate -m " + write("junk.safetensors", "not a model at all") + " --data " + small, 4, "junk.safetensors");
  // 5: an output that cannot be written, with the system's reason.
  expect("train --data " + small + " --hidden 4 --epochs 2 -q --test-fraction 0 -o " + path("no/such/m.safetensors"), 5,
         "No such file or directory");
  ASSERT_EQ(run("train --data " + small + " --hidden 4 --epochs 2 -q --test-fraction 0 -o " + model).code, 0);
  expect("predict -m " + model + " --data " + small + " -o " + path("no/such/p.csv"), 5, "No such file or directory");
  // 6: training diverged.
  expect("train --data " + small + " --optimizer sgd --lr 1e30 --epochs 3 --test-fraction 0 -q -o " + model, 6, "diverged");
  // --save-calibrated without --calibrate once printed "calibrated model saved" and wrote nothing.
  expect("evaluate -m " + model + " --data " + small + " --part all --save-calibrated " + path("c.safetensors"), 2,
         "--save-calibrated needs --calibrate");
  EXPECT_FALSE(fs::exists(path("c.safetensors")));
}

// Two predict runs writing one file at the same time: the file is always one of the two whole
// outputs (it once mixed rows of both through a shared temporary name), and no temporary stays.
TEST_F(Cli, ConcurrentPredictionsNeverMixOneFile) {
  std::string big = "a,b,color,y\n", three = "a,b,y\n";
  for (int i = 0; i < 3000; ++i) {
    big += std::to_string(i % 7) + "," + std::to_string(i % 5) + "," + (i % 3 ? "red" : "blue") + "," + (i % 7 > 3 ? "yes" : "no") + "\n";
    three += std::to_string(i % 11) + "," + std::to_string(i % 4) + "," + "xyz"[i % 3] + "\n";
  }
  const std::string d1 = write("d1.csv", big), d2 = write("d2.csv", three);
  const std::string m1 = path("m1.safetensors"), m2 = path("m2.safetensors");
  ASSERT_EQ(run("train --data " + d1 + " --hidden 4 --epochs 1 -q --test-fraction 0 -o " + m1).code, 0);
  ASSERT_EQ(run("train --data " + d2 + " --hidden 4 --epochs 1 -q --test-fraction 0 -o " + m2).code, 0);
  ASSERT_EQ(run("predict -m " + m1 + " --data " + d1 + " -o " + path("ref1.csv")).code, 0);
  ASSERT_EQ(run("predict -m " + m2 + " --data " + d2 + " -o " + path("ref2.csv")).code, 0);
  auto read = [&](const std::string& name) {
    std::ifstream f(path(name), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  const std::string ref1 = read("ref1.csv"), ref2 = read("ref2.csv");
  ASSERT_NE(ref1, ref2);
  const std::string bin = std::string(BACKPROP_BINARY_DIR) + "/backprop";
  for (int round = 0; round < 6; ++round) {
    const std::string cmd = "(" + bin + " predict -m " + m1 + " --data " + d1 + " -o " + path("out.csv") + " & " + bin +
                            " predict -m " + m2 + " --data " + d2 + " -o " + path("out.csv") + " & wait) 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    const std::string out = read("out.csv");
    EXPECT_TRUE(out == ref1 || out == ref2) << "round " << round << ": a mixed file of " << out.size() << " bytes";
  }
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace
