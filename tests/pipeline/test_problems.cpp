// The study's named problems, turned into a target and positive values before preparation.
#include <gtest/gtest.h>

#include <stdexcept>

#include "backprop/pipeline/problems.hpp"
#include "../test_util.hpp"

using namespace bp;

TEST(PipelineProblems, NamesAndLookup) {
  EXPECT_EQ(pipeline::problem_names(), (std::vector<std::string>{"ADULT", "CALHOUS", "LETTER.P1", "LETTER.P2"}));
  EXPECT_EQ(pipeline::problem_by_name("letter.p1").positive, (std::vector<std::string>{"O"}));
  const pipeline::Problem& p2 = pipeline::problem_by_name("LETTER.P2");
  EXPECT_EQ(p2.target, "lettr");
  ASSERT_EQ(p2.positive.size(), 13u);
  EXPECT_EQ(p2.positive.front(), "A");
  EXPECT_EQ(p2.positive.back(), "M");
  try {
    pipeline::problem_by_name("LETTER.P3");
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown binary view 'LETTER.P3' (known: ADULT, CALHOUS, LETTER.P1, LETTER.P2)");
  }
}

TEST(PipelineProblems, ApplyKeepsAGivenTargetAndAddsPositives) {
  data::DataSpec s;
  pipeline::apply_problem(s, "LETTER.P1");
  EXPECT_EQ(s.target, "lettr");
  EXPECT_EQ(s.positive, (std::vector<std::string>{"O"}));
  data::DataSpec t;
  t.target = "letter";
  t.positive = {"Q"};
  pipeline::apply_problem(t, "letter.p1");
  EXPECT_EQ(t.target, "letter");
  EXPECT_EQ(t.positive, (std::vector<std::string>{"Q", "O"}));
}

TEST(PipelineProblems, LetterViewsPrepareAsThePaperDescribes) {
  for (const auto& [name, positives] : {std::pair{"LETTER.P1", 753}, std::pair{"LETTER.P2", 9940}}) {
    data::DataSpec s;
    s.source = bp::testing::repo_data("LetterRecognition.csv");
    s.test_fraction = 0;
    pipeline::apply_problem(s, name);
    const data::Prepared p = data::prepare(s);
    EXPECT_EQ(p.train.task, Task::Binary);
    EXPECT_EQ(p.train.class_names, (std::vector<std::string>{"negative", "positive"}));
    int64_t pos = 0;
    for (int32_t l : p.train.labels) pos += l;
    EXPECT_EQ(pos, positives) << name;  // 3.8 % and 49.7 % of 20000
  }
}
