// `backprop study --quick` end to end through the real binary: the four public problems,
// every learner this build has, the report and its files; and the command's usage errors.
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
using bp::testing::cli::slurp;

class CliStudy : public bp::testing::TempDirTest {
 protected:
  CliStudy() : TempDirTest("backprop_cli_study") {}
  static std::string data_dir() { return fs::path(bp::testing::repo_data("Adult.csv.gz")).parent_path().string(); }
};

TEST_F(CliStudy, QuickRunsTheFourProblemsAndWritesTheReport) {
  const std::string prefix = path("q");
  Result r = run("study --quick --data-dir " + data_dir() + " -o " + prefix);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* s : {"ADULT (1000 train, 2000 test)", "CALHOUS", "LETTER.P1", "LETTER.P2", "OPT-SEL", "  paper",
                        "Spearman rank correlation", "bootstrap analysis", "about", "left"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  for (const char* ext : {".txt", ".csv", ".json", ".png", ".results.jsonl"})
    EXPECT_TRUE(fs::exists(prefix + ext)) << ext;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(prefix + ".json"));
  EXPECT_EQ(j.at("problems").size(), 4u);
  // Every learner this build has, three calibrations each, on four problems.
  const size_t lines = j.at("table").size();
  EXPECT_GE(lines, 27u);  // at least the 9 learners of the tree helper's build
  EXPECT_EQ(lines % 3, 0u);
  EXPECT_EQ(j.at("rows").size(), 4 * lines);
  EXPECT_TRUE(j.at("paper_comparison").at("spearman").is_number());
  EXPECT_EQ(slurp(prefix + ".png").substr(1, 3), "PNG");
  // The same command with --resume reads every fit back and prints the same tables.
  Result again = run("study --quick --resume --data-dir " + data_dir() + " -q -o " + prefix);
  ASSERT_EQ(again.code, 0) << again.out;
  const nlohmann::json k = nlohmann::json::parse(std::ifstream(prefix + ".json"));
  EXPECT_EQ(k.at("table"), j.at("table"));
  EXPECT_NE(again.out.find("0 fits run"), std::string::npos) << again.out;
}

TEST_F(CliStudy, UsageErrors) {
  const std::string d = " --data-dir " + data_dir();
  expect_usage_error("study --learners lr,nope" + d + " -o " + path("s"), "unknown learner 'nope'");
  expect_usage_error("study --grid huge -o " + path("s"), "--grid");
  expect_usage_error("study --problems BACT -o " + path("s"), "BACT");
  expect_usage_error("study --problem 'X=a.csv:y' -o " + path("s"), "--problem X=a.csv:y");
  expect_usage_error("study --view LETTER.P1 -o " + path("s"), "go with --data");
  expect_usage_error("study --resume --results " + path("none.jsonl") + d + " -o " + path("s"), "cannot read the results file");
}

}  // namespace
