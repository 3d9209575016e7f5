// The defaults on small data: the training length rule, regression targets standardised for
// training with predictions in the target's units, and the bounded history in model files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/predict.hpp"
#include "backprop/pipeline/report.hpp"
#include "backprop/pipeline/train_evaluate_save.hpp"
#include "backprop/util/rng.hpp"
#include "../test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

// What `backprop train` uses when no tuning option is given (cli/common.hpp TrainOptions).
pipeline::TrainSpec default_spec() {
  pipeline::TrainSpec s;
  s.model.name = "mlp";
  s.model.hidden = {256, 128};
  s.optimizer.name = "adam";
  s.optimizer.lr = 1e-3f;
  s.fit.epochs = pipeline::kAutoEpochs;
  s.fit.batch_size = 128;
  s.fit.schedule = "cosine";
  return s;
}

class SmallData : public bp::testing::TempDirTest {
 protected:
  SmallData() : TempDirTest("backprop_small") {}
};

TEST(TrainingPlan, EpochsFollowTheDataSize) {
  pipeline::TrainSpec s = default_spec();
  // Fashion-MNIST: 469 steps per epoch; the rule keeps its 10 epochs and no validation part.
  pipeline::TrainingPlan p = pipeline::training_plan(s, 60000);
  EXPECT_EQ(p.epochs, 10);
  EXPECT_EQ(p.validation_fraction, 0.0);
  EXPECT_EQ(p.patience, 0);
  EXPECT_EQ(pipeline::training_plan(s, 38400).epochs, 10);  // exactly 300 steps per epoch
  // 500 rows: 4 steps per epoch, 750 epochs for 3000 steps, early stopping on 15 %.
  p = pipeline::training_plan(s, 500);
  EXPECT_EQ(p.epochs, 750);
  EXPECT_DOUBLE_EQ(p.validation_fraction, 0.15);
  EXPECT_EQ(p.patience, 150);
  // 20000 rows: 157 steps, 20 epochs (3140 steps), patience at its floor of 10.
  p = pipeline::training_plan(s, 20000);
  EXPECT_EQ(p.epochs, 20);
  EXPECT_EQ(p.patience, 10);
  // One step per epoch: capped at 3000 epochs; full batch is one step per epoch too.
  EXPECT_EQ(pipeline::training_plan(s, 50).epochs, 3000);
  s.fit.batch_size = 0;
  EXPECT_EQ(pipeline::training_plan(s, 5000).epochs, 3000);
  s.fit.batch_size = 32;
  EXPECT_EQ(pipeline::training_plan(s, 1000).epochs, 94);  // 32 steps per epoch
  // A given validation fraction and patience are kept.
  s.validation_fraction = 0.3;
  s.fit.patience = 4;
  p = pipeline::training_plan(s, 1000);
  EXPECT_DOUBLE_EQ(p.validation_fraction, 0.3);
  EXPECT_EQ(p.patience, 4);
  // Explicit epochs always win, with the spec's own validation and patience (none by default).
  pipeline::TrainSpec e = default_spec();
  e.fit.epochs = 7;
  p = pipeline::training_plan(e, 100);
  EXPECT_EQ(p.epochs, 7);
  EXPECT_EQ(p.validation_fraction, 0.0);
  EXPECT_EQ(p.patience, 0);
}

TEST(TrainingReport, HistoryThinning) {
  EXPECT_EQ(pipeline::thin_history(5, 100, 2), (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(pipeline::thin_history(0, 100, -1), std::vector<size_t>{});
  for (size_t n : {101, 250, 1000, 2999}) {
    for (long best : {0L, 1L, 37L, static_cast<long>(n) - 2, static_cast<long>(n) - 1}) {
      const std::vector<size_t> k = pipeline::thin_history(n, 100, best);
      EXPECT_LE(k.size(), 100u);
      EXPECT_GE(k.size(), 95u);
      EXPECT_EQ(k.front(), 0u);
      EXPECT_EQ(k.back(), n - 1);
      EXPECT_NE(std::find(k.begin(), k.end(), static_cast<size_t>(best)), k.end()) << n << " " << best;
      EXPECT_TRUE(std::is_sorted(k.begin(), k.end()));
      EXPECT_EQ(std::adjacent_find(k.begin(), k.end()), k.end());
      // Evenly spaced: no gap wider than the even spacing rounded up, plus one.
      for (size_t i = 1; i < k.size(); ++i) EXPECT_LE(k[i] - k[i - 1], (n - 1 + 97) / 98 + 1);
    }
  }
}

// y = 1e4 (x1 - 2 x2 + 0.5 x3) + 5e4 + noise: a target whose scale would stall an unscaled fit.
// With the defaults it trains to R² > 0.9 and predicts in the target's units.
TEST_F(SmallData, RegressionTargetOfScale1e4TrainsWithDefaults) {
  Rng rng(3);
  std::ostringstream s;
  s << "x1,x2,x3,y\n";
  std::vector<double> x1s;
  for (int i = 0; i < 400; ++i) {
    const double x1 = rng.uniform() * 4 - 2, x2 = rng.uniform() * 4 - 2, x3 = rng.uniform() * 4 - 2;
    const double y = 1e4 * (x1 - 2 * x2 + 0.5 * x3) + 5e4 + 500 * (rng.uniform() - 0.5);
    s << x1 << ',' << x2 << ',' << x3 << ',' << y << '\n';
  }
  std::ofstream(path("lin.csv")) << s.str();
  pipeline::TrainRunOptions o;
  o.data.source = path("lin.csv");
  o.spec = default_spec();
  o.output = path("m.safetensors");
  const pipeline::TrainRunResult r = pipeline::train_evaluate_save(o);
  const nlohmann::json& test = r.report.at("test");
  EXPECT_GT(test.at("r2").get<double>(), 0.9) << test.dump();
  const nlohmann::json& tr = r.report.at("training");
  EXPECT_EQ(tr.at("epochs_rule"), "auto");
  EXPECT_GT(tr.at("epochs").get<int>(), 10);
  EXPECT_NEAR(tr.at("target_scaling").at("center").get<double>(), 5e4, 3e3);
  EXPECT_GT(tr.at("target_scaling").at("scale").get<double>(), 1e4);

  // The saved model's predictions are in the target's units: a new row at x = (1, 0, 0)
  // predicts about 6e4, and the file's preprocessor records the scaling.
  std::ofstream(path("new.csv")) << "x1,x2,x3\n1,0,0\n0,0,0\n";
  pipeline::PredictOptions p;
  p.model = o.output;
  p.data.source = path("new.csv");
  p.output = "-";
  const pipeline::PredictResult pr = pipeline::predict_to_csv(p);
  std::istringstream lines(pr.csv);
  std::string header, a, b;
  std::getline(lines, header);
  std::getline(lines, a);
  std::getline(lines, b);
  EXPECT_EQ(header, "row,prediction");
  EXPECT_NEAR(std::stod(a.substr(a.find(',') + 1)), 6e4, 4e3) << pr.csv;
  EXPECT_NEAR(std::stod(b.substr(b.find(',') + 1)), 5e4, 4e3) << pr.csv;
  const io::ModelFile mf = io::load_model(o.output);
  EXPECT_TRUE(mf.info.preprocessing.contains("target_scaling")) << mf.info.preprocessing.dump();
}

// However many epochs run, the history kept in the report and the model file stays small,
// with the first, best and last epochs.
TEST_F(SmallData, HistoryStaysSmall) {
  std::ostringstream s;
  s << "a,b,y\n";
  for (int i = 0; i < 60; ++i) s << i % 7 << ',' << (i * 5) % 11 << ',' << ((i % 7 + (i * 5) % 11) > 8 ? "p" : "n") << '\n';
  std::ofstream(path("t.csv")) << s.str();
  pipeline::TrainRunOptions o;
  o.data.source = path("t.csv");
  o.spec = default_spec();
  o.spec.model.hidden = {4};
  o.spec.fit.epochs = 450;
  o.spec.validation_fraction = 0.2;
  o.output = path("m.safetensors");
  int seen = 0;
  pipeline::Observer ob;
  ob.epoch = [&](const train::EpochStats& st) {
    ++seen;
    EXPECT_EQ(st.epochs, 450);
  };
  const pipeline::TrainRunResult r = pipeline::train_evaluate_save(o, ob);
  const nlohmann::json& tr = r.report.at("training");
  EXPECT_EQ(tr.at("epochs_rule"), "given");
  EXPECT_EQ(tr.at("epochs_run").get<int>(), 450);
  const nlohmann::json& h = tr.at("history");
  EXPECT_LE(h.size(), 100u);
  EXPECT_GE(h.size(), 95u);
  EXPECT_EQ(h.front().at("epoch"), 1);
  EXPECT_EQ(h.back().at("epoch"), 450);
  const int best = tr.at("best_epoch").get<int>();
  EXPECT_TRUE(std::any_of(h.begin(), h.end(), [&](const nlohmann::json& e) { return e.at("epoch") == best; }));
  // The observer saw about 100 epochs, not 450 (a progress line each).
  EXPECT_GE(seen, 90);
  EXPECT_LE(seen, 101);
  const io::ModelFile mf = io::load_model(o.output);
  EXPECT_EQ(mf.info.extra.at("training").at("history"), h);
}

}  // namespace
