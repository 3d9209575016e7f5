// `backprop embed` and `backprop similar` through the real binary: training, the word2vec
// export, neighbours and analogies, and the errors with their exit codes (evaluate and
// predict refuse an embedding model with a pointer to `similar`).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "backprop/util/rng.hpp"
#include "../test_util.hpp"
#include "cli_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using bp::testing::cli::Result;
using bp::testing::cli::run;

class CliEmbed : public bp::testing::TempDirTest {
 protected:
  CliEmbed() : TempDirTest("backprop_cli_embed") {}
  // Two families of words that never share a line: "the cat/dog/cow eats/sees" and
  // "a red/blue/green car/bus/van".
  void write_corpus() const {
    bp::Rng rng(2);
    std::ofstream out(path("text.txt"));
    const char* animals[] = {"cat", "dog", "cow"};
    const char* colours[] = {"red", "blue", "green"};
    const char* vehicles[] = {"car", "bus", "van"};
    for (int i = 0; i < 3000; ++i) {
      if (rng.below(2) == 0)
        out << "The " << animals[rng.below(3)] << (rng.below(2) ? " eats" : " sees") << " the " << animals[rng.below(3)] << ".\n";
      else
        out << "a " << colours[rng.below(3)] << ' ' << vehicles[rng.below(3)] << ", a " << colours[rng.below(3)] << ' '
            << vehicles[rng.below(3)] << '\n';
    }
  }
};

TEST_F(CliEmbed, TrainsExportsAndAnswers) {
  write_corpus();
  const Result t = run("embed --text " + path("text.txt") + " --dim 16 --epochs 3 --min-count 5 -o " + path("m.safetensors") +
                       " --export-word2vec " + path("m.txt"));
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("vocabulary 13 words"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("epoch 3/3"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("model saved to"), std::string::npos) << t.out;
  std::ifstream w2v(path("m.txt"));
  std::string header;
  std::getline(w2v, header);
  EXPECT_EQ(header, "13 16");

  // The two families never share a line: a word's nearest neighbours are of its own family.
  const Result s = run("similar -m " + path("m.safetensors") + " --top 4 cat red");
  ASSERT_EQ(s.code, 0) << s.out;
  std::istringstream lines(s.out);
  const std::set<std::string> animal{"the", "cat", "dog", "cow", "eats", "sees"},
      vehicle{"a", "red", "blue", "green", "car", "bus", "van"};
  std::string line, query;
  int listed = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("  ", 0) != 0) {
      query = line;
      continue;
    }
    const std::string word = line.substr(2, line.find(' ', 2) - 2);
    EXPECT_TRUE(query == "cat" ? animal.count(word) : vehicle.count(word)) << word << " near " << query << ":\n" << s.out;
    ++listed;
  }
  EXPECT_EQ(listed, 8) << s.out;

  const Result a = run("similar -m " + path("m.safetensors") + " --analogy --top 1 cat dog cow");
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(a.out.rfind("cat - dog + cow\n", 0), 0u) << a.out;

  // Errors: an unknown word, a wrong number of analogy words, a model of another kind.
  const Result unknown = run("similar -m " + path("m.safetensors") + " cat zebra");
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("backprop: error: the word 'zebra' is not in the model's vocabulary"), std::string::npos)
      << unknown.out;
  EXPECT_EQ(unknown.out.find("cat\n"), std::string::npos) << "printed before failing: " << unknown.out;
  const Result two = run("similar -m " + path("m.safetensors") + " --analogy cat dog");
  EXPECT_EQ(two.code, 2) << two.out;
  EXPECT_NE(two.out.find("three words per query"), std::string::npos) << two.out;
  for (const std::string& cmd : {"evaluate -m " + path("m.safetensors") + " --data " + path("text.txt"),
                                "predict -m " + path("m.safetensors") + " --data " + path("text.txt") + " -o -"}) {
    const Result r = run(cmd);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("is a word-embedding model (backprop embed): query it with backprop similar"), std::string::npos)
        << r.out;
  }
}

TEST_F(CliEmbed, BadInputGetsOneErrorAndItsExitCode) {
  std::ofstream(path("few.txt")) << "only a few words here\n";
  const Result rare = run("embed --text " + path("few.txt") + " -o " + path("m.safetensors"));
  EXPECT_EQ(rare.code, 3) << rare.out;
  EXPECT_NE(rare.out.find("no word occurs --min-count 5 times"), std::string::npos) << rare.out;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));

  const Result zero = run("embed --text " + path("few.txt") + " --dim 0 -o " + path("m.safetensors"));
  EXPECT_EQ(zero.code, 2) << zero.out;
  const Result missing = run("embed -o " + path("m.safetensors"));
  EXPECT_EQ(missing.code, 2) << missing.out;

  // A learning rate far too large: the vectors overflow; exit 6 and no model.
  std::ofstream(path("many.txt")) << "a b c d e f g h\nh g f e d c b a\n";
  const Result diverged = run("embed --text " + path("many.txt") + " --min-count 1 --subsample 0 --epochs 20 --lr 1e30 -o " +
                              path("m.safetensors"));
  EXPECT_EQ(diverged.code, 6) << diverged.out;
  EXPECT_NE(diverged.out.find("diverged"), std::string::npos) << diverged.out;
  EXPECT_FALSE(fs::exists(path("m.safetensors")));

  std::ofstream(path("not_a_model.safetensors")) << "garbage";
  const Result bad = run("similar -m " + path("not_a_model.safetensors") + " word");
  EXPECT_EQ(bad.code, 4) << bad.out;
  EXPECT_NE(bad.out.find("backprop: error: "), std::string::npos) << bad.out;
}

}  // namespace
