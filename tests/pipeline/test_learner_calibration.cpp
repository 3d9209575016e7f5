// Calibration of a learner is fitted and applied on its decision function (an SVM's decision
// value, naive Bayes' log-odds), not on its probability: evaluate --calibrate, the saved
// calibrator, and predict of the calibrated file all use pipeline::calibration_scores.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "../test_util.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/evaluate_saved.hpp"
#include "backprop/pipeline/predict.hpp"
#include "backprop/pipeline/report.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

class LearnerCalibration : public bp::testing::TempDirTest {
 protected:
  LearnerCalibration() : TempDirTest("backprop_learner_cal") {}
  static data::DataSpec breast_cancer() {
    data::DataSpec d;
    d.source = bp::testing::repo_data("BreastCancer.csv");
    d.target = "Class";
    d.ignore = {"Id"};
    return d;
  }
};

TEST_F(LearnerCalibration, PlattIsFittedAndAppliedOnTheDecisionValue) {
  for (const std::string kind : {"svm", "naive-bayes", "random-forest"}) {
    SCOPED_TRACE(kind);
    pipeline::TrainRunOptions o;
    o.data = breast_cancer();
    o.spec.model.name = kind;
    o.spec.learner_options = kind == "random-forest" ? nlohmann::json{{"trees", 20}} : nlohmann::json::object();
    o.output = path("m.safetensors");
    pipeline::train_evaluate_save(o);
    pipeline::EvaluateOptions eo;
    eo.model = path("m.safetensors");
    eo.calibrate = "platt";
    eo.save_calibrated = path("cal.safetensors");
    pipeline::evaluate_saved_model(eo);

    io::ModelFile mf = io::load_model(path("cal.safetensors"));
    ASSERT_TRUE(mf.learner);
    const auto cal = eval::calibrator_from_json(mf.info.calibrator);
    pipeline::PredictOptions po;
    po.model = path("cal.safetensors");
    po.data.source = breast_cancer().source;
    const Tensor x = data::load_features(po.data, mf.info.preprocessing);
    const std::vector<double> s = pipeline::calibration_scores(mf, x);
    const Tensor f = mf.learner->decision_function({x.data(), x.dim(0), x.dim(1)});
    const Tensor p = mf.learner->predict_proba({x.data(), x.dim(0), x.dim(1)});
    ASSERT_EQ(static_cast<int64_t>(s.size()), x.dim(0));
    bool outside_unit = false;
    for (int64_t i = 0; i < x.dim(0); ++i) {
      ASSERT_EQ(s[i], f[i]);
      outside_unit |= s[i] < 0 || s[i] > 1;
      if (kind == "random-forest") {
        ASSERT_EQ(s[i], p[2 * i + 1]);  // the default: P(positive)
      }
    }
    EXPECT_EQ(outside_unit, kind != "random-forest");  // a decision value / log-odds, not a probability

    // predict of the calibrated file: P(malignant) = the calibrator of the decision value.
    const pipeline::PredictResult pr = pipeline::predict_to_csv(po);
    std::istringstream csv(pr.csv);
    std::string line;
    std::getline(csv, line);
    for (int64_t i = 0; std::getline(csv, line); ++i) {
      const double got = std::stod(line.substr(line.rfind(',') + 1));
      ASSERT_NEAR(got, cal->apply(s[i]), 1e-5) << "row " << i;
    }
  }
}

}  // namespace
