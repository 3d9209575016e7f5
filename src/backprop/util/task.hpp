// What a model predicts, shared by the data readers, the networks and the evaluation:
//   Regression  — numbers; linear outputs, squared error
//   Binary      — two classes (class 1 positive); one logit, sigmoid + cross-entropy
//   Multiclass  — K classes; one logit per class, softmax + cross-entropy
// The project's one task-name API: these names are what options, reports, model files and
// preprocessor JSON use.
#pragma once

#include <string>
#include <string_view>

namespace bp {

enum class Task { Regression, Binary, Multiclass };

// "regression", "binary", "multiclass" (also "classification" for multiclass);
// std::invalid_argument "unknown task 'X' (choose regression, binary, multiclass)" otherwise.
Task task_from_string(std::string_view s);
std::string to_string(Task t);
const char* task_name(Task t);  // the same, as a C string

}  // namespace bp
