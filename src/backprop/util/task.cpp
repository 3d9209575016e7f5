#include "backprop/util/task.hpp"

#include <stdexcept>

namespace bp {

Task task_from_string(std::string_view s) {
  if (s == "regression") return Task::Regression;
  if (s == "binary") return Task::Binary;
  if (s == "multiclass" || s == "classification") return Task::Multiclass;
  throw std::invalid_argument("unknown task '" + std::string(s) + "' (choose regression, binary, multiclass)");
}

const char* task_name(Task t) {
  switch (t) {
    case Task::Regression: return "regression";
    case Task::Binary: return "binary";
    case Task::Multiclass: return "multiclass";
  }
  return "?";
}

std::string to_string(Task t) { return task_name(t); }

}  // namespace bp
