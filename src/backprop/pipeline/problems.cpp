#include "backprop/pipeline/problems.hpp"

#include <cctype>
#include <stdexcept>

#include "backprop/data/csv.hpp"

namespace bp::pipeline {

const std::vector<Problem>& problems() {
  static const std::vector<Problem> all = [] {
    std::vector<std::string> a_to_m;
    for (char c = 'A'; c <= 'M'; ++c) a_to_m.emplace_back(1, c);
    return std::vector<Problem>{{"LETTER.P1", "lettr", {"O"}}, {"LETTER.P2", "lettr", a_to_m}};
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
  if (spec.target.empty()) spec.target = p.target;
  spec.positive.insert(spec.positive.end(), p.positive.begin(), p.positive.end());
}

}  // namespace bp::pipeline
