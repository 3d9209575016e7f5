// The study's named problems: binary views of the data sets of Caruana & Niculescu-Mizil
// (ICML 2006), each a target column and the target values that form the positive class.
// `--view NAME` and the study turn a name into a target and positive set here, before data
// preparation (data/source.hpp), which knows nothing of these names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "backprop/data/csv.hpp"
#include "backprop/data/source.hpp"

namespace bp::pipeline {

struct Problem {
  std::string name;                   // "LETTER.P1"
  std::string target;                 // the target column: "lettr"
  std::vector<std::string> positive;  // its values of the positive class: {"O"}
  std::string file;                   // the data set in the repository's data/: "LetterRecognition.csv.gz"
  // A numeric target made binary: positive when the value is above the median of the column
  // (over every row of the file). `positive` is then empty, and the problem needs the data to
  // be applied (the study does it; apply_problem refuses).
  bool above_median = false;
};

// Every named problem, in a fixed order:
//   ADULT      Adult.csv.gz, Salary ">50K" against "<=50K" (~24 % positive)
//   CALHOUS    CalHousing.csv.gz, medianHouseValue above its median (~50 % positive)
//   LETTER.P1  LetterRecognition.csv, "O" against the rest (~3 % positive)
//   LETTER.P2  LetterRecognition.csv, A–M against N–Z (~50 % positive)
const std::vector<Problem>& problems();
std::vector<std::string> problem_names();

// The problem named `name`, ignoring case; std::invalid_argument listing the known names
// otherwise.
const Problem& problem_by_name(std::string_view name);

// Applies the named problem to a data description: its target column unless `spec` names
// one, its positive values added to any `spec` has. std::invalid_argument for an
// above-median problem (CALHOUS): its positive values depend on the data (above_median_values).
void apply_problem(data::DataSpec& spec, std::string_view name);

// The distinct values of a numeric column that lie above the column's median over all rows
// (the median of an even count: the mean of the two middle values), as the table spells them,
// and that median. std::invalid_argument naming the column when a value is missing or not a
// number.
std::vector<std::string> above_median_values(const data::Table& table, const std::string& column, double* median = nullptr);

}  // namespace bp::pipeline
