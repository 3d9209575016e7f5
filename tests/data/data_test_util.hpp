// Helpers shared by the data-module tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "backprop/data/error.hpp"

namespace bp::data::testing {

// Path of a shared data set: ../shared/data/NAME beside the checkout (as in CI), else a
// shared/ folder inside it or two levels up (a git worktree under a folder of worktrees).
// When none exists the first path is returned, and the reader's error names it.
inline std::string shared_data(const std::string& name) {
  const std::string root = BACKPROP_SOURCE_DIR;
  for (const char* dir : {"/../shared/data/", "/shared/data/", "/../../shared/data/"})
    if (std::filesystem::exists(root + dir + name)) return root + dir + name;
  return root + "/../shared/data/" + name;
}

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
