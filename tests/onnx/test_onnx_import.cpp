// ONNX import: models exported by PyTorch give PyTorch's outputs (tests/fixtures/onnx/gen_torch.py),
// and ONNX's own conformance cases (Debian libonnx-testdata) either import and match or are refused
// naming an operator — never a wrong number.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "../test_util.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/train/fit.hpp"

using namespace bp;
using namespace bp::testing;

namespace {

Tensor tensor_of(const nlohmann::json& j) {
  return Tensor(j.at("shape").get<Shape>(), j.at("data").get<std::vector<float>>());
}

Tensor run(nn::Module& m, const Tensor& x) {
  autograd::NoGradGuard ng;
  return m.forward(Var(x)).value();
}

class TorchImport : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(TorchImport, GivesPyTorchsOutputs) {
  const std::string name = GetParam();
  const std::string path = source_path("tests/fixtures/onnx/torch_" + name + ".onnx");
  const nlohmann::json fx = load_fixture("onnx/torch_" + name + ".json");
  const Tensor x = tensor_of(fx.at("input")), want = tensor_of(fx.at("output"));
  onnx::ImportedGraph g = onnx::import_graph(onnx::read_file(path), path);
  expect_close(run(*g.module, x), want, 1e-5, name + ": the graph");
  // As a model file: the final Softmax becomes the task, and predict puts it back.
  io::ModelFile f = onnx::import_model(path);
  EXPECT_EQ(f.info.task, Task::Multiclass);
  EXPECT_EQ(f.info.class_names.size(), static_cast<size_t>(want.dim(1)));
  expect_close(train::predict(*f.module, f.info.task, x), want, 1e-5, name + ": predict");
  // And through a model file on disk: saved, loaded and validated like any other.
  const auto file = std::filesystem::temp_directory_path() / ("bp_onnx_" + name + std::to_string(::getpid()) + ".safetensors");
  io::save_model(file, *f.module, f.info);
  io::ModelFile loaded = io::load_model(file);
  std::filesystem::remove(file);
  expect_close(train::predict(*loaded.module, loaded.info.task, x), want, 1e-5, name + ": saved and loaded");
}

INSTANTIATE_TEST_SUITE_P(PyTorch, TorchImport, ::testing::Values("mlp", "lenet", "resnet"));

// ONNX's node conformance cases: every case whose operators are all in the claimed subset must
// import and match its expected output, or be refused with an error naming the operator (an
// attribute or input outside what our blocks do); every other case must be refused naming an
// operator outside the subset.
TEST(OnnxConformance, NodeCasesMatchOrAreRefusedByName) {
  const std::filesystem::path root = "/usr/share/libonnx-testdata/data/node";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << root << " is missing: install libonnx-testdata (scripts/deps.sh)";
  const auto& ops = onnx::supported_operators();
  auto claimed = [&](const std::string& op) { return std::find(ops.begin(), ops.end(), op) != ops.end(); };
  std::vector<std::filesystem::path> cases;
  for (const auto& e : std::filesystem::directory_iterator(root))
    if (e.is_directory() && std::filesystem::exists(e.path() / "model.onnx")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GT(cases.size(), 500u);

  struct Count {
    int passed = 0, refused = 0;
  };
  std::map<std::string, Count> per_op;
  std::vector<std::string> passed, refused_claimed;
  int other = 0;
  for (const auto& dir : cases) {
    const std::string name = dir.filename().string();
    const std::string bytes = onnx::read_file(dir / "model.onnx");
    const onnx::GraphSummary s = onnx::summarize(bytes, name);
    const bool all_claimed = std::all_of(s.operators.begin(), s.operators.end(), claimed);
    std::set<std::string> case_ops(s.operators.begin(), s.operators.end());
    if (!all_claimed) {
      // Refused, naming one of its operators outside the subset.
      try {
        onnx::import_graph(bytes, name);
        ADD_FAILURE() << name << ": imported a graph with an unsupported operator";
      } catch (const onnx::OnnxError& e) {
        const std::string msg = e.what();
        bool named = false;
        for (const auto& op : case_ops)
          if (!claimed(op) && msg.find(op + " (node") != std::string::npos) named = true;
        // A graph can also be refused by the checker before its operators are looked at.
        if (msg.find("checker") != std::string::npos) named = true;
        EXPECT_TRUE(named) << name << ": " << msg;
      }
      ++other;
      continue;
    }
    // The first data input is the example; the others (weights, biases, shapes) are bound as constants.
    std::vector<std::string> data_inputs;
    for (const auto& in : s.inputs)
      if (std::find(s.initializers.begin(), s.initializers.end(), in) == s.initializers.end()) data_inputs.push_back(in);
    const std::filesystem::path set = dir / "test_data_set_0";
    std::string refusal;
    Tensor x, want, got;
    try {
      std::map<std::string, std::string> bound;
      for (size_t k = 1; k < data_inputs.size(); ++k)
        bound[data_inputs[k]] = onnx::read_file(set / ("input_" + std::to_string(k) + ".pb"));
      onnx::ImportedGraph g = onnx::import_graph(bytes, name, {}, bound);
      x = onnx::read_tensor_file(set / "input_0.pb");
      if (std::filesystem::exists(set / "output_1.pb")) {
        ADD_FAILURE() << name << ": imported a graph with two outputs";
        continue;
      }
      want = onnx::read_tensor_file(set / "output_0.pb");
      try {
        got = run(*g.module, x);
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << ": imported, but running it fails: " << e.what();
        continue;
      }
    } catch (const onnx::OnnxError& e) {
      refusal = e.what();
    }
    if (!refusal.empty()) {
      bool named = false;
      for (const auto& op : case_ops)
        if (refusal.find("operator " + op + " (node") != std::string::npos) named = true;
      // Inputs ONNX gives as int64 or other types, and graphs that are not one chain, are refused
      // before any operator is looked at: still never a number.
      if (refusal.find("only FLOAT") != std::string::npos || refusal.find("data inputs") != std::string::npos) named = true;
      EXPECT_TRUE(named) << name << ": refused without naming an operator: " << refusal;
      refused_claimed.push_back(name + ": " + refusal);
      for (const auto& op : case_ops) ++per_op[op].refused;
      continue;
    }
    ASSERT_EQ(got.shape(), want.shape()) << name;
    double worst = 0;
    for (int64_t i = 0; i < got.numel(); ++i)
      worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::fabs(static_cast<double>(want[i]))));
    EXPECT_LE(worst, 1e-5) << name << ": imported and ran, but differs from ONNX's expected output by " << worst;
    passed.push_back(name);
    for (const auto& op : case_ops) ++per_op[op].passed;
  }
  std::cout << "ONNX node conformance: " << cases.size() << " cases; " << passed.size() << " pass, "
            << refused_claimed.size() << " of the claimed operators refused, " << other
            << " refused for an operator outside the subset\n";
  for (const auto& [op, c] : per_op) std::cout << "  " << op << ": " << c.passed << " pass, " << c.refused << " refused\n";
  for (const auto& r : refused_claimed) std::cout << "  refused " << r << "\n";
  // The claimed subset is exercised: losing a whole operator's cases is a regression.
  EXPECT_GE(passed.size(), 40u);
}

TEST(OnnxImportErrors, NamesTheFirstUnsupportedOperatorAndNode) {
  const std::filesystem::path p = "/usr/share/libonnx-testdata/data/node/test_mul/model.onnx";
  if (!std::filesystem::exists(p)) GTEST_SKIP() << "libonnx-testdata is missing";
  try {
    onnx::import_model(p);
    FAIL() << "imported Mul";
  } catch (const onnx::OnnxError& e) {
    EXPECT_NE(std::string(e.what()).find("operator Mul (node"), std::string::npos) << e.what();
  }
}

TEST(OnnxImportErrors, NotAnOnnxFileIsAModelFileError) {
  EXPECT_THROW(onnx::import_model_bytes("not a protobuf at all \x01\x02", "junk.onnx"), io::ModelFileError);
}

// The task: a final Softmax is read as multi-class; a graph of logits (four outputs, no Softmax)
// is refused without --task and read as logits with --task multiclass.
TEST(OnnxImportTask, FromTheGraphOrAsked) {
  const std::string path = source_path("tests/fixtures/onnx/torch_mlp.onnx");
  EXPECT_EQ(onnx::import_model(path).info.task, Task::Multiclass);
  // Regression or binary cannot hold four outputs per example.
  EXPECT_THROW(onnx::import_model(path, {.task = Task::Regression}), onnx::OnnxError);
  EXPECT_THROW(onnx::import_model(path, {.task = Task::Binary}), onnx::OnnxError);

  Rng rng(5);
  nn::Sequential logits;
  logits.emplace<nn::Linear>(3, 4, true, nn::Init::Glorot, rng);
  io::ModelInfo info;
  info.task = Task::Regression;  // exported without a final activation
  const std::string bytes = onnx::export_model_bytes(logits, info);
  // The metadata says regression, which cannot hold four outputs: refused, never misread.
  EXPECT_THROW(onnx::import_model_bytes(bytes, "logits.onnx"), onnx::OnnxError);
  io::ModelFile f = onnx::import_model_bytes(bytes, "logits.onnx", {.task = Task::Multiclass});
  EXPECT_EQ(f.info.task, Task::Multiclass);
  EXPECT_EQ(f.info.class_names.size(), 4u);
  const Tensor x = random_tensor({5, 3}, 9);
  const Tensor want = train::predict(logits, Task::Multiclass, x);
  expect_close(train::predict(*f.module, f.info.task, x), want, 1e-6, "logits read as multiclass");
}
