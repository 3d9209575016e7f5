// `backprop train --model svm|knn|naive-bayes` end to end through the real binary: train,
// evaluate with calibration (fitted on the SVM's decision value), predict, and the options each
// refuses by name.
#include <gtest/gtest.h>
#include <unistd.h>

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

class CliLearners : public bp::testing::TempDirTest {
 protected:
  CliLearners() : TempDirTest("backprop_cli_learners") {}
};

const std::string kData = " --data " + bp::testing::repo_data("BreastCancer.csv") + " --target Class --ignore Id";

TEST_F(CliLearners, SvmTrainEvaluateCalibratePredict) {
  const std::string model = path("svm.safetensors");
  Result t = run("train" + kData + " --model svm --kernel rbf --C 2 --gamma 0.1 -o " + model + " --report " + path("t.json"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("model svm ("), std::string::npos) << t.out;
  const nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("t.json")));
  EXPECT_GT(rep.at("test").at("metrics").at("ROC").get<double>(), 0.97);
  EXPECT_EQ(rep.at("training").at("options").at("C"), 2.0);
  EXPECT_EQ(rep.at("training").at("options").at("gamma"), 0.1);

  Result e = run("evaluate -m " + model + " --report " + path("e.json"));
  ASSERT_EQ(e.code, 0) << e.out;
  const nlohmann::json ev = nlohmann::json::parse(std::ifstream(path("e.json")));
  EXPECT_EQ(ev.at("evaluation").at("metrics"), rep.at("test").at("metrics"));

  // Platt on the decision value: a sigmoid of f. Its slope is in units of f (the decision value
  // spans a few units here), so it is not the slope a fit on the [0, 1] scaled score would give.
  Result c = run("evaluate -m " + model + " --calibrate platt --save-calibrated " + path("cal.safetensors") + " --report " +
                 path("c.json"));
  ASSERT_EQ(c.code, 0) << c.out;
  const nlohmann::json cal = nlohmann::json::parse(std::ifstream(path("c.json")));
  EXPECT_GT(cal.at("evaluation").at("metrics").at("ROC").get<double>(), 0.95);
  Result p = run("predict -m " + path("cal.safetensors") + " --data " + bp::testing::repo_data("BreastCancer.csv") + " -o " +
                 path("p.csv"));
  ASSERT_EQ(p.code, 0) << p.out;
  std::ifstream in(path("p.csv"));
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header, "row,prediction,p_benign,p_malignant");
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_GT(rows, 600);
}

TEST_F(CliLearners, KnnAndNaiveBayesTrainAndEvaluate) {
  for (const std::string& args : {std::string(" --model knn --k 9 --weights distance --metric gain-ratio"),
                                  std::string(" --model naive-bayes --numeric kernel"),
                                  std::string(" --model naive-bayes --numeric discretize --alpha 0.5")}) {
    const std::string model = path("m.safetensors");
    Result t = run("train" + kData + args + " -o " + model + " --report " + path("t.json"));
    ASSERT_EQ(t.code, 0) << args << "\n" << t.out;
    const nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("t.json")));
    EXPECT_GT(rep.at("test").at("metrics").at("ROC").get<double>(), 0.95) << args;
    Result c = run("evaluate -m " + model + " --calibrate isotonic");
    ASSERT_EQ(c.code, 0) << args << "\n" << c.out;
    fs::remove(model);
  }
}

TEST_F(CliLearners, OptionsThatDoNotApplyAreRefusedByName) {
  const std::string o = " -o " + path("m.safetensors");
  expect_usage_error("train" + kData + " --model knn --kernel linear" + o, "--kernel");
  expect_usage_error("train" + kData + " --model svm --k 3" + o, "--k");
  expect_usage_error("train" + kData + " --model svm --trees 3" + o, "--trees");
  expect_usage_error("train" + kData + " --model naive-bayes --gamma 1" + o, "--gamma");
  expect_usage_error("train" + kData + " --model random-forest --alpha 1" + o, "--alpha");
  expect_usage_error("train" + kData + " --model mlp --metric gain-ratio" + o, "--metric");
  expect_usage_error("train" + kData + " --model svm --lr 0.1" + o, "--lr");
  expect_usage_error("train" + kData + " --model knn --k 100000" + o, "k = 100000");
  expect_usage_error("train" + kData + " --model svm --kernel sigmoid" + o, "--kernel");
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

TEST_F(CliLearners, HelpListsTheNewLearnersAndTheirOptions) {
  Result r = run("train --help");
  ASSERT_EQ(r.code, 0);
  for (const char* s : {"svm", "knn", "naive-bayes", "SVM, k-NN, naive Bayes", "--kernel", "--C", "--gamma", "--degree", "--coef0",
                        "--k", "--weights", "--metric", "--numeric", "--alpha"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

}  // namespace
