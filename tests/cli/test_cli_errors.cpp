// The command's failures as a user meets them (issue 9 C): each is one line that starts
// "backprop: error:", names the file, line or option, and exits with the documented code
// (README, "Exit codes"): 2 usage, 3 bad data, 4 bad model file, 5 cannot write.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.hpp"
#include "backprop/io/model_file.hpp"

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code;
  std::string err;  // stderr alone
  std::string out;  // stdout alone
};

// Runs the real binary through /bin/sh with `prefix` before it (e.g. "ulimit -f 1;"),
// stdout and stderr apart.
Outcome run_binary(const std::string& args, const std::string& dir, const std::string& prefix = "") {
  const std::string out_file = dir + "/stdout.txt";
  const std::string cmd = prefix + " " + std::string(BACKPROP_BINARY_DIR) + "/backprop " + args + " 2>&1 >" + out_file;
  Outcome r{-1, "", ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.err.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(out_file);
  r.out.assign(std::istreambuf_iterator<char>(f), {});
  return r;
}

class CliErrors : public bp::testing::TempDirTest {
 protected:
  CliErrors() : TempDirTest("backprop_cli_errors") {}
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
  Outcome run(const std::string& args, const std::string& prefix = "") const { return run_binary(args, dir_.string(), prefix); }
  // The command failed with `code` and exactly one stderr line, "backprop: error: ...",
  // containing `fragment`. Returns that line.
  std::string expect_error(const std::string& args, int code, const std::string& fragment,
                           const std::string& prefix = "") const {
    const Outcome r = run(args, prefix);
    EXPECT_EQ(r.code, code) << args << "\nstderr:\n" << r.err;
    EXPECT_EQ(r.err.rfind("backprop: error: ", 0), 0u) << args << "\nstderr:\n" << r.err;
    EXPECT_TRUE(!r.err.empty() && r.err.find('\n') == r.err.size() - 1) << "one line:\n" << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in:\n" << r.err;
    return r.err;
  }
  // A trained model on Sonar (binary, classes M and R), made once per test that needs it.
  std::string sonar_model() const {
    const std::string m = path("sonar.safetensors");
    const Outcome r = run("train --data " + sonar() + " --hidden 4 --epochs 2 -q -o " + m);
    EXPECT_EQ(r.code, 0) << r.err;
    return m;
  }
  static std::string sonar() { return bp::testing::repo_data("Sonar.csv"); }
};

}  // namespace

// Option parsing: CLI11's own errors once printed two lines without the prefix and exited
// 105/106/109.
TEST_F(CliErrors, ParseErrorsAreOneUsageLine) {
  expect_error("train --bogus", 2, "--bogus");
  expect_error("train --lr 0", 2, "--lr: must be a positive number, got '0'");
  expect_error("train --threads 1025", 2, "--threads");
  expect_error("evaluate -m " + path("nofile.safetensors"), 2, "--model: File does not exist: " + path("nofile.safetensors"));
  expect_error("predict -m " + path("nofile.safetensors") + " --data " + sonar(), 2, "nofile.safetensors");
}

// Once "Value -1 not in range 0.000000 to 179769313486231570814527423731704356798070567525844996…".
TEST_F(CliErrors, NegativeWeightDecaySaysSoBriefly) {
  const std::string small = " --data " + sonar() + " --hidden 4 --epochs 1 -o " + path("m.safetensors");
  const std::string line = expect_error("train --weight-decay -1" + small, 2, "--weight-decay: must be a number >= 0, got '-1'");
  EXPECT_LT(line.size(), 100u) << line;
  expect_error("train --patience -1" + small, 2, "--patience");
}

// Once silently 18446744073709551615.
TEST_F(CliErrors, NegativeSeedsAreRefused) {
  const std::string small = " --data " + sonar() + " --hidden 4 --epochs 1 -o " + path("m.safetensors");
  expect_error("train --seed -1" + small, 2, "--seed: must be an integer from 0 to 18446744073709551615, got '-1'");
  expect_error("train --split-seed -1" + small, 2, "--split-seed");
  expect_error("study --data " + sonar() + " --seed -5", 2, "--seed");
  expect_error("train --seed 18446744073709551616" + small, 2, "--seed");
}

// Once "--hidden: '100000000' is not a comma-separated list of positive sizes".
TEST_F(CliErrors, AHiddenLayerOverTheLimitNamesTheLimit) {
  expect_error("train --data " + sonar() + " --hidden 100000000", 2,
               "--hidden: a layer of 100000000 units is over the limit of 1000000 units per layer");
  expect_error("train --data " + sonar() + " --hidden 12,x", 2, "is not a comma-separated list of positive sizes");
}

// Once std::bad_alloc ("out of memory", or a kill by the system): the estimate refuses it
// before anything is allocated, naming what it needs and what there is.
TEST_F(CliErrors, AModelTooLargeForTheMachineIsRefusedBeforeAllocating) {
  const std::string line =
      expect_error("train --data " + sonar() + " --hidden 1000000,1000000 -o " + path("m.safetensors"), 2, "the model needs about");
  EXPECT_NE(line.find("TB to train"), std::string::npos) << line;
  EXPECT_NE(line.find("available"), std::string::npos) << line;
  EXPECT_NE(line.find("--hidden"), std::string::npos) << line;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

// Once "<file>:1: quote inside unquoted field 1 (...)".
TEST_F(CliErrors, BinaryFilesGivenAsDataAreCalledBinary) {
  const std::string model = sonar_model();
  const std::string png = write("picture.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02", 26));
  const std::string gz = path("model.csv.gz");
  ASSERT_EQ(std::system(("gzip -c " + model + " > " + gz).c_str()), 0);
  for (const std::string& f : {std::string(BACKPROP_BINARY_DIR) + "/backprop", png, gz, model})
    expect_error("train -q --data " + f + " -o " + path("m.safetensors"), 3,
                 f + " is not a text CSV file (it looks like binary data)");
  expect_error("predict -m " + model + " --data " + png + " -o " + path("p.csv"), 3, png + " is not a text CSV file");
}

// Once "latin.csv: target 'b' has a single class 'caf\xE9' ..." with the raw byte, no line.
TEST_F(CliErrors, Latin1TextNamesTheFileLineAndByte) {
  const std::string f = write("latin.csv", "a,b\n1,tea\n2,caf\xE9\n3,tea\n");
  expect_error("train -q --data " + f, 3,
               f + ":3: not UTF-8 text (byte 0xE9 at column 6); convert it, e.g. iconv -f latin1 -t utf-8");
}

// Once ": cannot rename '.tmp.15722.0' over it" after the training; now refused before any work.
TEST_F(CliErrors, AnEmptyOutputNameIsAUsageError) {
  const Outcome r = run("train --data " + sonar() + " --epochs 1 -o ''");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err, "backprop: error: --output: the file name is empty\n");
  EXPECT_EQ(r.out, "");  // nothing was read or trained
  expect_error("train --data " + sonar() + " --report ''", 2, "--report: the file name is empty");
  expect_error("predict -m " + sonar() + " --data " + sonar() + " -o ''", 2, "--output: the file name is empty");
  expect_error("study --data " + sonar() + " -o ''", 2, "--output: the file name is empty");
}

// A full disk (here a file-size limit, set in the shell that runs the command, which fails
// write() with EFBIG as a full disk does with ENOSPC): the message says why, exit 5.
TEST_F(CliErrors, AFullDiskSaysWhy) {
  const std::string model = sonar_model();
  const std::string limit = "trap '' XFSZ; ulimit -f 1;";  // 512 or 1024 bytes, by the shell
  expect_error("predict -m " + model + " --data " + sonar() + " -o " + path("p.csv"), 5, "File too large", limit);
  expect_error("evaluate -m " + model + " --report " + path("e.json"), 5, "File too large", limit);
  expect_error("train --data " + sonar() + " --hidden 4 --epochs 1 -q -o " + path("m2.safetensors"), 5, "File too large",
               limit);
  EXPECT_FALSE(fs::exists(path("p.csv")));
  EXPECT_FALSE(fs::exists(path("e.json")));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

// A model file edited by hand: the checksums catch the edit; a file whose metadata disagree
// although its checksums hold (written by a program) is refused on load, never reaching
// "format_confusion_matrix: 3 class names for 2 classes".
TEST_F(CliErrors, HandEditedModelFilesAreRefusedOnLoad) {
  const std::string model = sonar_model();
  std::ifstream in(model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string names = "[\\\"M\\\",\\\"R\\\"]", swapped = "[\\\"R\\\",\\\"M\\\"]";
  const size_t at = bytes.find(names);
  ASSERT_NE(at, std::string::npos);
  std::string edited = bytes;
  edited.replace(at, names.size(), swapped);  // the labels swapped, same length
  const std::string hand = write("hand.safetensors", edited);
  expect_error("evaluate -m " + hand, 4, hand);
  expect_error("predict -m " + hand + " --data " + sonar() + " -o " + path("p.csv"), 4, "checksum");

  bp::io::ModelFile m = bp::io::load_model(model);
  m.info.class_names = {"M", "R", "X"};
  const std::string three = path("three.safetensors");
  bp::io::save_model(three, m);
  const std::string line = expect_error("evaluate -m " + three, 4, three + ": metadata");
  EXPECT_NE(line.find("a binary model has 2 classes"), std::string::npos) << line;
  m.info.class_names = {"M", "R"};
  m.info.preprocessing = nlohmann::json::object({{"kind", "?"}});
  const std::string unknown = path("unknown.safetensors");
  bp::io::save_model(unknown, m);
  expect_error("evaluate -m " + unknown, 4, unknown + ": metadata");
}

// -q prints the results and nothing else: no data description, no training summary, no
// progress; errors still come.
TEST_F(CliErrors, QuietPrintsOnlyTheResults) {
  const Outcome r = run("train --data " + sonar() + " --hidden 4 --epochs 2 -q -o " + path("m.safetensors"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("Sonar.csv:"), std::string::npos) << r.out;  // the data description
  EXPECT_EQ(r.out.find("samples/s"), std::string::npos) << r.out;   // the training summary
  EXPECT_EQ(r.out.rfind("test (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("accuracy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model saved to " + path("m.safetensors") + "\n"), std::string::npos) << r.out;
  const Outcome loud = run("train --data " + sonar() + " --hidden 4 --epochs 2 -o " + path("m.safetensors"));
  EXPECT_NE(loud.out.find("Sonar.csv:"), std::string::npos) << loud.out;
  EXPECT_NE(loud.err.find("epoch 2/2"), std::string::npos) << loud.err;
}

// UCI's Adult as it comes (", " separators, ? for missing), from the README: the target found
// by its name, the classes without their leading space, ? not a category. The whole file (a
// slice puts rare categories in the test part only, which is an error), briefly trained.
TEST_F(CliErrors, AdultTrainsAsTheReadmeSays) {
  const std::string slice = bp::testing::repo_data("Adult.csv.gz");
  const Outcome r = run("train --data " + slice + " --target Salary --hidden 8 --epochs 1 -o " + path("a.safetensors") +
                    " --report " + path("a.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("26049 train, 6512 test, 105 features, 2 classes"), std::string::npos) << r.out;
  const nlohmann::json rep = nlohmann::json::parse(std::ifstream(path("a.json")));
  EXPECT_EQ(rep.at("test").at("class_names"), nlohmann::json::array({"<=50K", ">50K"}));
  // Explicit options give the same reading; --na-values "" makes ? a category again.
  const Outcome same = run("train --data " + slice + " --target Salary --na-values '?, NA' --skip-initial-space --hidden 8 "
                       "--epochs 1 -q -o " + path("b.safetensors") + " --report " + path("b.json"));
  ASSERT_EQ(same.code, 0) << same.err;
  const nlohmann::json rep2 = nlohmann::json::parse(std::ifstream(path("b.json")));
  EXPECT_EQ(rep2.at("test").at("accuracy"), rep.at("test").at("accuracy"));
  const Outcome q = run("train --data " + slice + " --target Salary --na-values '' --hidden 8 --epochs 1 -o " + path("c.safetensors"));
  ASSERT_EQ(q.code, 0) << q.err;
  const auto features = [](const std::string& out) { return out.substr(out.find("test, "), 20); };
  EXPECT_NE(features(q.out), features(r.out)) << q.out << r.out;  // ? adds a category per column
}
