// The target column read once (scan_target) and what is decided from that one scan: the
// task, the class order of the training rows, and the labels.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <numeric>

#include "backprop/data/preprocess.hpp"
#include "data_test_util.hpp"

using namespace bp::data;
using bp::data::testing::repo_data;

namespace {
PreprocessOptions target(const std::string& name) {
  PreprocessOptions o;
  o.target = name;
  return o;
}
std::vector<int64_t> rows_upto(int64_t n) {
  std::vector<int64_t> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), int64_t{0});
  return r;
}
}  // namespace

TEST(DataTarget, ScanGivesValuesInClassOrderAndCodes) {
  const Table t = parse_csv("y\nb\na\nb\n", "l.csv");
  const TargetColumn y = scan_target(t, "y");
  EXPECT_EQ(y.name, "y");
  EXPECT_EQ(y.values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(y.codes, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(y.parsed, (std::vector<NumberParse>{NumberParse::Text, NumberParse::Text}));
  EXPECT_DATA_ERROR(scan_target(t, "z"), "no column 'z'");

  const TargetColumn n = scan_target(parse_csv("y\n10\n2\n1\n2\n", "n.csv"), "y");
  EXPECT_EQ(n.values, (std::vector<std::string>{"1", "2", "10"}));  // numerically
  EXPECT_EQ(n.codes, (std::vector<int32_t>{2, 1, 0, 1}));
  EXPECT_EQ(n.numbers, (std::vector<double>{1, 2, 10}));
  const TargetColumn m = scan_target(parse_csv("y\n10\n2\nx\n", "m.csv"), "y");
  EXPECT_EQ(m.values, (std::vector<std::string>{"10", "2", "x"}));  // by bytes: not all numbers
  EXPECT_DATA_ERROR(scan_target(parse_csv("y\na\nNA\n", "l.csv"), "y"), "l.csv:3: missing value in target column 'y'");
}

TEST(DataTarget, TrainingRowsDecideTaskAndClassOrder) {
  // Text in a row outside training: the scan orders all values by bytes, but the training
  // rows hold integers only, so the fit sees three integer classes in numeric order.
  const Table t = parse_csv("x,y\n1,10\n2,2\n3,9\n4,x\n", "s.csv");
  const TargetColumn y = scan_target(t, "y");
  EXPECT_EQ(y.values, (std::vector<std::string>{"10", "2", "9", "x"}));
  const std::vector<int64_t> train = {0, 1, 2};
  EXPECT_EQ(infer_task(t, y, rows_upto(4), target("y")), bp::Task::Multiclass);
  EXPECT_EQ(infer_task(t, y, train, target("y")), bp::Task::Multiclass);
  const Preprocessor p = Preprocessor::fit(t, train, target("y"), y);
  EXPECT_EQ(p.class_names(), (std::vector<std::string>{"2", "9", "10"}));
  EXPECT_EQ(p.transform(t, train, y).labels, (std::vector<int32_t>{2, 0, 1}));
  EXPECT_DATA_ERROR(p.transform(t, rows_upto(4), y), "s.csv:5: target 'y': class 'x' was not seen in training (known classes: 2, 9, 10)");
  PreprocessOptions few = target("y");
  few.max_integer_classes = 2;
  EXPECT_EQ(infer_task(t, y, train, few), bp::Task::Regression);
  const Preprocessor r = Preprocessor::fit(t, train, few, y);
  EXPECT_EQ(r.transform(t, train, y).targets.to_vector(), (std::vector<float>{10, 2, 9}));
  EXPECT_DATA_ERROR(r.transform(t, rows_upto(4), y), "s.csv:5: target 'y': expected a number, found 'x'");
  EXPECT_DATA_ERROR(infer_task(parse_csv("y\n1.5\ninf\n", "f.csv"), scan_target(parse_csv("y\n1.5\ninf\n", "f.csv"), "y"),
                               rows_upto(2), target("y")),
                    "f.csv:3: target 'y': 'inf' is not a finite number");
}

// The scan is the encoding's only reader of the target: labels follow its codes, so a scan of
// another table with the same rows (here with every label flipped) shows through.
TEST(DataTarget, LabelsComeFromTheScan) {
  const Table a = parse_csv("x,y\n1,p\n2,q\n3,p\n", "a.csv");
  const Table b = parse_csv("x,y\n1,q\n2,p\n3,q\n", "b.csv");
  const Preprocessor p = Preprocessor::fit(a, target("y"));
  const TargetColumn ya = scan_target(a, "y");
  EXPECT_EQ(p.transform(a).labels, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(p.transform(b).labels, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(p.transform(b, rows_upto(3), ya).labels, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_DATA_ERROR(p.transform(a, rows_upto(3), scan_target(a, "x")), "the target scan is of column 'x'");
  EXPECT_DATA_ERROR(p.transform(parse_csv("x,y\n1,p\n", "c.csv"), rows_upto(1), ya), "over 3 rows");
}

TEST(DataTarget, FitWithTheScanEqualsFitWithout) {
  for (const auto& [file, column] : {std::pair{"Servo.csv", "Class"}, std::pair{"LetterRecognition.csv", "lettr"},
                                     std::pair{"BreastCancer.csv", "Class"}}) {
    const Table t = read_csv(repo_data(file));
    std::vector<int64_t> train;
    for (int64_t r = 0; r < t.num_rows(); r += 3) train.push_back(r);
    const TargetColumn y = scan_target(t, column);
    const Preprocessor a = Preprocessor::fit(t, train, target(column));
    const Preprocessor b = Preprocessor::fit(t, train, target(column), y);
    EXPECT_EQ(a.to_json(), b.to_json()) << file;
    const Dataset da = a.transform(t), db = b.transform(t, rows_upto(t.num_rows()), y);
    EXPECT_EQ(da.x.to_vector(), db.x.to_vector()) << file;
    EXPECT_EQ(da.labels, db.labels) << file;
    if (da.targets.defined()) {
      EXPECT_EQ(da.targets.to_vector(), db.targets.to_vector()) << file;
    }
  }
}
