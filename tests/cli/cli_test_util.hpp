// Running the real `backprop` binary from a test: what the command-line tests share.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace bp::testing::cli {

struct Result {
  int code;         // the exit status (-1 when killed by a signal or not started)
  std::string out;  // stdout and stderr together
};

// Runs the binary through the shell (in `cwd` when given), stdout and stderr together.
inline Result run(const std::string& args, const std::string& cwd = "") {
  std::string cmd = std::string(BACKPROP_BINARY_DIR) + "/backprop " + args + " 2>&1";
  if (!cwd.empty()) cmd = "cd '" + cwd + "' && " + cmd;
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A file's bytes.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Fails the test unless `backprop args` exits with `code` (2: a usage error) and says
// "backprop: error: ..." with `fragment` in it.
inline void expect_error(const std::string& args, int code, const std::string& fragment) {
  const Result r = run(args);
  EXPECT_EQ(r.code, code) << args << "\n" << r.out;
  EXPECT_NE(r.out.find("backprop: error:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << "expected '" << fragment << "' in:\n" << r.out;
}
inline void expect_usage_error(const std::string& args, const std::string& fragment) { expect_error(args, 2, fragment); }

}  // namespace bp::testing::cli
