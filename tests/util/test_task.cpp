// The one task-name API.
#include <gtest/gtest.h>

#include <stdexcept>

#include "backprop/util/task.hpp"

TEST(UtilTask, NamesRoundTrip) {
  for (bp::Task t : {bp::Task::Regression, bp::Task::Binary, bp::Task::Multiclass}) {
    EXPECT_EQ(bp::task_from_string(bp::task_name(t)), t);
    EXPECT_EQ(bp::to_string(t), bp::task_name(t));
  }
  EXPECT_EQ(bp::task_from_string("classification"), bp::Task::Multiclass);
  try {
    bp::task_from_string("ranking");
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown task 'ranking' (choose regression, binary, multiclass)");
  }
}
