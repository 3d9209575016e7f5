// `backprop train --model char-lstm` and `backprop sample` through the real binary: the
// round trip, the same text for the same seed, and the errors with their exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../test_util.hpp"
#include "cli_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using bp::testing::cli::Result;
using bp::testing::cli::run;

class CliCharLm : public bp::testing::TempDirTest {
 protected:
  CliCharLm() : TempDirTest("backprop_cli_char_lm") {}
};

const char* kSmall = " --hidden 32 --embedding 8 --seq-len 16 --batch-size 16";

TEST_F(CliCharLm, TrainsThenSamplesThePatternTheSameForTheSameSeed) {
  std::string text;
  for (int i = 0; i < 1500; ++i) text += "abc";
  std::ofstream(path("abc.txt")) << text;
  const Result t = run("train --model char-lstm --text " + path("abc.txt") + kSmall + " --steps 200 -o " + path("m.safetensors"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("3 distinct"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("nats/char"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("model saved to"), std::string::npos) << t.out;

  const std::string sample = "sample -m " + path("m.safetensors") + " --prime ab --length 30 --seed 4";
  const Result a = run(sample), b = run(sample);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out, "abcabcabcabcabcabcabcabcabcabcab\n");
  EXPECT_EQ(a.out, b.out);
}

TEST_F(CliCharLm, BadInputGetsOneErrorAndItsExitCode) {
  const Result no_text = run("train --model char-lstm --steps 2 -o " + path("m.safetensors"));
  EXPECT_EQ(no_text.code, 2) << no_text.out;
  EXPECT_NE(no_text.out.find("backprop: error: --model char-lstm needs --text FILE"), std::string::npos) << no_text.out;

  std::ofstream(path("empty.txt")).flush();
  const Result empty = run("train --model char-lstm --text " + path("empty.txt") + " -o " + path("m.safetensors"));
  EXPECT_EQ(empty.code, 3) << empty.out;
  EXPECT_NE(empty.out.find("the text is empty"), std::string::npos) << empty.out;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));

  const Result text_only = run("train --text " + path("empty.txt"));
  EXPECT_EQ(text_only.code, 2) << text_only.out;
  EXPECT_NE(text_only.out.find("--text is an option of --model char-lstm"), std::string::npos) << text_only.out;

  const Result other = run("train --model char-lstm --text " + path("empty.txt") + " --epochs 3");
  EXPECT_EQ(other.code, 2) << other.out;
  EXPECT_NE(other.out.find("--epochs is not an option of --model char-lstm"), std::string::npos) << other.out;

  std::string text;
  for (int i = 0; i < 200; ++i) text += "abc";
  std::ofstream(path("abc.txt")) << text;
  ASSERT_EQ(run("train --model char-lstm -q --text " + path("abc.txt") + kSmall + " --steps 2 -o " + path("m.safetensors")).code, 0);
  const Result prime = run("sample -m " + path("m.safetensors") + " --prime 'ROMEO:'");
  EXPECT_EQ(prime.code, 2) << prime.out;
  EXPECT_NE(prime.out.find("backprop: error: --prime: character 'R' (at position 0) is not in the model's vocabulary"),
            std::string::npos)
      << prime.out;
  EXPECT_EQ(prime.out.find('\n'), prime.out.size() - 1) << prime.out;  // one line
}

}  // namespace
