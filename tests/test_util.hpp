// Small helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "backprop/autograd/gradcheck.hpp"
#include "backprop/tensor/tensor.hpp"

namespace bp::testing {

// A test with an empty folder of its own under the system's temporary directory, named after
// the prefix, the process and the test, and removed afterwards; path(name) is a file in it.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + "_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

// Uniform values in [lo, hi); with `min_abs` > 0, values are kept at least that far from 0
// (away from the kinks of ReLU and the step function).
inline Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f, float min_abs = 0.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v;
    do v = u(rng);
    while (std::fabs(v) < min_abs);
    t[i] = v;
  }
  return t;
}

inline std::string source_path(const std::string& rel) { return std::string(BACKPROP_SOURCE_DIR) + "/" + rel; }

// Path of a data set the repository carries: <source dir>/data/NAME (data/README.md lists
// them). The large files are stored gzip-compressed, so NAME.gz is taken when NAME is absent;
// the CSV reader reads either. When neither exists the plain path is returned, and the
// reader's error names it.
inline std::string repo_data(const std::string& name) {
  const std::string path = std::string(BACKPROP_SOURCE_DIR) + "/data/" + name;
  if (!std::filesystem::exists(path) && std::filesystem::exists(path + ".gz")) return path + ".gz";
  return path;
}

// A JSON fixture under tests/fixtures/ (written by the generator script beside it).
inline nlohmann::json load_fixture(const std::string& rel) {
  const std::string path = source_path("tests/fixtures/" + rel);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path + " (regenerate it with the script in its folder)");
  return nlohmann::json::parse(in);
}

// Every block's test: the shared finite-difference check must pass and check something.
inline void expect_grad_ok(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Tensor>& in,
                           autograd::GradcheckOptions o = {}) {
  auto r = autograd::gradcheck(f, in, o);
  EXPECT_TRUE(r.ok) << r.report << "max abs error " << r.max_abs_error;
  EXPECT_GT(r.checked, 0);
}

// Every element of `a` within `tol` of `b`, relative to 1 + |b| (absolute near zero, relative
// for large values); a failure names the worst element.
inline void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  double worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double e = std::fabs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::fabs(static_cast<double>(b[i])));
    if (e > worst) worst = e, at = i;
  }
  EXPECT_LE(worst, tol) << what << ": element " << at << " is " << a[at] << ", expected " << b[at];
}

}  // namespace bp::testing
