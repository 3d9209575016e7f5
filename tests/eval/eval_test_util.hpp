// Helpers shared by the eval tests: reading the fixture files written by
// tests/fixtures/eval/gen_eval_fixtures.py.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bp::eval::testing {

inline nlohmann::json load_fixture(const std::string& name) {
  const std::string path = std::string(BACKPROP_SOURCE_DIR) + "/tests/fixtures/eval/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path + " (run tests/fixtures/eval/gen_eval_fixtures.py)");
  return nlohmann::json::parse(in);
}

inline std::vector<double> doubles(const nlohmann::json& j) { return j.get<std::vector<double>>(); }
inline std::vector<int> ints(const nlohmann::json& j) { return j.get<std::vector<int>>(); }

}  // namespace bp::eval::testing
