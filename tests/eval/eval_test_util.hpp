// Helpers shared by the eval tests: reading the fixture files written by
// tests/fixtures/eval/gen_eval_fixtures.py.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../test_util.hpp"

namespace bp::eval::testing {

inline nlohmann::json load_fixture(const std::string& name) { return bp::testing::load_fixture("eval/" + name); }

inline std::vector<double> doubles(const nlohmann::json& j) { return j.get<std::vector<double>>(); }
inline std::vector<int> ints(const nlohmann::json& j) { return j.get<std::vector<int>>(); }

}  // namespace bp::eval::testing
