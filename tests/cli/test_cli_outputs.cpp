// Issue 9, B1 B2 B6 D: what the command writes, checked as a separate process on real files.
// No output may overwrite an input, every output's place is checked before the work, a saved
// model knows the file it was trained on (and its split), and `evaluate` finds its data from
// another directory or says plainly what is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../test_util.hpp"
#include "cli_test_util.hpp"

namespace {

namespace fs = std::filesystem;

using bp::testing::cli::Result;
using bp::testing::cli::run;
using bp::testing::cli::slurp;

// A binary table a small network learns: y is "yes" when a + b > 9.
std::string binary_table(int rows, int offset = 0) {
  std::ostringstream s;
  s << "a,b,color,y\n";
  for (int i = offset; i < rows + offset; ++i) {
    const int a = i % 10, b = (i * 7) % 11;
    const bool pos = a + b > 9;
    s << a << ',' << b << ',' << (pos == (i % 5 != 0) ? "red" : "blue") << ',' << (pos ? "yes" : "no") << '\n';
  }
  return s.str();
}

const char* kTrain = " --hidden 4 --epochs 3 --batch-size 16 -q";

class CliOutputs : public bp::testing::TempDirTest {
 protected:
  CliOutputs() : TempDirTest("backprop_cli_outputs") {}
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    TempDirTest::TearDown();
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
  // The command failed with `code`, one error line holding every fragment, nothing trained.
  void expect_refused(const std::string& args, int code, const std::vector<std::string>& fragments) {
    const Result r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    EXPECT_EQ(r.out.rfind("backprop: error: ", 0), 0u) << "only the error line, before any work:\n" << r.out;
    for (const std::string& f : fragments) EXPECT_NE(r.out.find(f), std::string::npos) << "expected '" << f << "' in:\n" << r.out;
  }
};

// B1: an output naming an input is refused before any work, and the input is untouched.
TEST_F(CliOutputs, AnOutputThatIsAnInputIsRefused) {
  const std::string a = write("a.csv", binary_table(60)), before = slurp(a);
  expect_refused("train --data " + a + kTrain + " -o " + a, 2, {"--output " + a, "--data " + a});
  expect_refused("train --data " + a + kTrain + " --report " + a + " -o " + path("m.safetensors"), 2, {"--report", "--data"});
  // The same file by another name: a relative path with "..", a symlink, a hard link.
  fs::create_directories(path("sub"));
  expect_refused("train --data " + a + kTrain + " -o " + path("sub/../a.csv"), 2, {"--data " + a});
  fs::create_symlink(a, path("link.csv"));
  expect_refused("train --data " + a + kTrain + " -o " + path("link.csv"), 2, {"--data " + a});
  fs::create_hard_link(a, path("hard.csv"));
  expect_refused("tune --data " + a + kTrain + " --lrs 0.1 -o " + path("hard.csv"), 2, {"--data " + a});
  // Two outputs that are one file.
  expect_refused("train --data " + a + kTrain + " -o " + path("m.safetensors") + " --report " + path("m.safetensors"), 2,
                 {"same file"});
  EXPECT_EQ(slurp(a), before);
  EXPECT_FALSE(fs::exists(path("m.safetensors")));

  // predict: -o naming the data or the model itself.
  const std::string model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + a + kTrain + " -o " + model).code, 0);
  const std::string model_bytes = slurp(model);
  expect_refused("predict -m " + model + " --data " + a + " -o " + a, 2, {"--output " + a, "--data " + a});
  expect_refused("predict -m " + model + " --data " + a + " -o " + model, 2, {"--model " + model});
  // evaluate: the report or the calibrated model over the model or the data.
  expect_refused("evaluate -m " + model + " --report " + model, 2, {"--model " + model});
  expect_refused("evaluate -m " + model + " --calibrate platt --save-calibrated " + a, 2, {"--save-calibrated " + a});
  EXPECT_EQ(slurp(a), before);
  EXPECT_EQ(slurp(model), model_bytes);

  // study: the prefix "e" writes e.csv, the data.
  const std::string e = write("e.csv", binary_table(100)), e_before = slurp(e);
  expect_refused("study --data " + e + " --positive yes -q -o " + path("e"), 2, {"--output " + path("e") + ": its file " + e, "--data " + e});
  EXPECT_EQ(slurp(e), e_before);
}

// B2: every output's place is checked before the work, not after it.
TEST_F(CliOutputs, OutputLocationsAreCheckedBeforeTheWork) {
  const std::string a = write("a.csv", binary_table(60));
  // Many epochs: had it trained first, the description line would be printed and it would take long.
  const std::string slow = " --hidden 64 --epochs 100000 --batch-size 1";
  expect_refused("train --data " + a + slow + " -o /nonexistent/x", 5, {"/nonexistent/x", "does not exist"});
  expect_refused("train --data " + a + slow + " -o " + path("m.safetensors") + " --report /nonexistent/r.json", 5,
                 {"/nonexistent/r.json"});
  EXPECT_FALSE(fs::exists(path("m.safetensors")));  // the model was not saved before the report failed
  expect_refused("study --data " + a + " --positive yes --grid paper -o /nonexistent/s", 5, {"/nonexistent/s"});
  expect_refused("train --data " + a + slow + " -o " + dir_.string(), 2, {"is a directory"});
  expect_refused("train --data " + a + slow + " -o " + path("sub/"), 2, {"names a directory"});
  expect_refused("train --data " + a + slow + " -o " + a + "/m", 5, {"is not a directory"});
  if (geteuid() != 0) {  // root may write anywhere
    fs::create_directories(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    expect_refused("train --data " + a + slow + " -o " + path("ro/m.safetensors"), 5, {"not writable"});
  }
  const std::string model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + a + kTrain + " -o " + model).code, 0);
  expect_refused("predict -m " + model + " --data " + a + " -o /nonexistent/p.csv", 5, {"/nonexistent/p.csv"});
  expect_refused("evaluate -m " + model + " --roc-plot /nonexistent/roc.svg", 5, {"/nonexistent/roc.svg"});
}

nlohmann::json json_of(const std::string& path) { return nlohmann::json::parse(std::ifstream(path)); }

// B6: the model knows its training file and split; another file is scored whole, said plainly.
TEST_F(CliOutputs, EvaluateKnowsTheFileAndTheSplitItWasTrainedOn) {
  const std::string data = write("d.csv", binary_table(200)), model = path("m.safetensors");
  ASSERT_EQ(run("train --data " + data + kTrain + " --split-seed 5 -o " + model + " --report " + path("t.json")).code, 0);
  const nlohmann::json t = json_of(path("t.json"));

  Result own = run("evaluate -m " + model + " --report " + path("own.json"));
  ASSERT_EQ(own.code, 0) << own.out;
  Result same = run("evaluate -m " + model + " --data " + data + " --report " + path("same.json"));
  ASSERT_EQ(same.code, 0) << same.out;
  // A copy elsewhere is still the training file (the same fingerprint).
  fs::create_directories(path("elsewhere"));
  fs::copy_file(data, path("elsewhere/copy.csv"));
  Result copy = run("evaluate -m " + model + " --data " + path("elsewhere/copy.csv") + " --report " + path("copy.json"));
  ASSERT_EQ(copy.code, 0) << copy.out;
  for (const char* name : {"own.json", "same.json", "copy.json"}) {
    const nlohmann::json e = json_of(path(name));
    EXPECT_EQ(e.at("part"), "test") << name;
    EXPECT_EQ(e.at("evaluation").at("examples"), t.at("test").at("examples")) << name;  // 40 rows of seed 5
    EXPECT_EQ(e.at("evaluation").at("accuracy"), t.at("test").at("accuracy")) << name;
    EXPECT_EQ(e.at("evaluation").at("confusion_matrix"), t.at("test").at("confusion_matrix")) << name;
  }
  // Another file: every row, and the output and the report say so.
  const std::string other = write("other.csv", binary_table(150, 7));
  Result o = run("evaluate -m " + model + " --data " + other + " --report " + path("other.json"));
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string said = other + " is not the file this model was trained on: scoring all 150 rows";
  EXPECT_NE(o.out.find(said), std::string::npos) << o.out;
  const nlohmann::json oj = json_of(path("other.json"));
  EXPECT_EQ(oj.at("part"), "all");
  EXPECT_EQ(oj.at("evaluation").at("examples"), 150);
  EXPECT_EQ(oj.at("notes").at(0), said);
  expect_refused("evaluate -m " + model + " --data " + other + " --part train", 2, {"--part train", other});

  // Options that describe data cannot apply to a saved model: each is named.
  for (const std::string opt : {"--positive yes", "--target a", "--split-seed 5", "--test-fraction 0.3", "--task binary",
                                "--ignore color", "--no-standardize", "--view LETTER.P1"}) {
    const std::string name = opt.substr(0, opt.find(' '));
    expect_refused("evaluate -m " + model + " " + opt, 2, {name});
    expect_refused("evaluate -m " + model + " --data " + data + " " + opt, 2, {name});
  }
  expect_refused("predict -m " + model + " --data " + data + " --target y", 2, {"--target"});
}

// D: evaluate from another directory finds the training data (stored relative to where
// training ran), or says plainly what is missing.
TEST_F(CliOutputs, EvaluateFromAnotherDirectory) {
  write("proj/data/d.csv", binary_table(100));
  ASSERT_EQ(run("train --data data/d.csv" + std::string(kTrain) + " -o m.safetensors", path("proj")).code, 0);
  fs::create_directories(path("away"));
  Result r = run("evaluate -m ../proj/m.safetensors", path("away"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(test part, 20 examples)"), std::string::npos) << r.out;

  // Moved with its model: found beside the model file.
  fs::rename(path("proj"), path("moved"));
  r = run("evaluate -m ../moved/m.safetensors", path("away"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("was found at"), std::string::npos) << r.out;

  // Gone: a plain message naming what is missing and where it was looked for.
  fs::remove(path("moved/data/d.csv"));
  expect_refused("evaluate -m " + path("moved/m.safetensors"), 3,
                 {"the data this model was trained on is not found: data/d.csv", "--data"});
}

// D: rows without a target are an error naming the option that drops them; with it they are
// dropped and counted; the report names the resolved target column.
TEST_F(CliOutputs, DropMissingTargetAndTheResolvedTarget) {
  std::string text = binary_table(80);
  text += "1,2,red,\n3,4,blue,NA\n5,5,red,\n";
  const std::string data = write("d.csv", text);
  expect_refused("train --data " + data + kTrain + " -o " + path("m.safetensors"), 3,
                 {"missing value in target column 'y'", "--drop-missing-target"});
  Result r = run("train --data " + data + " --hidden 4 --epochs 3 --batch-size 16 --drop-missing-target -o " +
                 path("m.safetensors") + " --report " + path("r.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("64 train, 16 test"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 rows without a target dropped"), std::string::npos) << r.out;
  const nlohmann::json rep = json_of(path("r.json"));
  EXPECT_EQ(rep.at("data").at("dropped_rows"), 3);
  EXPECT_EQ(rep.at("data").at("target_column"), "y");  // resolved: the last column, no --target given
  // evaluate cuts the same test part of the same file (the rows dropped as training dropped them).
  Result e = run("evaluate -m " + path("m.safetensors") + " --report " + path("e.json"));
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_EQ(json_of(path("e.json")).at("evaluation").at("accuracy"), rep.at("test").at("accuracy"));
  EXPECT_EQ(json_of(path("e.json")).at("target_column"), "y");
}

}  // namespace
