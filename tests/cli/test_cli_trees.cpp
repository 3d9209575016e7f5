// `backprop train --model <tree learner>` end to end through the real binary: train, evaluate
// (with calibration), predict, and the options a learner or a network refuses.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
using bp::testing::cli::expect_usage_error;
using bp::testing::cli::run;
using bp::testing::cli::slurp;

class CliTrees : public bp::testing::TempDirTest {
 protected:
  CliTrees() : TempDirTest("backprop_cli_trees") {}
};

const std::string kData = " --data " + bp::testing::repo_data("BreastCancer.csv") + " --target Class --ignore Id";

TEST_F(CliTrees, RandomForestTrainEvaluateCalibratePredict) {
  const std::string model = path("rf.safetensors");
  Result t = run("train" + kData + " --model random-forest --trees 40 -o " + model + " --report " + path("t.json"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("model random-forest ("), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("ROC"), std::string::npos) << t.out;
  const nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("t.json")));
  EXPECT_GT(rep.at("test").at("accuracy").get<double>(), 0.93);

  Result e = run("evaluate -m " + model + " --report " + path("e.json"));
  ASSERT_EQ(e.code, 0) << e.out;
  const nlohmann::json ev = nlohmann::json::parse(std::ifstream(path("e.json")));
  EXPECT_EQ(ev.at("evaluation").at("metrics"), rep.at("test").at("metrics"));

  Result c = run("evaluate -m " + model + " --calibrate isotonic --save-calibrated " + path("cal.safetensors"));
  ASSERT_EQ(c.code, 0) << c.out;
  ASSERT_TRUE(fs::exists(path("cal.safetensors")));

  for (const std::string& m : {model, path("cal.safetensors")}) {
    Result p1 = run("predict -m " + m + " --data " + bp::testing::repo_data("BreastCancer.csv") + " -o " + path("p1.csv"));
    ASSERT_EQ(p1.code, 0) << p1.out;
    Result p2 = run("predict -m " + m + " --data " + bp::testing::repo_data("BreastCancer.csv") + " -o " + path("p2.csv"));
    ASSERT_EQ(p2.code, 0) << p2.out;
    const std::string a = slurp(path("p1.csv")), b = slurp(path("p2.csv"));
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.substr(0, a.find('\n')), "row,prediction,p_benign,p_malignant");
    EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 700);
  }
}

TEST_F(CliTrees, BoostedStumpsTrainAndEvaluate) {
  const std::string model = path("bs.safetensors");
  Result t = run("train" + kData + " --model boosted-stumps --steps 80 -q -o " + model);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("accuracy"), std::string::npos) << t.out;
  Result e = run("evaluate -m " + model);
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("ROC"), std::string::npos) << e.out;
}

TEST_F(CliTrees, OptionsThatDoNotApplyAreRefusedByName) {
  const std::string o = " -o " + path("m.safetensors");
  expect_usage_error("train" + kData + " --model random-forest --hidden 8" + o, "--hidden");
  expect_usage_error("train" + kData + " --model random-forest --lr 0.1" + o, "--lr");
  expect_usage_error("train" + kData + " --model random-forest --steps 10" + o, "--steps");
  expect_usage_error("train" + kData + " --model xgboost --min-leaf 3" + o, "--min-leaf");
  expect_usage_error("train" + kData + " --model random-forest --preset c4.5" + o, "--preset");
  expect_usage_error("train" + kData + " --model mlp --trees 10" + o, "--trees");
  expect_usage_error("train --data " + bp::testing::repo_data("Servo.csv") + " --target Class --model random-forest" + o,
               "classifiers");
  expect_usage_error("tune" + kData + " --model random-forest --lrs 0.1" + o, "tune chooses a network's");
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

TEST_F(CliTrees, HelpListsTheLearnersAndTheirOptions) {
  Result r = run("train --help");
  ASSERT_EQ(r.code, 0);
  for (const char* s : {"random-forest", "boosted-stumps", "Tree learners", "--trees", "--max-depth", "--max-features",
                        "--min-leaf", "--criterion", "--steps", "--preset", "--laplace"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

}  // namespace
