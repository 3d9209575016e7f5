// What a model predicts, shared by the data readers, the networks and the evaluation:
//   Regression  — numbers; linear outputs, squared error
//   Binary      — two classes (class 1 positive); one logit, sigmoid + cross-entropy
//   Multiclass  — K classes; one logit per class, softmax + cross-entropy
#pragma once

#include <string>

namespace bp {

enum class Task { Regression, Binary, Multiclass };

// "regression", "binary", "multiclass" (also "classification" for multiclass);
// std::invalid_argument listing the choices otherwise.
Task task_from_string(const std::string& s);
std::string to_string(Task t);
const char* task_name(Task t);  // the same, as a C string

}  // namespace bp
