// Training and prediction from arrays (pipeline/arrays.hpp, behind the Python module): the
// Dataset borrows the matrix and refuses bad input by name, the saved preprocessing reads a CSV
// back to the same matrix, and ArrayInput encodes a matrix exactly as the preprocessor encodes
// the same rows from a CSV's text.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "backprop/data/csv.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/arrays.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;
using pipeline::UsageError;

Tensor matrix(int64_t n, int64_t d) {
  Tensor x({n, d});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 3);
  return x;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

TEST(ArraysDataset, BorrowsTheMatrixAndNamesItsColumns) {
  const Tensor x = matrix(6, 3);
  const std::vector<double> y{0, 1, 2, 1, 0, 2};
  const data::Dataset d = pipeline::dataset_from_arrays(x, Task::Multiclass, y);
  EXPECT_TRUE(d.x.same_storage(x));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"x0", "x1", "x2"}));
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 1, 2, 1, 0, 2}));
  const data::Dataset r = pipeline::dataset_from_arrays(x, Task::Regression, std::vector<double>{1, 2, 3, 4, 5, 6.5});
  EXPECT_FLOAT_EQ(r.targets[5], 6.5f);
}

TEST(ArraysDataset, RefusesBadInputNamingIt) {
  Tensor x = matrix(4, 2);
  const std::vector<double> y{0, 1, 0, 1};
  EXPECT_EQ(error_of([&] { pipeline::dataset_from_arrays(x, Task::Binary, std::vector<double>{0, 1, 0}); }),
            "y has 3 values and X 4 rows");
  EXPECT_EQ(error_of([&] { pipeline::dataset_from_arrays(x, Task::Binary, std::vector<double>{0, 2, 0, 1}); }),
            "task binary takes the labels 0 and 1, and y holds the label 2; use task \"multiclass\"");
  EXPECT_NE(error_of([&] { pipeline::dataset_from_arrays(x, Task::Multiclass, std::vector<double>{0, 0.5, 0, 1}); })
                .find("y[1] = 0.5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pipeline::dataset_from_arrays(x, Task::Multiclass, std::vector<double>{0, 0, 0, 0}); })
                .find("one class only"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { pipeline::dataset_from_arrays(x, Task::Binary, y, {"a", "y"}); }),
            "feature_names: \"y\" names the target");
  EXPECT_EQ(error_of([&] { pipeline::dataset_from_arrays(x, Task::Binary, y, {"a", "a"}); }),
            "feature_names: \"a\" appears twice");
  x[5] = NAN;  // row 2, column 1
  EXPECT_NE(error_of([&] { pipeline::dataset_from_arrays(x, Task::Binary, y); }).find("X holds NaN at row 2, column 1"),
            std::string::npos);
}

TEST(ArraysPreprocessing, ReadsTheSameMatrixBackFromACsv) {
  const Tensor x = matrix(3, 2);
  const data::Dataset d = pipeline::dataset_from_arrays(x, Task::Binary, std::vector<double>{0, 1, 1}, {"a", "b"});
  const data::Preprocessor p = data::Preprocessor::from_json(pipeline::array_preprocessing(d, {}));
  // A CSV with the columns in another order, the values printed exactly.
  std::string csv = "b,y,a\n";
  for (int64_t i = 0; i < 3; ++i) {
    char line[128];
    std::snprintf(line, sizeof line, "%.9g,%d,%.9g\n", x[i * 2 + 1], d.labels[i], x[i * 2]);
    csv += line;
  }
  const Tensor back = p.transform_features(data::parse_csv(csv));
  ASSERT_EQ(back.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(back[i], x[i]) << i;
  EXPECT_EQ(p.class_names(), (std::vector<std::string>{"0", "1"}));
}

TEST(ArraysInput, IdentityBorrowsAndStandardisedMatchesTheCsvPath) {
  const Tensor x = matrix(5, 2);
  const data::Dataset d = pipeline::dataset_from_arrays(x, Task::Binary, std::vector<double>{0, 1, 1, 0, 1});
  const pipeline::ArrayInput identity(pipeline::array_preprocessing(d, {}));
  EXPECT_TRUE(identity.identity());
  EXPECT_TRUE(identity.encode(x).same_storage(x));  // no copy

  // A preprocessor fitted by the command's path, standardising: a matrix of the same numbers,
  // from doubles, encodes to exactly what the CSV's text does.
  const std::string csv = "u,v,t\n0.627,12,a\n0.351,-3.5,b\n0.1,7,a\n2.288,0.25,b\n";
  const data::Table table = data::parse_csv(csv);
  data::PreprocessOptions po;
  po.target = "t";
  const data::Preprocessor p = data::Preprocessor::fit(table, po);
  const pipeline::ArrayInput std_input(p.to_json());
  EXPECT_FALSE(std_input.identity());
  EXPECT_EQ(std_input.names(), (std::vector<std::string>{"u", "v"}));
  const std::vector<double> rows{0.627, 12, 0.351, -3.5, 0.1, 7, 2.288, 0.25};
  const Tensor from_doubles = std_input.encode(rows, 4);
  const Tensor from_text = p.transform_features(table);
  ASSERT_EQ(from_doubles.shape(), from_text.shape());
  for (int64_t i = 0; i < from_text.numel(); ++i) EXPECT_EQ(from_doubles[i], from_text[i]) << i;
  // From float32 values: (float(v) - center) / scale, to float32's precision.
  Tensor f({4, 2});
  for (int64_t i = 0; i < 8; ++i) f[i] = static_cast<float>(rows[static_cast<size_t>(i)]);
  const Tensor from_floats = std_input.encode(f);
  for (int64_t i = 0; i < 8; ++i) EXPECT_NEAR(from_floats[i], from_text[i], 1e-6) << i;

  EXPECT_EQ(error_of([&] { std_input.encode(matrix(2, 3)); }), "X has 3 columns and this model takes 2 (u, v)");
}

TEST(ArraysInput, ImagesEncodeAsTheImagePreprocessorDoes) {
  data::Dataset images;
  images.task = Task::Multiclass;
  images.x = Tensor({3, 4});
  for (int64_t i = 0; i < 12; ++i) images.x[i] = static_cast<float>(i % 5) / 7.f;
  images.labels = {0, 1, 0};
  images.class_names = {"a", "b"};
  const data::Preprocessor p = data::Preprocessor::fit_images(images, {2, 2}, true);
  const pipeline::ArrayInput in(p.to_json());
  EXPECT_EQ(in.names().size(), 4u);
  const Tensor encoded = in.encode(images.x);
  data::Dataset copy = images;
  copy.x = images.x.clone();
  p.transform_images(copy);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(encoded[i], copy.x[i]) << i;
}

TEST(ArraysInput, ACategoricalModelTakesEncodedFeaturesOnly) {
  const data::Table table = data::parse_csv("m,v,t\nA,1,x\nB,2,y\nC,3,x\n");
  data::PreprocessOptions po;
  po.target = "t";
  const pipeline::ArrayInput in(data::Preprocessor::fit(table, po).to_json());
  EXPECT_EQ(in.categorical(), "m");
  EXPECT_EQ(in.features(), 4);  // three indicators and v
  EXPECT_EQ(error_of([&] { in.encode(matrix(2, 2)); }),
            "this model's column \"m\" is categorical: pass its encoded features (4 columns, encoded=True)");
  const Tensor e = matrix(2, 4);
  EXPECT_TRUE(in.encode(e, true).same_storage(e));
  EXPECT_EQ(error_of([&] { in.encode(matrix(2, 3), true); }), "X has 3 columns and this model takes 4 encoded features");
  const pipeline::ArrayInput none(nullptr);  // no preprocessing: any width, as it is
  const Tensor any = matrix(2, 7);
  EXPECT_TRUE(none.encode(any).same_storage(any));
}

TEST(ArraysModel, SavedAndLoadedPredictsTheSame) {
  const fs::path path = fs::temp_directory_path() / ("backprop_arrays_" + std::to_string(getpid()) + ".safetensors");
  const Tensor x = matrix(40, 3);
  std::vector<double> y;
  for (int64_t i = 0; i < 40; ++i) y.push_back(x[i * 3] > 0 ? 1 : 0);
  const data::Dataset d = pipeline::dataset_from_arrays(x, Task::Binary, y);
  for (const char* kind : {"mlp", "random-forest"}) {
    pipeline::TrainSpec spec;
    spec.model.name = kind;
    spec.model.hidden = {4};
    spec.fit.epochs = 3;
    if (std::string(kind) == "random-forest") spec.learner_options = {{"trees", 5}};
    pipeline::Trained t = pipeline::train_model(spec, d, {3});
    const io::ModelInfo info = pipeline::array_model_info(t, d, spec);
    EXPECT_EQ(info.extra.at("training").at("model"), kind);
    if (t.learner)
      io::save_model(path, *t.learner, info);
    else
      io::save_model(path, *t.model, info);
    io::ModelFile back = io::load_model(path);
    const Tensor a = pipeline::ModelRef(t).predict(Task::Binary, x);
    const Tensor b = pipeline::ModelRef(back).predict(Task::Binary, pipeline::ArrayInput(back.info.preprocessing).encode(x));
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a[i], b[i]) << kind << " " << i;
  }
  fs::remove(path);
}

}  // namespace
