// ONNX export: the checker accepts what we write, and ONNX Runtime computes what we compute.
// The expected outputs come from tests/fixtures/onnx/gen_fixtures.sh (ONNX Runtime 1.30 through
// Node, on the export of the stored model files); this test exports the same models again and
// compares ours with those, to 1e-5.
#include <gtest/gtest.h>

#include "../test_util.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/train/fit.hpp"

using namespace bp;
using namespace bp::testing;

namespace {

// null in the fixture's data stands for NaN (a missing value).
Tensor tensor_of(const nlohmann::json& j) {
  std::vector<float> v;
  for (const auto& e : j.at("data")) v.push_back(e.is_null() ? std::nanf("") : e.get<float>());
  return Tensor(j.at("shape").get<Shape>(), v);
}

// The graph's input (raw features) as the model's own preprocessing leaves it: written here from
// the preprocessor's fields, apart from the exporter's code.
Tensor standardize(const nlohmann::json& preprocessing, const Tensor& raw) {
  const data::Preprocessor pre = data::Preprocessor::from_json(preprocessing);
  Tensor x = raw.clone();
  const int64_t n = x.dim(0), f = x.dim(1);
  EXPECT_EQ(f, pre.num_features());
  std::vector<double> center, scale, impute;
  for (const auto& c : pre.columns()) {
    const size_t k = c.kind == data::ColumnKind::Categorical ? c.categories.size()
                     : c.kind == data::ColumnKind::Pixels    ? static_cast<size_t>(shape_numel(c.shape))
                                                             : 1;
    const bool ind = c.kind == data::ColumnKind::Categorical;
    center.insert(center.end(), k, ind ? 0.0 : c.center);
    scale.insert(scale.end(), k, ind ? 1.0 : c.scale);
    impute.insert(impute.end(), k, ind ? 0.0 : c.impute);  // a missing category: all indicators 0
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) {
      float& v = x.data()[i * f + j];
      if (std::isnan(v)) v = static_cast<float>(impute[j]);
      v = static_cast<float>((v - center[j]) / scale[j]);
    }
  return x;
}

class OnnxExport : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(OnnxExport, CheckerAcceptsAndOnnxRuntimeAgrees) {
  const std::string name = GetParam();
  io::ModelFile mf = io::load_model(source_path("tests/fixtures/onnx/" + name + ".safetensors"));
  const nlohmann::json fx = load_fixture("onnx/" + name + ".ort.json");
  const std::string bytes = onnx::export_model_bytes(*mf.module, mf.info);
  EXPECT_NO_THROW(onnx::check_model_bytes(bytes, name));

  const Tensor raw = tensor_of(fx.at("input"));
  const Tensor ort = tensor_of(fx.at("output"));
  for (int64_t i = 0; i < ort.numel(); ++i) ASSERT_TRUE(std::isfinite(ort[i])) << name << ": ONNX Runtime gave " << ort[i];
  // The table models' inputs hold a missing value, which the graph fills in (IsNaN/Where).
  if (name.rfind("mlp_", 0) == 0) {
    int64_t missing = 0;
    for (int64_t i = 0; i < raw.numel(); ++i) missing += std::isnan(raw[i]) ? 1 : 0;
    EXPECT_EQ(missing, 1) << name;
  }
  // Ours, as backprop predict computes it: preprocessing, the network, the task's activation.
  const Tensor ours = train::predict(*mf.module, mf.info.task, standardize(mf.info.preprocessing, raw));
  expect_close(ours, ort, 1e-5, name + ": backprop against ONNX Runtime");
  EXPECT_EQ(fx.at("output_name"), mf.info.task == Task::Regression ? "prediction" : "probabilities");

  // The export read back: the same network, task, class names and preprocessing.
  io::ModelFile back = onnx::import_model_bytes(bytes, name);
  EXPECT_EQ(back.info.task, mf.info.task);
  EXPECT_EQ(back.info.class_names, mf.info.class_names);
  EXPECT_EQ(back.info.preprocessing, mf.info.preprocessing);
  const Tensor again = train::predict(*back.module, back.info.task, standardize(back.info.preprocessing, raw));
  expect_close(again, ort, 1e-5, name + ": imported export against ONNX Runtime");
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxExport, ::testing::Values("mlp_servo", "mlp_pima", "lenet5", "resnet"));

TEST(OnnxExportErrors, RecurrentLayersAreNotExportableYet) {
  Rng rng(1);
  nn::Sequential s;
  s.emplace<nn::Embedding>(10, 4, rng);
  io::ModelInfo info;
  try {
    onnx::export_model_bytes(s, info);
    FAIL() << "exported an embedding";
  } catch (const onnx::OnnxError& e) {
    EXPECT_NE(std::string(e.what()).find("not exportable to ONNX yet"), std::string::npos) << e.what();
  }
}

TEST(OnnxExportErrors, StepActivationIsRefusedByName) {
  Rng rng(1);
  nn::Sequential s;
  s.emplace<nn::Linear>(3, 2, true, nn::Init::Glorot, rng);
  s.emplace<nn::Activation>(nn::Act::Step);
  try {
    onnx::export_model_bytes(s, io::ModelInfo{});
    FAIL() << "exported a step unit";
  } catch (const onnx::OnnxError& e) {
    EXPECT_NE(std::string(e.what()).find("step"), std::string::npos) << e.what();
  }
}

TEST(OnnxExportErrors, WritesAtomicallyAndLeavesNothingOnFailure) {
  const auto dir = std::filesystem::temp_directory_path() / ("bp_onnx_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Rng rng(1);
  nn::Sequential ok;
  ok.emplace<nn::Linear>(3, 2, true, nn::Init::Glorot, rng);
  onnx::export_model(dir / "m.onnx", ok, io::ModelInfo{});
  EXPECT_NO_THROW(onnx::check_model_bytes(onnx::read_file(dir / "m.onnx"), "m.onnx"));
  nn::Sequential bad;
  bad.emplace<nn::Activation>(nn::Act::Step);
  EXPECT_THROW(onnx::export_model(dir / "bad.onnx", bad, io::ModelInfo{}), onnx::OnnxError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.onnx"));
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}
