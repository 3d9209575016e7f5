#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <nlohmann/json.hpp>

#include "backprop/data/preprocess.hpp"
#include "data_test_util.hpp"

using namespace bp::data;
using bp::data::testing::repo_data;

namespace {

PreprocessOptions target(const std::string& name, std::vector<std::string> ignore = {}) {
  PreprocessOptions o;
  o.target = name;
  o.ignore = std::move(ignore);
  return o;
}

std::vector<std::string> a_to_m() {
  std::vector<std::string> out;
  for (char c = 'A'; c <= 'M'; ++c) out.emplace_back(1, c);
  return out;
}

double mean_of(const bp::Tensor& x, int64_t col) {
  double s = 0;
  for (int64_t i = 0; i < x.dim(0); ++i) s += x[i * x.dim(1) + col];
  return s / static_cast<double>(x.dim(0));
}

}  // namespace

TEST(DataPreprocess, BreastCancer) {
  const Table t = read_csv(repo_data("BreastCancer.csv"));
  const Preprocessor p = Preprocessor::fit(t, target("Class", {"Id"}));
  EXPECT_EQ(p.task(), Task::Binary);
  EXPECT_EQ(p.class_names(), (std::vector<std::string>{"benign", "malignant"}));
  ASSERT_EQ(p.num_features(), 9);  // all quoted, all numeric
  for (const FeatureColumn& c : p.columns()) EXPECT_EQ(c.kind, ColumnKind::Numeric) << c.name;
  const Dataset ds = p.transform(t);
  EXPECT_EQ(ds.size(), 699);
  int64_t malignant = 0;
  for (int32_t l : ds.labels) malignant += l;
  EXPECT_EQ(malignant, 241);
  // Missing Bare.nuclei imputed with the mean: 0 after standardisation.
  const int64_t col = t.column_index("Bare.nuclei");
  const int64_t feature = 5;
  ASSERT_EQ(ds.feature_names[feature], "Bare.nuclei");
  for (int64_t r = 0; r < t.num_rows(); ++r)
    if (t.cell(r, col).missing) {
      EXPECT_EQ(ds.x[r * 9 + feature], 0.0f);
    }
  for (int64_t j = 0; j < 9; ++j) EXPECT_NEAR(mean_of(ds.x, j), 0.0, 1e-5);
}

TEST(DataPreprocess, ServoCategoriesAndRegression) {
  const Table t = read_csv(repo_data("Servo.csv"));
  const Preprocessor p = Preprocessor::fit(t, target("Class"));
  EXPECT_EQ(p.task(), Task::Regression);  // ~50 distinct integers
  ASSERT_EQ(p.columns().size(), 4u);
  EXPECT_EQ(p.columns()[0].kind, ColumnKind::Categorical);
  EXPECT_EQ(p.columns()[0].categories, (std::vector<std::string>{"A", "B", "C", "D", "E"}));
  EXPECT_EQ(p.columns()[1].categories.size(), 5u);
  EXPECT_EQ(p.columns()[2].kind, ColumnKind::Numeric);  // "Pgain": quoted numbers
  EXPECT_EQ(p.num_features(), 12);
  EXPECT_EQ(p.feature_names()[0], "Motor=A");
  const Dataset ds = p.transform(t);
  EXPECT_EQ(ds.targets.shape(), (bp::Shape{167, 1}));
  EXPECT_TRUE(ds.labels.empty());
  EXPECT_EQ(ds.targets[0], 4.0f);  // first row: "E","E","5","4",4
  EXPECT_EQ(ds.x[4], 1.0f);        // Motor=E
  EXPECT_EQ(ds.x[0], 0.0f);
  double motor_sum = 0;
  for (int k = 0; k < 5; ++k) motor_sum += ds.x[k];
  EXPECT_EQ(motor_sum, 1.0);
}

TEST(DataPreprocess, IonosphereQuotedAndConstantColumns) {
  const Table t = read_csv(repo_data("Ionosphere.csv"));
  const Preprocessor p = Preprocessor::fit(t, target("Class"));
  EXPECT_EQ(p.task(), Task::Binary);
  EXPECT_EQ(p.num_features(), 34);
  EXPECT_EQ(p.columns()[0].kind, ColumnKind::Numeric);
  EXPECT_EQ(p.columns()[1].scale, 1.0);  // V2 is constant: std 0 → 1
  const Dataset ds = p.transform(t);
  for (int64_t r = 0; r < ds.size(); ++r) ASSERT_EQ(ds.x[r * 34 + 1], 0.0f);
}

TEST(DataPreprocess, EverySharedDataSet) {
  struct Case {
    const char* file;
    const char* target;
    Task task;
    int64_t features;
  };
  for (const Case& c : {Case{"Sonar.csv", "Class", Task::Binary, 60}, Case{"PimaIndiansDiabetes.csv", "diabetes", Task::Binary, 8},
                        Case{"LetterRecognition.csv.gz", "lettr", Task::Multiclass, 16}}) {
    const Table t = read_csv(repo_data(c.file));
    const Dataset ds = Preprocessor::fit(t, target(c.target)).transform(t);
    EXPECT_EQ(ds.task, c.task) << c.file;
    EXPECT_EQ(ds.num_features(), c.features) << c.file;
    EXPECT_EQ(ds.size(), t.num_rows()) << c.file;
  }
}

TEST(DataPreprocess, LetterClassesAndBinaryViews) {
  const Table t = read_csv(repo_data("LetterRecognition.csv.gz"));
  const Preprocessor multi = Preprocessor::fit(t, target("lettr"));
  ASSERT_EQ(multi.class_names().size(), 26u);
  EXPECT_EQ(multi.class_names().front(), "A");
  EXPECT_EQ(multi.class_index("Z"), 25);

  PreprocessOptions o = target("lettr");
  o.positive = {"O"};
  Dataset p1 = Preprocessor::fit(t, o).transform(t);
  EXPECT_EQ(p1.task, Task::Binary);
  EXPECT_EQ(p1.class_names, (std::vector<std::string>{"negative", "positive"}));
  int64_t pos = 0;
  for (int32_t l : p1.labels) pos += l;
  EXPECT_EQ(pos, 753);  // 3.8 %

  o.positive = a_to_m();
  const Dataset p2 = Preprocessor::fit(t, o).transform(t);
  pos = 0;
  for (int32_t l : p2.labels) pos += l;
  EXPECT_EQ(pos, 9940);  // 49.7 %
  o.positive = {"a"};
  EXPECT_DATA_ERROR(Preprocessor::fit(t, o), "positive value 'a' never occurs in target 'lettr'");
  o.positive = multi.class_names();
  EXPECT_DATA_ERROR(Preprocessor::fit(t, o), "no negative rows");
}

TEST(DataPreprocess, StatisticsComeFromTrainingRowsOnly) {
  const Table t = parse_csv("x,c,y\n0,a,p\n2,b,q\n,a,p\n100,b,q\n-50,a,p\n", "s.csv");
  const std::vector<int64_t> train = {0, 1, 2};
  const Preprocessor p = Preprocessor::fit(t, train, target("y"));
  EXPECT_EQ(p.columns()[0].center, 1.0);
  EXPECT_EQ(p.columns()[0].scale, 1.0);
  EXPECT_EQ(p.columns()[0].impute, 1.0);
  const Dataset ds = p.transform(t);
  EXPECT_EQ(ds.x[0 * 3], -1.0f);
  EXPECT_EQ(ds.x[2 * 3], 0.0f);    // missing → training mean
  EXPECT_EQ(ds.x[3 * 3], 99.0f);   // test value scaled with training statistics
  EXPECT_EQ(ds.x[4 * 3], -51.0f);
  PreprocessOptions raw = target("y");
  raw.standardize = false;
  const Dataset unscaled = Preprocessor::fit(t, train, raw).transform(t);
  EXPECT_EQ(unscaled.x[2 * 3], 1.0f);
  EXPECT_EQ(unscaled.x[3 * 3], 100.0f);
}

TEST(DataPreprocess, TaskInferenceAndNumericClassOrder) {
  const Table t = parse_csv("x,y,z\n1,10,1.5\n2,2,2.5\n3,1,3.5\n4,2,4.25\n", "t.csv");
  const Preprocessor p = Preprocessor::fit(t, target("y"));
  EXPECT_EQ(p.task(), Task::Multiclass);  // few distinct integers
  EXPECT_EQ(p.class_names(), (std::vector<std::string>{"1", "2", "10"}));  // numeric order
  EXPECT_EQ(Preprocessor::fit(t, target("z")).task(), Task::Regression);
  PreprocessOptions o = target("y");
  o.task = Task::Regression;
  EXPECT_EQ(Preprocessor::fit(t, o).task(), Task::Regression);
  o.task = Task::Binary;
  EXPECT_DATA_ERROR(Preprocessor::fit(t, o), "a binary task needs exactly 2");
  o.max_integer_classes = 2;
  o.task.reset();
  EXPECT_EQ(Preprocessor::fit(t, o).task(), Task::Regression);
  const Table text = parse_csv("x,y\n1,a\n2,b\n", "t.csv");
  o = target("y");
  o.task = Task::Regression;
  EXPECT_DATA_ERROR(Preprocessor::fit(text, o), "t.csv:2: target 'y': expected a number, found 'a'");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n2,a\n", "one.csv"), target("y")),
                    "target 'y' has a single class 'a'");
}

TEST(DataPreprocess, CategoricalMissingAndUnseen) {
  const Table train = parse_csv("c,y\na,0\nb,1\nNA,0\n", "train.csv");
  const Preprocessor p = Preprocessor::fit(train, target("y"));
  const Dataset ds = p.transform(train);
  EXPECT_EQ(ds.feature_names, (std::vector<std::string>{"c=a", "c=b"}));
  EXPECT_EQ(ds.x[4], 0.0f);  // missing → all indicators 0
  EXPECT_EQ(ds.x[5], 0.0f);
  const Table test = parse_csv("y,c\n0,b\n1,z\n", "new.csv");
  EXPECT_DATA_ERROR(p.transform(test), "new.csv:3: column 'c': value 'z' was not seen in training (known values: a, b)");
}

TEST(DataPreprocess, UnseenClassAndMissingTarget) {
  const Table train = parse_csv("x,y\n1,cat\n2,dog\n", "train.csv");
  const Preprocessor p = Preprocessor::fit(train, target("y"));
  EXPECT_DATA_ERROR(p.transform(parse_csv("x,y\n1,cat\n3,cow\n", "test.csv")),
                    "test.csv:3: target 'y': class 'cow' was not seen in training (known classes: cat, dog)");
  EXPECT_DATA_ERROR(p.transform(parse_csv("x,y\n1,NA\n", "test.csv")), "test.csv:2: missing value in target column 'y'");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,cat\n2,\n", "m.csv"), target("y")), "m.csv:3: missing value in target");
  EXPECT_DATA_ERROR(p.class_index("cow"), "class 'cow' was not seen in training");
  // Prediction: no target column needed.
  const bp::Tensor x = p.transform_features(parse_csv("x\n1.5\n", "new.csv"));
  EXPECT_EQ(x.shape(), (bp::Shape{1, 1}));
  EXPECT_DATA_ERROR(p.transform(parse_csv("x\n1.5\n", "new.csv")), "new.csv: target column 'y' is missing (columns: x)");
  EXPECT_DATA_ERROR(p.transform(parse_csv("z,y\n1,cat\n", "new.csv")), "column 'x' used in training is missing");
}

TEST(DataPreprocess, ColumnAndOptionErrors) {
  const Table t = parse_csv("Id,x,Class\n1,2,a\n2,3,b\n", "c.csv");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("Klass")), "c.csv: unknown target column 'Klass' (columns: Id, x, Class)");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("")), "no target column given");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("Class", {"ID"})), "unknown column 'ID' to ignore");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("Class", {"Class"})), "cannot be ignored");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("Class", {"Id", "x"})), "no feature columns");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, std::vector<int64_t>{}, target("Class")), "no training rows");
  EXPECT_DATA_ERROR(Preprocessor::fit(t, std::vector<int64_t>{0, 5}, target("Class")), "row index 5 out of range");
  EXPECT_DATA_ERROR(Preprocessor().transform(t), "not fitted");
  const Table all_missing = parse_csv("x,y\nNA,a\n,b\n", "m.csv");
  EXPECT_DATA_ERROR(Preprocessor::fit(all_missing, target("y")), "column 'x' has no values in the training rows");
}

TEST(DataPreprocess, NonFiniteCellsAreNamed) {
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\nnan,b\n", "n.csv"), target("y")),
                    "n.csv:3: column 'x': 'nan' is not a finite number");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n\"-Inf\",b\n", "n.csv"), target("y")),
                    "n.csv:3: column 'x': '-Inf' is not a finite number");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,1.5\n2,inf\n", "n.csv"), target("y")),
                    "n.csv:3: target 'y': 'inf' is not a finite number");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n1e999,b\n", "n.csv"), target("y")),
                    "n.csv:3: column 'x': '1e999' is not a finite number");
  const Preprocessor p = Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n", "n.csv"), target("y"));
  EXPECT_DATA_ERROR(p.transform(parse_csv("x,y\ninf,a\n", "t.csv")), "t.csv:2: column 'x': 'inf' is not a finite number");
  PreprocessOptions raw = target("y");
  raw.standardize = false;
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1e100,a\n2,b\n", "big.csv"), raw),
                    "big.csv:2: column 'x': '1e100' is too large for float32");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n", "small.csv"), raw).transform(parse_csv("x,y\n1e100,a\n", "new.csv")),
                    "new.csv:2: column 'x': '1e100' is too large for float32 after scaling");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,1e100\n2,2.5\n", "big.csv"), target("y")),
                    "big.csv:2: target 'y': '1e100' is too large for float32");
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1e300,a\n-1e300,b\n", "huge.csv"), target("y")),
                    "huge.csv: column 'x': values too large");
}

TEST(DataPreprocess, TextInNumericColumn) {
  // Fixed schema: a declared numeric column.
  PreprocessOptions o = target("y");
  o.kinds["x"] = ColumnKind::Numeric;
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\nabc,a\ndef,b\n", "f.csv"), o), "f.csv:2: column 'x': expected a number, found 'abc'");
  // Inferred numeric, then text at transform time.
  const Preprocessor p = Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n", "f.csv"), target("y"));
  EXPECT_DATA_ERROR(p.transform(parse_csv("x,y\n1,a\n\"two\",b\n", "g.csv")), "g.csv:3: column 'x': expected a number, found 'two'");
  // Mostly numbers with a stray text: most likely a typo, not a categorical column.
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n3,a\n4x,b\n", "h.csv"), target("y")),
                    "h.csv:5: column 'x' looks numeric but has the text '4x'");
  // ... unless declared categorical.
  o.kinds["x"] = ColumnKind::Categorical;
  EXPECT_EQ(Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n3,a\n4x,b\n", "h.csv"), o).num_features(), 4);
  o.max_categories = 3;
  EXPECT_DATA_ERROR(Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n3,a\n4x,b\n", "h.csv"), o), "more than max_categories (3)");
}

TEST(DataPreprocess, JsonRoundTrip) {
  const Table t = read_csv(repo_data("Servo.csv"));
  PreprocessOptions o = target("Class");
  std::vector<int64_t> train(50);
  std::iota(train.begin(), train.end(), int64_t{0});
  const Preprocessor p = Preprocessor::fit(t, train, o);
  const std::string text = p.to_json().dump();
  const Preprocessor q = Preprocessor::from_json(nlohmann::json::parse(text));
  EXPECT_EQ(q.to_json(), p.to_json());
  const Dataset a = p.transform(t), b = q.transform(t);
  EXPECT_EQ(a.x.to_vector(), b.x.to_vector());
  EXPECT_EQ(a.targets.to_vector(), b.targets.to_vector());
  EXPECT_EQ(a.feature_names, b.feature_names);

  const Table letters = read_csv(repo_data("LetterRecognition.csv.gz"));
  PreprocessOptions v = target("lettr");
  v.positive = a_to_m();
  const Preprocessor lp = Preprocessor::fit(letters, v);
  const Preprocessor lq = Preprocessor::from_json(nlohmann::json::parse(lp.to_json().dump()));
  EXPECT_EQ(lq.positive(), lp.positive());
  EXPECT_EQ(lq.task(), Task::Binary);
  EXPECT_EQ(lp.transform(letters).labels, lq.transform(letters).labels);
}

TEST(DataPreprocess, JsonValidation) {
  const Table t = parse_csv("c,x,y\na,1,p\nb,2,q\n", "j.csv");
  const nlohmann::json good = Preprocessor::fit(t, target("y")).to_json();
  auto broken = [&](auto edit, const std::string& fragment) {
    nlohmann::json j = good;
    edit(j);
    EXPECT_DATA_ERROR(Preprocessor::from_json(j), fragment);
  };
  broken([](auto& j) { j["format"] = "other"; }, "preprocessor json: field 'format'");
  broken([](auto& j) { j["version"] = 3; }, "unsupported 'version'");
  broken([](auto& j) { j["input"] = "audio"; }, "field 'input' must be \"table\" or \"images\"");
  broken([](auto& j) { j["input"] = "images"; }, "an image preprocessor has one column of kind \"pixels\"");
  broken([](auto& j) { j.erase("target"); }, "missing field 'target'");
  broken([](auto& j) { j["task"] = "clustering"; }, "field 'task'");
  broken([](auto& j) { j["columns"][1]["scale"] = 0; }, "'columns[1].scale' must be positive");
  broken([](auto& j) { j["columns"][1]["center"] = "x"; }, "'columns[1].center' must be a finite number");
  broken([](auto& j) { j["columns"][0]["categories"] = {"b", "a"}; }, "must be sorted");
  broken([](auto& j) { j["columns"][0]["kind"] = "text"; }, "'columns[0].kind'");
  broken([](auto& j) { j["columns"][1]["name"] = "c"; }, "appears twice");
  broken([](auto& j) { j["target_values"] = {"p"}; }, "at least 2 'target_values'");
  broken([](auto& j) { j["positive"] = {"z"}; }, "not among 'target_values'");
  broken([](auto& j) { j["feature_names"] = {"c=a"}; }, "'feature_names' do not match");
  broken([](auto& j) { j["columns"] = nlohmann::json::array(); }, "'columns' must be a non-empty array");
  broken([](auto& j) { j = 5; }, "expected an object");
}

TEST(DataPreprocess, JsonRejectsInvalidUtf8) {
  // parse_csv refuses such text now (data/csv.hpp); a Table built another way may hold it.
  Table t = parse_csv("c,y\na,p\nb,q\n", "u.csv");
  t.cells[0].text = "\xff";
  EXPECT_DATA_ERROR(Preprocessor::fit(t, target("y")).to_json(), "not valid UTF-8");
}


TEST(DataDataset, SubsetAndValidate) {
  const Table t = parse_csv("x,y\n1,a\n2,b\n3,a\n", "d.csv");
  const Dataset ds = Preprocessor::fit(t, target("y")).transform(t);
  const Dataset s = ds.subset(std::vector<int64_t>{2, 0, 2});
  EXPECT_EQ(s.size(), 3);
  EXPECT_EQ(s.labels, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(s.x[0], ds.x[2]);
  EXPECT_DATA_ERROR(ds.subset(std::vector<int64_t>{3}), "row index 3 out of range");
  Dataset bad = ds.subset(std::vector<int64_t>{0, 1});
  bad.x[1] = std::nanf("");
  EXPECT_DATA_ERROR(bad.validate("bad"), "bad: row 1: feature 'x' is not finite");
  bad = ds;
  bad.labels[0] = 7;
  EXPECT_DATA_ERROR(bad.validate(), "label 7 out of range");
}

// A regression target's mean and std come from the training rows only and travel in the JSON;
// the transform keeps the target in its own units.
TEST(DataPreprocess, RegressionTargetScalingFromTrainingRows) {
  const Table t = parse_csv("x,y\n1,100.5\n2,300.5\n3,1e6\n4,500.5\n", "r.csv");
  const std::vector<int64_t> rows = {0, 1, 3};  // row 2 (y = 1e6) is not a training row
  const Preprocessor p = Preprocessor::fit(t, rows, target("y"));
  ASSERT_EQ(p.task(), Task::Regression);
  EXPECT_DOUBLE_EQ(p.target_scaling().center, 300.5);
  EXPECT_NEAR(p.target_scaling().scale, std::sqrt((200.0 * 200 + 0 + 200.0 * 200) / 3), 1e-9);
  EXPECT_NEAR(p.target_scaling().apply(500.5), std::sqrt(1.5), 1e-12);
  EXPECT_DOUBLE_EQ(p.target_scaling().inverse(p.target_scaling().apply(123.5)), 123.5);
  const Dataset d = p.transform(t, rows);
  EXPECT_EQ(d.targets[1], 300.5f);  // unscaled

  const nlohmann::json j = p.to_json();
  ASSERT_TRUE(j.contains("target_scaling"));
  EXPECT_DOUBLE_EQ(j.at("target_scaling").at("center").get<double>(), 300.5);
  const Preprocessor back = Preprocessor::from_json(j);
  EXPECT_DOUBLE_EQ(back.target_scaling().center, p.target_scaling().center);
  EXPECT_DOUBLE_EQ(back.target_scaling().scale, p.target_scaling().scale);
  EXPECT_EQ(back.to_json(), j);

  // A constant target is only centred.
  const Preprocessor flat = Preprocessor::fit(parse_csv("x,y\n1,7.5\n2,7.5\n", "c.csv"), [] { auto o = target("y"); o.task = Task::Regression; return o; }());
  EXPECT_DOUBLE_EQ(flat.target_scaling().center, 7.5);
  EXPECT_DOUBLE_EQ(flat.target_scaling().scale, 1.0);

  // Classification has none, and JSON that gives one to a class target is refused, as is a bad scale.
  const Preprocessor cls = Preprocessor::fit(parse_csv("x,y\n1,a\n2,b\n", "k.csv"), target("y"));
  EXPECT_TRUE(cls.target_scaling().identity());
  EXPECT_FALSE(cls.to_json().contains("target_scaling"));
  nlohmann::json bad = cls.to_json();
  bad["target_scaling"] = {{"center", 0}, {"scale", 1}};
  EXPECT_DATA_ERROR(Preprocessor::from_json(bad), "'target_scaling' belongs to a regression target only");
  bad = j;
  bad["target_scaling"]["scale"] = 0;
  EXPECT_DATA_ERROR(Preprocessor::from_json(bad), "field 'target_scaling.scale' must be positive");
  bad = j;
  bad["target_scaling"].erase("center");
  EXPECT_DATA_ERROR(Preprocessor::from_json(bad), "missing field 'target_scaling.center'");
}

// A preprocessor written before target scaling existed (a regression table's version-2 JSON
// without the field, as older model files hold it) still loads: trained on unscaled targets.
TEST(DataPreprocess, OldRegressionJsonWithoutTargetScalingLoads) {
  const nlohmann::json old = nlohmann::json::parse(R"({
    "format": "backprop.preprocessor", "version": 2, "input": "table", "target": "y", "task": "regression",
    "standardize": true,
    "columns": [{"name": "x", "kind": "numeric", "impute": 2.5, "center": 2.5, "scale": 1.118033988749895}],
    "ignored": [], "target_values": [], "positive": [], "class_names": [], "feature_names": ["x"]})");
  const Preprocessor p = Preprocessor::from_json(old);
  EXPECT_EQ(p.task(), Task::Regression);
  EXPECT_TRUE(p.target_scaling().identity());
  const Dataset d = p.transform(parse_csv("x,y\n2.5,40\n", "new.csv"));
  EXPECT_EQ(d.x[0], 0.0f);
  EXPECT_EQ(d.targets[0], 40.0f);
  // Written again, it states the identity explicitly.
  EXPECT_EQ(p.to_json().at("target_scaling"), (nlohmann::json{{"center", 0.0}, {"scale", 1.0}}));
  // Version 1 (no "input") too.
  nlohmann::json v1 = old;
  v1["version"] = 1;
  v1.erase("input");
  EXPECT_TRUE(Preprocessor::from_json(v1).target_scaling().identity());
}
