// Reliability diagrams and ROC plots: the binning by hand, and that the files come out as valid
// PNG / SVG, atomically, with clear errors for bad paths and data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "backprop/eval/plots.hpp"

using namespace bp::eval;
namespace fs = std::filesystem;

namespace {

// A directory of its own per test: ctest runs tests in parallel processes, and the checks for
// leftover temporary files must not see another test's files.
std::string out_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = std::string(BACKPROP_BINARY_DIR) + "/eval_test_output/" + info->test_suite_name() + "." +
                          info->name();
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_png(const std::string& bytes) { return bytes.rfind(std::string("\x89PNG\r\n\x1a\n", 8), 0) == 0; }

bool no_temporaries_left(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
  return true;
}

// A miscalibrated model: 400 cases, true probability q, prediction q^2 (under-confident in
// the positives), and its isotonic-like fix, the true q.
void sample(std::vector<double>& raw, std::vector<double>& fixed, std::vector<int>& y) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 400; ++i) {
    const double q = u(rng);
    raw.push_back(q * q);
    fixed.push_back(q);
    y.push_back(u(rng) < q);
  }
}

}  // namespace

TEST(EvalPlots, ReliabilityBinsByHand) {
  // 10 bins: 0.05 -> [0, .1); 0.15 -> [.1, .2); 0.3, 0.35 -> [.3, .4) (0.3 sits on the edge 3/10
  // and goes up); 0.95, 1.0 -> [.9, 1] (1 goes into the last bin). Empty bins are left out.
  const auto bins = reliability_curve({0.05, 0.15, 0.3, 0.35, 0.95, 1.0}, {0, 0, 1, 0, 1, 1});
  ASSERT_EQ(bins.size(), 4u);
  EXPECT_DOUBLE_EQ(bins[0].lower, 0.0);
  EXPECT_EQ(bins[0].count, 1);
  EXPECT_DOUBLE_EQ(bins[1].lower, 0.1);
  EXPECT_DOUBLE_EQ(bins[2].lower, 0.3);
  EXPECT_EQ(bins[2].count, 2);
  EXPECT_DOUBLE_EQ(bins[2].mean_predicted, 0.325);
  EXPECT_DOUBLE_EQ(bins[2].fraction_positive, 0.5);
  EXPECT_DOUBLE_EQ(bins[3].upper, 1.0);
  EXPECT_EQ(bins[3].count, 2);
  EXPECT_DOUBLE_EQ(bins[3].mean_predicted, 0.975);
  EXPECT_DOUBLE_EQ(bins[3].fraction_positive, 1.0);
  // Two bins split at 0.5.
  const auto two = reliability_curve({0.49, 0.5}, {0, 1}, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].count, 1);
  EXPECT_DOUBLE_EQ(two[1].mean_predicted, 0.5);
  // Edges are b / num_bins exactly, whatever p * num_bins rounds to: (1/49) * 49 rounds below 1,
  // yet 1/49 is on the edge of bin 1; the double just below 0.9 times 10 rounds up to 9, yet it
  // belongs to bin 8.
  EXPECT_DOUBLE_EQ(reliability_curve({1.0 / 49}, {1}, 49).at(0).lower, 1.0 / 49);
  EXPECT_DOUBLE_EQ(reliability_curve({std::nextafter(0.9, 0.0)}, {1}, 10).at(0).lower, 0.8);
  EXPECT_THROW(reliability_curve({0.5}, {1}, 0), std::invalid_argument);
  EXPECT_THROW(reliability_curve({1.5}, {1}), std::invalid_argument);
  EXPECT_THROW(reliability_curve({std::numeric_limits<double>::quiet_NaN()}, {1}), std::invalid_argument);
}

TEST(EvalPlots, WritesPngAndSvg) {
  std::vector<double> raw, fixed;
  std::vector<int> y;
  sample(raw, fixed, y);
  const std::string dir = out_dir();
  const std::vector<PlotSeries> series = {{"raw (q^2)", raw, y}, {"calibrated", fixed, y}};
  PlotOptions opt;
  opt.title = "Reliability: test model";
  plot_reliability_diagram(dir + "/reliability.png", series, opt);
  plot_roc_curve(dir + "/roc.png", series);
  plot_reliability_diagram(dir + "/reliability.svg", raw, y);
  plot_roc_curve(dir + "/roc.SVG", raw, y);  // the extension is case-insensitive

  for (const char* name : {"/reliability.png", "/roc.png"}) {
    const std::string bytes = read_file(dir + name);
    EXPECT_TRUE(is_png(bytes)) << name;
    EXPECT_GT(bytes.size(), 5000u) << name;  // a blank 640x640 PNG is ~2 KB; axes and text add more
  }
  for (const char* name : {"/reliability.svg", "/roc.SVG"}) {
    const std::string text = read_file(dir + name);
    EXPECT_EQ(text.rfind("<?xml", 0), 0u) << name;
    EXPECT_NE(text.find("<svg"), std::string::npos) << name;
    EXPECT_NE(text.find("</svg>"), std::string::npos) << name;  // finished, not truncated
  }
  EXPECT_TRUE(no_temporaries_left(dir));
}

TEST(EvalPlots, BadPathOrDataThrows) {
  std::vector<double> raw, fixed;
  std::vector<int> y;
  sample(raw, fixed, y);
  const std::string dir = out_dir();
  for (const char* ext : {".png", ".svg"}) {
    const std::string path = dir + "/missing_dir/plot" + ext;
    try {
      plot_roc_curve(path, raw, y);
      FAIL() << path;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_THROW(plot_reliability_diagram(path, raw, y), std::runtime_error);
  }
  EXPECT_THROW(plot_roc_curve(dir + "/plot.jpg", raw, y), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir + "/plot.jpg"));
  EXPECT_THROW(plot_roc_curve(dir + "/one_class.png", {0.1, 0.2}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(plot_reliability_diagram(dir + "/nan.png", {0.1, std::numeric_limits<double>::quiet_NaN()}, {0, 1}),
               std::invalid_argument);
  EXPECT_THROW(plot_reliability_diagram(dir + "/none.png", std::vector<PlotSeries>{}), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir + "/one_class.png"));
  EXPECT_FALSE(fs::exists(dir + "/nan.png"));
  EXPECT_TRUE(no_temporaries_left(dir));
}
