// The study's named problems: binary views of the data sets of Caruana & Niculescu-Mizil
// (ICML 2006), each a target column and the target values that form the positive class.
// `--view NAME` and the study turn a name into a target and positive set here, before data
// preparation (data/source.hpp), which knows nothing of these names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "backprop/data/source.hpp"

namespace bp::pipeline {

struct Problem {
  std::string name;                   // "LETTER.P1"
  std::string target;                 // the target column: "lettr"
  std::vector<std::string> positive;  // its values of the positive class: {"O"}
};

// Every named problem, in a fixed order:
//   LETTER.P1  LetterRecognition.csv, "O" against the rest (~3 % positive)
//   LETTER.P2  LetterRecognition.csv, A–M against N–Z (~50 % positive)
const std::vector<Problem>& problems();
std::vector<std::string> problem_names();

// The problem named `name`, ignoring case; std::invalid_argument listing the known names
// otherwise.
const Problem& problem_by_name(std::string_view name);

// Applies the named problem to a data description: its target column unless `spec` names
// one, its positive values added to any `spec` has.
void apply_problem(data::DataSpec& spec, std::string_view name);

}  // namespace bp::pipeline
