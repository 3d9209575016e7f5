// The tree learners as models of the workflows: train → save → evaluate → predict, a calibrated
// forest, files whose learner is corrupt, and what a learner refuses (regression, tuning).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../test_util.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/evaluate_saved.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/pipeline/predict.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

class LearnerModels : public bp::testing::TempDirTest {
 protected:
  LearnerModels() : TempDirTest("backprop_learners") {}

  static data::DataSpec breast_cancer() {
    data::DataSpec d;
    d.source = bp::testing::repo_data("BreastCancer.csv");
    d.target = "Class";
    d.ignore = {"Id"};
    return d;
  }
  static pipeline::TrainSpec learner_spec(const std::string& kind, nlohmann::json options) {
    pipeline::TrainSpec s;
    s.model.name = kind;
    s.learner_options = std::move(options);
    return s;
  }
  // Trains, saves and returns the report; the file is path("m.safetensors").
  nlohmann::json train(const std::string& kind, const nlohmann::json& options) {
    pipeline::TrainRunOptions o;
    o.data = breast_cancer();
    o.spec = learner_spec(kind, options);
    o.output = path("m.safetensors");
    return pipeline::train_evaluate_save(o).report;
  }
};

TEST_F(LearnerModels, RandomForestTrainsSavesEvaluatesAndPredicts) {
  const nlohmann::json rep = train("random-forest", {{"trees", 30}});
  EXPECT_EQ(rep.at("training").at("learner"), "random-forest");
  EXPECT_EQ(rep.at("training").at("options").at("trees"), 30);
  EXPECT_EQ(rep.at("training").at("summary").at("trees"), 30);
  const nlohmann::json& test = rep.at("test");
  EXPECT_EQ(test.at("examples"), 140);
  EXPECT_GT(test.at("accuracy").get<double>(), 0.93);  // benign/malignant: forests reach ~97 %
  ASSERT_TRUE(test.contains("metrics"));
  EXPECT_GT(test.at("metrics").at("ROC").get<double>(), 0.97);
  EXPECT_EQ(test.at("loss"), test.at("log_loss"));

  io::ModelFile mf = io::load_model(path("m.safetensors"));
  ASSERT_TRUE(mf.learner);
  EXPECT_FALSE(mf.module);
  EXPECT_EQ(mf.learner->kind(), "random-forest");
  EXPECT_EQ(mf.info.class_names, (std::vector<std::string>{"benign", "malignant"}));

  // evaluate: the same test rows through the loaded forest, the same numbers exactly.
  pipeline::EvaluateOptions eo;
  eo.model = path("m.safetensors");
  const pipeline::EvaluateResult ev = pipeline::evaluate_saved_model(eo);
  EXPECT_EQ(ev.evaluation.at("accuracy"), test.at("accuracy"));
  EXPECT_EQ(ev.evaluation.at("metrics"), test.at("metrics"));
  EXPECT_EQ(ev.evaluation.at("log_loss"), test.at("log_loss"));

  pipeline::PredictOptions po;
  po.model = path("m.safetensors");
  po.data.source = breast_cancer().source;
  const pipeline::PredictResult pr = pipeline::predict_to_csv(po);
  EXPECT_EQ(pr.rows, 699);
  EXPECT_EQ(pr.csv.substr(0, pr.csv.find('\n')), "row,prediction,p_benign,p_malignant");
}

TEST_F(LearnerModels, PredictionsAreIdenticalAfterLoading) {
  for (const std::string kind : {"random-forest", "boosted-stumps"}) {
    SCOPED_TRACE(kind);
    const nlohmann::json opts = kind == "random-forest" ? nlohmann::json{{"trees", 20}} : nlohmann::json{{"steps", 60}};
    const data::Prepared d = data::prepare(breast_cancer());
    pipeline::Trained t = pipeline::train_model(learner_spec(kind, opts), d.train, d.input_shape);
    ASSERT_TRUE(t.learner);
    EXPECT_TRUE(t.history.history.empty());
    io::ModelInfo info;
    info.task = t.task;
    info.class_names = t.class_names;
    info.preprocessing = d.preprocessor.to_json();
    io::save_model(path("m.safetensors"), *t.learner, info);
    io::ModelFile mf = io::load_model(path("m.safetensors"));
    const Tensor before = pipeline::ModelRef(t).predict(t.task, d.test.x);
    const Tensor after = pipeline::ModelRef(mf).predict(mf.info.task, d.test.x);
    ASSERT_EQ(before.shape(), (Shape{d.test.size(), 1}));  // binary: P(positive), the networks' form
    ASSERT_EQ(after.shape(), before.shape());
    for (int64_t i = 0; i < before.numel(); ++i) ASSERT_EQ(before[i], after[i]) << i;
    // Not a constant: P(malignant) is higher on the malignant rows, by a margin.
    double mean[2] = {0, 0};
    int64_t count[2] = {0, 0};
    for (int64_t i = 0; i < after.numel(); ++i) {
      mean[d.test.labels[i]] += after[i];
      ++count[d.test.labels[i]];
    }
    ASSERT_GT(count[0], 0);
    ASSERT_GT(count[1], 0);
    EXPECT_GT(mean[1] / count[1] - mean[0] / count[0], 0.15);
  }
}

TEST_F(LearnerModels, BoostedStumpsRoundTripThroughEvaluate) {
  const nlohmann::json rep = train("boosted-stumps", {{"steps", 100}});
  EXPECT_EQ(rep.at("training").at("summary").at("steps_asked"), 100);
  EXPECT_GT(rep.at("test").at("accuracy").get<double>(), 0.93);
  pipeline::EvaluateOptions eo;
  eo.model = path("m.safetensors");
  const pipeline::EvaluateResult ev = pipeline::evaluate_saved_model(eo);
  EXPECT_EQ(ev.evaluation.at("metrics"), rep.at("test").at("metrics"));
}

TEST_F(LearnerModels, AForestIsCalibratedAndKeepsItsCalibrator) {
  train("random-forest", {{"trees", 30}});
  pipeline::EvaluateOptions eo;
  eo.model = path("m.safetensors");
  eo.calibrate = "platt";
  eo.save_calibrated = path("cal.safetensors");
  const pipeline::EvaluateResult ev = pipeline::evaluate_saved_model(eo);
  EXPECT_TRUE(ev.calibrated);
  EXPECT_TRUE(ev.evaluation.contains("calibration"));
  EXPECT_NE(ev.evaluation.at("loss"), ev.evaluation.at("loss_uncalibrated"));
  io::ModelFile cal = io::load_model(path("cal.safetensors"));
  ASSERT_TRUE(cal.learner);
  EXPECT_FALSE(cal.info.calibrator.is_null());
  // The saved calibrated forest scores the same rows as it was reported on (its own calibrator).
  pipeline::EvaluateOptions e2;
  e2.model = path("cal.safetensors");
  const pipeline::EvaluateResult ev2 = pipeline::evaluate_saved_model(e2);
  EXPECT_TRUE(ev2.calibrated);
}

TEST_F(LearnerModels, ACorruptLearnerIsRefusedOnLoad) {
  train("random-forest", {{"trees", 5}});
  const io::SafeTensorsFile f = io::read_safetensors(path("m.safetensors"));
  // A child index far out of range, with fresh checksums: only the learner's validation sees it.
  io::NamedTensors bad = f.tensors;
  bool changed = false;
  for (auto& [name, t] : bad)
    if (name.find("left") != std::string::npos && !changed) {
      t[0] = 1e6f;
      changed = true;
    }
  ASSERT_TRUE(changed);
  io::write_safetensors(path("bad.safetensors"), bad, f.metadata, /*checksums=*/true);
  try {
    io::load_model(path("bad.safetensors"));
    ADD_FAILURE() << "loaded a forest with a child index out of range";
  } catch (const io::ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("do not form a valid learner"), std::string::npos) << e.what();
  }

  // A tensor outside the learner's arrays, and a learner that disagrees with the class names.
  io::NamedTensors extra = f.tensors;
  extra.emplace_back("fc.weight", Tensor({1}, 0.f));
  io::write_safetensors(path("extra.safetensors"), extra, f.metadata, true);
  EXPECT_THROW(io::load_model(path("extra.safetensors")), io::ModelFileError);
  auto meta = f.metadata;
  meta[io::keys::kTask] = "multiclass";
  meta[io::keys::kClassNames] = R"(["a","b","c"])";
  meta[io::keys::kPreprocessing] = "null";
  io::write_safetensors(path("names.safetensors"), f.tensors, meta, true);
  try {
    io::load_model(path("names.safetensors"));
    ADD_FAILURE() << "loaded a 2-class forest with 3 class names";
  } catch (const io::ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("backprop.learner"), std::string::npos) << e.what();
  }
}

TEST_F(LearnerModels, ARegressionTargetIsRefused) {
  pipeline::TrainRunOptions o;
  o.data.source = bp::testing::repo_data("Servo.csv");
  o.data.target = "Class";
  o.spec = learner_spec("random-forest", {{"trees", 5}});
  o.output = path("m.safetensors");
  try {
    pipeline::train_evaluate_save(o);
    ADD_FAILURE() << "a forest trained on a regression target";
  } catch (const pipeline::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("classifiers"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

TEST_F(LearnerModels, AnOptionTheLearnerDoesNotTakeIsAUsageError) {
  pipeline::TrainRunOptions o;
  o.data = breast_cancer();
  o.spec = learner_spec("random-forest", {{"no_such_option", 5}});
  o.output = path("m.safetensors");
  EXPECT_THROW(pipeline::train_evaluate_save(o), pipeline::UsageError);
}

}  // namespace
