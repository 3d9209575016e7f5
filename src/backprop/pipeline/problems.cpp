#include "backprop/pipeline/problems.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "backprop/data/csv.hpp"

namespace bp::pipeline {

const std::vector<Problem>& problems() {
  static const std::vector<Problem> all = [] {
    std::vector<std::string> a_to_m;
    for (char c = 'A'; c <= 'M'; ++c) a_to_m.emplace_back(1, c);
    return std::vector<Problem>{{"ADULT", "Salary", {">50K"}, "Adult.csv.gz", false},
                                {"CALHOUS", "medianHouseValue", {}, "CalHousing.csv.gz", true},
                                {"LETTER.P1", "lettr", {"O"}, "LetterRecognition.csv.gz", false},
                                {"LETTER.P2", "lettr", a_to_m, "LetterRecognition.csv.gz", false}};
  }();
  return all;
}

std::vector<std::string> problem_names() {
  std::vector<std::string> names;
  for (const Problem& p : problems()) names.push_back(p.name);
  return names;
}

const Problem& problem_by_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const Problem& p : problems())
    if (p.name == upper) return p;
  throw std::invalid_argument("unknown binary view " + data::quote_text(name) + " (known: " +
                              data::join_names(problem_names()) + ")");
}

void apply_problem(data::DataSpec& spec, std::string_view name) {
  const Problem& p = problem_by_name(name);
  if (p.above_median)
    throw std::invalid_argument("the binary view " + p.name + " (" + p.target +
                                " above its median) is defined by the data: `backprop study` applies it");
  if (spec.target.empty()) spec.target = p.target;
  spec.positive.insert(spec.positive.end(), p.positive.begin(), p.positive.end());
}

std::vector<std::string> above_median_values(const data::Table& table, const std::string& column, double* median) {
  const int64_t col = table.column_index(column);
  std::vector<double> v;
  std::map<double, std::string> spelled;
  for (int64_t r = 0; r < table.num_rows(); ++r) {
    const data::Cell& c = table.cell(r, col);
    char* end = nullptr;
    const double x = c.missing ? NAN : std::strtod(c.text.c_str(), &end);
    if (c.missing || end == c.text.c_str() || *end != '\0' || !std::isfinite(x))
      throw std::invalid_argument("column " + column + " at " + table.where(r) +
                                  ": not a number, so it has no median to cut at");
    v.push_back(x);
    spelled.emplace(x, c.text);
  }
  if (v.empty()) throw std::invalid_argument("column " + column + " has no rows");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  if (median) *median = med;
  std::vector<std::string> out;
  for (const auto& [x, text] : spelled)
    if (x > med) out.push_back(text);
  return out;
}

}  // namespace bp::pipeline
