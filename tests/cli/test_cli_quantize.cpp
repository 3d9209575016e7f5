// `backprop quantize` end to end through the real binary: a trained network quantized to bf16
// and int8, then evaluated and used to predict directly; and the errors it reports by name.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.hpp"
#include "cli_test_util.hpp"

namespace {

namespace fs = std::filesystem;

using bp::testing::cli::Result;
using bp::testing::cli::expect_error;
using bp::testing::cli::run;

class CliQuantize : public bp::testing::TempDirTest {
 protected:
  CliQuantize() : TempDirTest("backprop_cli_quantize") {}
  // A small network trained on a copy of the data in the test's folder (so that the data can
  // be taken away).
  std::string train_mlp() {
    fs::copy_file(bp::testing::repo_data("BreastCancer.csv"), path("bc.csv"));
    const std::string model = path("mlp.safetensors");
    Result t = run("train --data bc.csv --target Class --ignore Id --hidden 32,16 --epochs 30 -q -o " + model +
                       " --report " + path("train.json"),
                   dir_.string());
    EXPECT_EQ(t.code, 0) << t.out;
    return model;
  }
};

double accuracy(const std::string& report) {
  return nlohmann::json::parse(std::ifstream(report)).at("evaluation").at("metrics").at("ACC").get<double>();
}

TEST_F(CliQuantize, QuantizedModelsEvaluateAndPredictDirectly) {
  const std::string model = train_mlp();
  ASSERT_EQ(run("evaluate -m " + model + " --report " + path("f.json"), dir_.string()).code, 0);
  const double base = accuracy(path("f.json"));
  for (const std::string to : {"bf16", "int8"}) {
    const std::string q = path(to + ".safetensors");
    Result r = run("quantize -m " + model + " -o " + q + " --to " + to, dir_.string());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(to + " weights"), std::string::npos) << r.out;
    // 1,000 rows asked, capped by the data: the training part of 699 rows less the 140 held out.
    if (to == "int8") {
      EXPECT_NE(r.out.find("calibrated on 559 rows of bc.csv (training part)"), std::string::npos) << r.out;
    }
    Result e = run("evaluate -m " + q + " --report " + path(to + ".json"), dir_.string());
    ASSERT_EQ(e.code, 0) << e.out;
    // The same test part as the float model (the data description travels with the model), and
    // nearly its accuracy: 114 test rows, so one row is 0.9 points.
    const nlohmann::json ev = nlohmann::json::parse(std::ifstream(path(to + ".json")));
    EXPECT_EQ(ev.at("evaluation").at("examples"), nlohmann::json::parse(std::ifstream(path("f.json"))).at("evaluation").at("examples"));
    EXPECT_NEAR(accuracy(path(to + ".json")), base, 0.02) << to;
    Result p = run("predict -m " + q + " --data bc.csv -o " + path(to + ".csv"), dir_.string());
    ASSERT_EQ(p.code, 0) << p.out;
    std::ifstream in(path(to + ".csv"));
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header.rfind("row,prediction,p_", 0), 0u) << header;
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    EXPECT_EQ(lines, 699);
  }
}

TEST_F(CliQuantize, ErrorsAreNamed) {
  const std::string model = train_mlp();
  expect_error("quantize -m " + model + " -o " + path("q.safetensors") + " --to int4", 2, "--to: unknown quantized type 'int4'");
  expect_error("quantize -m " + model + " -o " + model + " --to bf16", 2, "--output");
  expect_error("quantize -m " + model + " -o " + path("q.safetensors") + " --to int8 --calibration-rows 0", 2,
               "--calibration-rows");
  expect_error("quantize -m " + model + " -o " + path("q.safetensors") + " --to bf16 --calibration-data bc.csv", 2,
               "--calibration-data applies to --to int8 only");
  // Quantizing twice.
  ASSERT_EQ(run("quantize -q -m " + model + " -o " + path("q.safetensors") + " --to bf16", dir_.string()).code, 0);
  expect_error("quantize -m " + path("q.safetensors") + " -o " + path("q2.safetensors") + " --to int8", 2, "already quantized");
  // A tree has no weights to quantize.
  Result t = run("train --data bc.csv --target Class --ignore Id --model tree -q -o " + path("tree.safetensors"), dir_.string());
  ASSERT_EQ(t.code, 0) << t.out;
  expect_error("quantize -m " + path("tree.safetensors") + " -o " + path("q3.safetensors") + " --to int8", 2,
               "only neural networks can be quantized");
  // int8 without the data to calibrate on: the training file is gone. bf16 needs none.
  fs::remove(path("bc.csv"));
  expect_error("quantize -m " + model + " -o " + path("q4.safetensors") + " --to int8", 3,
               "the data this model was trained on is not found");
  EXPECT_EQ(run("quantize -q -m " + model + " -o " + path("q5.safetensors") + " --to bf16", dir_.string()).code, 0);
  EXPECT_FALSE(fs::exists(path("q4.safetensors")));
  // A damaged quantized file is refused by evaluate.
  {
    std::string bytes = bp::testing::cli::slurp(path("q5.safetensors"));
    bytes[bytes.size() - 3] ^= 0x10;
    std::ofstream(path("q6.safetensors"), std::ios::binary) << bytes;
  }
  expect_error("evaluate -m " + path("q6.safetensors") + " --data " + bp::testing::repo_data("BreastCancer.csv"), 4,
               "fails its checksum");
}

}  // namespace
