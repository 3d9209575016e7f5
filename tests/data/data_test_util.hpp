// Helpers shared by the data-module tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backprop/data/error.hpp"
#include "../test_util.hpp"

namespace bp::data::testing {

using bp::testing::repo_data;

// A fresh file under the build folder with the given contents; returns its path.
inline std::string write_temp(const std::string& name, const std::string& contents) {
  const auto dir = std::filesystem::path(BACKPROP_BINARY_DIR) / "data_test_tmp";
  const auto path = dir / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
  return path.string();
}

}  // namespace bp::data::testing

// Expects `stmt` to throw bp::data::DataError whose message contains `fragment`.
#define EXPECT_DATA_ERROR(stmt, fragment)                                                   \
  do {                                                                                      \
    try {                                                                                   \
      stmt;                                                                                 \
      ADD_FAILURE() << "expected DataError containing \"" << (fragment) << "\"";            \
    } catch (const bp::data::DataError& e) {                                                \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)                    \
          << "message: " << e.what() << "\nexpected fragment: " << (fragment);             \
    }                                                                                       \
  } while (0)
