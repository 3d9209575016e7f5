// Files written by plain Python (tests/fixtures/io/gen_safetensors_fixture.py, which follows
// the safetensors spec with struct + json) read correctly; and a file for the script's
// `verify` mode, which checks our writer's output from Python with numpy alone:
//   ./build/backprop_tests --gtest_filter='IoPython.*'
//   python3 tests/fixtures/io/gen_safetensors_fixture.py verify build/io_written_by_cpp.safetensors
//   python3 tests/fixtures/io/gen_safetensors_fixture.py verify build/io_tensors_by_cpp.safetensors
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "../test_util.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/models.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::Var;
namespace io = bp::io;
namespace nn = bp::nn;
using nlohmann::json;

// The script's formula: exact in float32.
float formula(int k, int64_t i) { return static_cast<float>(((i * 7 + k * 13) % 23 - 11) / 8.0); }

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::string fixture(const std::string& name) { return bp::testing::source_path("tests/fixtures/io/" + name); }

TEST(IoPython, ReadsTensorsWrittenByPlainPython) {
  const auto f = io::read_safetensors(fixture("python_tensors.safetensors"));
  EXPECT_EQ(f.metadata.at("format"), "np");
  ASSERT_EQ(f.tensors.size(), 5u);
  const Tensor* w = f.find("layer.weight");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), (Shape{3, 4}));
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ((*w)[i], formula(1, i)) << i;
  const Tensor* b = f.find("layer.bias");
  ASSERT_NE(b, nullptr);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ((*b)[i], formula(2, i)) << i;
  ASSERT_NE(f.find("scalar"), nullptr);
  EXPECT_EQ(f.find("scalar")->shape(), Shape{});
  EXPECT_EQ(f.find("scalar")->item(), formula(3, 0));
  ASSERT_NE(f.find("empty"), nullptr);
  EXPECT_EQ(f.find("empty")->shape(), (Shape{0, 3}));
  const Tensor* s = f.find("special");
  ASSERT_NE(s, nullptr);
  const float want[] = {
      0.f, -0.f, 1.f / 3.f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(), -2.5f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(bits((*s)[i]), bits(want[i])) << i;
}

TEST(IoPython, LoadsAModelFileWrittenByPython) {
  io::ModelFile m = io::load_model(fixture("python_model.safetensors"));
  EXPECT_EQ(m.format_version, 2) << "with the checksums Python computed";
  EXPECT_EQ(m.library_version, "python-fixture");
  EXPECT_EQ(m.info.task, bp::Task::Multiclass);
  EXPECT_EQ(m.info.class_names, (std::vector<std::string>{"cat", "dog", "eel"}));
  EXPECT_EQ(m.info.preprocessing["preprocessor"]["feature_names"], json({"a", "b", "c"}));
  EXPECT_TRUE(m.info.calibrator.is_null());
  const json& in = m.info.extra.at("check_inputs");
  const json& out = m.info.extra.at("check_outputs");
  ASSERT_EQ(in.size(), 3u);
  bp::autograd::NoGradGuard ng;
  for (size_t r = 0; r < in.size(); ++r) {
    Tensor x({1, 3}, in[r].get<std::vector<float>>());
    Tensor y = m.module->forward(Var(x)).value();
    ASSERT_EQ(y.shape(), (Shape{1, 3}));
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(y[j], out[r][j].get<double>(), 1e-5) << "row " << r;
  }
}

// Writes the files the script's verify mode checks (see the top of this file). The C++ side
// only checks they read back; Python checks the rest.
TEST(IoPython, WritesAFileForPythonToVerify) {
  const std::string build = BACKPROP_BINARY_DIR;
  auto net = nn::make_mlp({.inputs = 4,
                           .hidden = {6, 5},
                           .activations = {nn::Act::Tanh, nn::Act::ReLU},
                           .outputs = 3,
                           .task = bp::Task::Multiclass,
                           .seed = 5});
  const Tensor x = bp::testing::random_tensor({4, 4}, 11, -2.f, 2.f);
  Tensor y;
  {
    bp::autograd::NoGradGuard ng;
    y = net->forward(Var(x)).value();
  }
  json xs = json::array(), ys = json::array();
  for (int r = 0; r < 4; ++r) {
    xs.push_back(std::vector<float>(x.data() + 4 * r, x.data() + 4 * r + 4));
    ys.push_back(std::vector<float>(y.data() + 3 * r, y.data() + 3 * r + 3));
  }
  io::save_model(build + "/io_written_by_cpp.safetensors", *net,
                 {.task = bp::Task::Multiclass,
                  .class_names = {"a", "b", "c"},
                  .extra = {{"check_inputs", xs}, {"check_outputs", ys}}});
  EXPECT_NO_THROW(io::load_model(build + "/io_written_by_cpp.safetensors"));

  io::NamedTensors t;
  const std::vector<std::pair<std::string, Shape>> specs{{"w", {2, 3}}, {"v", {5}}, {"s", {}}, {"e", {3, 0}}};
  json names = json::array();
  for (size_t k = 0; k < specs.size(); ++k) {
    Tensor v(specs[k].second);
    for (int64_t i = 0; i < v.numel(); ++i) v[i] = formula(static_cast<int>(k), i);
    t.emplace_back(specs[k].first, v);
    names.push_back(specs[k].first);
  }
  io::write_safetensors(build + "/io_tensors_by_cpp.safetensors", t, {{"check_values", names.dump()}});
  EXPECT_EQ(io::read_safetensors(build + "/io_tensors_by_cpp.safetensors").tensors.size(), specs.size());
}

}  // namespace
