// backprop export / import / predict -m model.onnx, through the real binary.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "../cli/cli_test_util.hpp"
#include "../test_util.hpp"

using bp::testing::cli::run;
using bp::testing::cli::slurp;
using bp::testing::repo_data;
using bp::testing::source_path;

namespace {
struct TempDir {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("bp_onnx_cli_" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(p); }
  ~TempDir() { std::filesystem::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};
}  // namespace

TEST(OnnxCli, ExportImportAndPredictGiveTheSamePredictions) {
  TempDir t;
  const std::string model = source_path("tests/fixtures/onnx/mlp_servo.safetensors");
  const std::string data = repo_data("Servo.csv");
  auto e = run("export -m " + model + " -o " + t / "m.onnx");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("0/1 indicators"), std::string::npos) << e.out;  // says what the graph takes
  auto i = run("import " + t / "m.onnx" + " -o " + t / "back.safetensors");
  ASSERT_EQ(i.code, 0) << i.out;
  auto p0 = run("predict -m " + model + " --data " + data + " -o " + t / "p0.csv");
  auto p1 = run("predict -m " + t / "back.safetensors" + " --data " + data + " -o " + t / "p1.csv");
  auto p2 = run("predict -m " + t / "m.onnx" + " --data " + data + " -o " + t / "p2.csv");
  ASSERT_EQ(p0.code, 0) << p0.out;
  ASSERT_EQ(p1.code, 0) << p1.out;
  ASSERT_EQ(p2.code, 0) << p2.out;
  EXPECT_EQ(slurp(t / "p0.csv"), slurp(t / "p1.csv"));
  EXPECT_EQ(slurp(t / "p0.csv"), slurp(t / "p2.csv"));
}

TEST(OnnxCli, PredictFromAForeignOnnxFileTakesNumericColumns) {
  TempDir t;
  // PyTorch's MLP takes 10 numbers per row.
  std::string csv = "a,b,c,d,e,f,g,h,i,j\n1,2,3,4,5,6,7,8,9,10\n0,0,0,0,0,0,0,0,0,0\n";
  { std::ofstream(t / "x.csv") << csv; }
  auto r = run("predict -m " + source_path("tests/fixtures/onnx/torch_mlp.onnx") + " --data " + t / "x.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("row,prediction,p_0,p_1,p_2,p_3\n", 0), 0u) << r.out;
  { std::ofstream(t / "bad.csv") << "a,b,c,d,e,f,g,h,i,j\n1,2,3,4,5,6,7,8,9,ten\n"; }
  auto bad = run("predict -m " + source_path("tests/fixtures/onnx/torch_mlp.onnx") + " --data " + t / "bad.csv");
  EXPECT_EQ(bad.code, 3) << bad.out;
  EXPECT_NE(bad.out.find("backprop: error:"), std::string::npos) << bad.out;
}

TEST(OnnxCli, ErrorsAreOneLineWithTheModelFileCode) {
  TempDir t;
  const std::filesystem::path mul = "/usr/share/libonnx-testdata/data/node/test_mul/model.onnx";
  if (std::filesystem::exists(mul)) {
    auto r = run("import " + mul.string() + " -o " + t / "m.safetensors");
    EXPECT_EQ(r.code, 4) << r.out;
    EXPECT_NE(r.out.find("backprop: error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("operator Mul"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(t / "m.safetensors"));
  }
  { std::ofstream(t / "junk.onnx") << "junk"; }
  auto j = run("predict -m " + t / "junk.onnx" + " --data " + repo_data("Servo.csv"));
  EXPECT_EQ(j.code, 4) << j.out;
  auto tree = run("train --data " + repo_data("PimaIndiansDiabetes.csv") + " --model tree -q -o " + t / "tree.safetensors");
  ASSERT_EQ(tree.code, 0) << tree.out;
  auto te = run("export -m " + t / "tree.safetensors" + " -o " + t / "tree.onnx");
  EXPECT_EQ(te.code, 2) << te.out;
  EXPECT_NE(te.out.find("tree learner"), std::string::npos) << te.out;
}
