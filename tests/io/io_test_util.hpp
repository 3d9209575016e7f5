// Helpers for the model-file tests: a scratch folder, and byte-level surgery on safetensors
// files (the corrupt files are good files with a few bytes changed).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "backprop/io/safetensors.hpp"

namespace bp::iotest {

namespace fs = std::filesystem;

// A fresh folder, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        std::string("backprop_") + (info ? info->test_suite_name() + std::string("_") + info->name() : "io");
    path_ = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  // Names of the entries in the folder.
  std::set<std::string> entries() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.insert(e.path().filename().string());
    return out;
  }

 private:
  fs::path path_;
};

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline uint64_t get_u64_le(const std::string& b, size_t at = 0) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

inline std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A safetensors file taken apart: header text (padding included) and data buffer.
struct Parts {
  std::string header, data;
  nlohmann::ordered_json json() const { return nlohmann::ordered_json::parse(header); }
};

inline Parts split(const std::string& file) {
  const uint64_t n = get_u64_le(file);
  return {file.substr(8, n), file.substr(8 + n)};
}

// Reassembles a file from a header text (used as is: no padding added) and a data buffer.
inline std::string join(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}
inline std::string join(const nlohmann::ordered_json& header, const std::string& data) {
  return join(header.dump(), data);
}

// Runs `f`, expects a ModelFileError whose message contains `fragment` and the file name.
template <class F>
void expect_refused(F&& f, const fs::path& file, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no ModelFileError; expected one mentioning \"" << fragment << "\"";
  } catch (const io::ModelFileError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fragment), std::string::npos) << "message: " << what << "\nexpected: " << fragment;
    EXPECT_NE(what.find(file.filename().string()), std::string::npos) << "message does not name the file: " << what;
  }
}

}  // namespace bp::iotest
