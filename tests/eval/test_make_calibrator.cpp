// Calibrators by name: the one place the study and `evaluate --calibrate` get them from.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "backprop/eval/calibration.hpp"

namespace {

using namespace bp::eval;

const std::vector<double> kScores{0.1, 0.35, 0.4, 0.8, 0.55, 0.9, 0.2, 0.7, 0.65, 0.3};
const std::vector<int> kLabels{0, 0, 1, 1, 0, 1, 0, 1, 1, 0};

TEST(EvalMakeCalibrator, EachNameGivesThatCalibratorFitted) {
  EXPECT_EQ(calibrator_names(), (std::vector<std::string>{"platt", "isotonic"}));
  for (const std::string& name : calibrator_names()) {
    auto c = make_calibrator(name, kScores, kLabels);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->name(), name);
    EXPECT_TRUE(c->fitted());
  }
  // The same fit as building the calibrator by hand.
  PlattScaler p;
  p.fit(kScores, kLabels);
  EXPECT_EQ(make_calibrator("platt", kScores, kLabels)->to_json(), p.to_json());
  IsotonicCalibrator iso;
  iso.fit(kScores, kLabels);
  EXPECT_EQ(make_calibrator("isotonic", kScores, kLabels)->to_json(), iso.to_json());
}

TEST(EvalMakeCalibrator, UnknownNamesAndBadDataAreRefused) {
  try {
    make_calibrator("sigmoid", kScores, kLabels);
    FAIL() << "no error for an unknown calibrator";
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("sigmoid"), std::string::npos) << m;
    EXPECT_NE(m.find("platt or isotonic"), std::string::npos) << m;
  }
  EXPECT_THROW(make_calibrator("PLATT", kScores, kLabels), std::invalid_argument);  // names are exact
  EXPECT_THROW(make_calibrator("platt", {0.1, 0.2}, {0, 2}), std::invalid_argument);  // the fit's own check
}

}  // namespace
