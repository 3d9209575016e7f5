// Quantized networks (nn/quantized.hpp): outputs close to the float network's, both kernel paths
// (int8 bit-identical, bf16 within rounding), the raw and the Module entry points agreeing,
// saving and loading through the model file (new dtypes, bit-identical predictions, damage
// refused), the layers it refuses, and accuracy on Fashion-MNIST within the issue's bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include "../test_util.hpp"
#include "backprop/backend/isa.hpp"
#include "backprop/backend/qgemm.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/cnn.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/nn/quantized.hpp"
#include "backprop/optim/optim.hpp"
#include "backprop/train/fit.hpp"

namespace {

using namespace bp;
using bp::nn::QuantDtype;
using bp::nn::QuantizedNet;

Tensor run(nn::Module& m, const Tensor& x) {
  autograd::NoGradGuard ng;
  m.set_training(false);
  return m.forward(Var(x)).value();
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(t[i])));
  return m;
}

double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

std::unique_ptr<nn::Sequential> small_mlp() {
  nn::MLPConfig c;
  c.inputs = 37;
  c.hidden = {64, 33};
  c.activations = {nn::Act::ReLU};
  c.outputs = 5;
  return nn::make_mlp(c);
}

// Conv (fused ReLU) → max pool → conv (tanh, a float stage after it) → avg pool → flatten →
// linear → ReLU → linear: every stage kind, from flat rows of 2·12·12.
std::unique_ptr<nn::Sequential> small_cnn() {
  Rng rng(3);
  auto net = std::make_unique<nn::Sequential>();
  net->emplace<nn::Reshape>(Shape{2, 12, 12});
  net->emplace<nn::Conv2d>(2, 8, nn::Conv2dOptions{.kernel = 3, .padding = 1, .act = nn::Act::ReLU}, rng);
  net->emplace<nn::MaxPool2d>(2);
  net->emplace<nn::Conv2d>(8, 12, nn::Conv2dOptions{.kernel = 3, .stride = 2, .act = nn::Act::Tanh}, rng);
  net->emplace<nn::AvgPool2d>(2);
  net->emplace<nn::Flatten>();
  net->emplace<nn::Linear>(12 * 1 * 1, 20, true, nn::Init::He, rng);
  net->emplace<nn::Activation>(nn::Act::ReLU);
  net->emplace<nn::Linear>(20, 4, true, nn::Init::Glorot, rng);
  return net;
}

struct PathGuard {
  ~PathGuard() { backend::set_portable_kernels(false); }
};

void expect_close_on_both_paths(nn::Module& net, const Tensor& x, const Tensor& calib, double bf16_tol, double int8_tol) {
  PathGuard guard;
  const Tensor want = run(net, x);
  const double scale = std::max(1.0, max_abs(want));
  for (QuantDtype dt : {QuantDtype::BF16, QuantDtype::Int8}) {
    auto q = QuantizedNet::quantize(net, {.dtype = dt, .calibration = calib});
    backend::set_portable_kernels(false);
    const Tensor native = run(*q, x);
    backend::set_portable_kernels(true);
    const Tensor portable = run(*q, x);
    backend::set_portable_kernels(false);
    const double tol = (dt == QuantDtype::BF16 ? bf16_tol : int8_tol) * scale;
    EXPECT_LE(max_diff(native, want), tol) << nn::to_string(dt);
    if (dt == QuantDtype::Int8) EXPECT_TRUE(identical(native, portable)) << "int8: the two paths must give the same outputs";
    else EXPECT_LE(max_diff(native, portable), 1e-5 * scale) << "bf16: the paths differ only in float rounding";
  }
}

TEST(Quantized, MlpOutputsStayCloseToFloatOnBothPaths) {
  auto net = small_mlp();
  const Tensor x = bp::testing::random_tensor({50, 37}, 1, -2.f, 2.f);
  const Tensor calib = bp::testing::random_tensor({200, 37}, 2, -2.f, 2.f);
  // Loose bounds on fresh random weights, against gross errors (a wrong scale or zero point is off
  // by the whole output): Int8LayerIsTheQuantizedProductScaled pins the arithmetic itself, and
  // the accuracy test below what it costs on a trained network.
  expect_close_on_both_paths(*net, x, calib, 0.02, 0.06);
}

TEST(Quantized, ConvNetOutputsStayCloseToFloatOnBothPaths) {
  auto net = small_cnn();
  const Tensor x = bp::testing::random_tensor({6, 2 * 12 * 12}, 4, -1.f, 1.f);
  const Tensor calib = bp::testing::random_tensor({64, 2 * 12 * 12}, 5, -1.f, 1.f);
  expect_close_on_both_paths(*net, x, calib, 0.02, 0.05);
}

TEST(Quantized, RawRowsAndForwardAgreeAndBatchOneMatchesBatches) {
  auto net = small_mlp();
  const Tensor x = bp::testing::random_tensor({9, 37}, 6, -2.f, 2.f);
  for (QuantDtype dt : {QuantDtype::BF16, QuantDtype::Int8}) {
    auto q = QuantizedNet::quantize(*net, {.dtype = dt, .calibration = x});
    ASSERT_TRUE(q->rows_only());
    EXPECT_EQ(q->in_features(), 37);
    EXPECT_EQ(q->out_features(), 5);
    const Tensor batch = run(*q, x);
    std::vector<float> one(5);
    for (int64_t i = 0; i < 9; ++i) {
      q->infer(x.data() + i * 37, 1, one.data());
      for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(one[static_cast<size_t>(j)], batch[i * 5 + j]) << nn::to_string(dt);
    }
  }
}

// The int8 first layer against the affine-quantization formula, computed here in double.
TEST(Quantized, Int8LayerIsTheQuantizedProductScaled) {
  Rng rng(9);
  nn::Sequential net;
  net.emplace<nn::Linear>(6, 3, true, nn::Init::Glorot, rng);
  const Tensor x = bp::testing::random_tensor({4, 6}, 10, -1.f, 3.f);
  auto q = QuantizedNet::quantize(net, {.dtype = QuantDtype::Int8, .calibration = x});
  const Tensor y = run(*q, x);
  auto& lin = dynamic_cast<nn::Linear&>(net[0]);
  const Tensor& w = lin.weight.value();
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < x.numel(); ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
  const float sa = (hi - lo) / 255.f;
  const int zero = static_cast<int>(std::lround(-lo / sa));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      float m = 0;
      for (int64_t p = 0; p < 6; ++p) m = std::max(m, std::fabs(w[j * 6 + p]));
      const float sw = m / 127.f;
      int64_t acc = 0;
      for (int64_t p = 0; p < 6; ++p) {
        const int64_t qa = std::clamp<int64_t>(std::llrint(x[i * 6 + p] * (1.f / sa)) + zero, 0, 255);
        const int64_t qw = std::lround(w[j * 6 + p] / sw);
        acc += (qa - zero) * qw;
      }
      const double want = static_cast<double>(acc) * (static_cast<double>(sa) * sw) + lin.bias.value()[j];
      EXPECT_NEAR(y[i * 3 + j], want, 1e-5 * (1 + std::fabs(want)));
    }
}

TEST(Quantized, RefusesWhatItCannotTake) {
  auto net = small_mlp();
  EXPECT_THROW(QuantizedNet::quantize(*net, {.dtype = QuantDtype::Int8}), std::invalid_argument);  // no calibration rows
  Tensor bad = bp::testing::random_tensor({3, 37}, 1);
  bad[4] = NAN;
  EXPECT_THROW(QuantizedNet::quantize(*net, {.dtype = QuantDtype::Int8, .calibration = bad}), std::invalid_argument);
  EXPECT_THROW(QuantizedNet::quantize(*net, {.dtype = QuantDtype::BF16, .percentile = 30}), std::invalid_argument);
  Rng rng(1);
  nn::Sequential bn;
  bn.emplace<nn::Linear>(4, 4, true, nn::Init::He, rng);
  bn.emplace<nn::BatchNorm>(4, 1);
  try {
    QuantizedNet::quantize(bn, {.dtype = QuantDtype::BF16});
    FAIL() << "batch norm was quantized";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("batch_norm1d"), std::string::npos) << e.what();
  }
  auto q = QuantizedNet::quantize(*net, {.dtype = QuantDtype::BF16});
  Tensor x = bp::testing::random_tensor({2, 37}, 3);
  x[1] = INFINITY;
  EXPECT_THROW(run(*q, x), std::invalid_argument);
  EXPECT_THROW(run(*q, bp::testing::random_tensor({2, 36}, 3)), std::invalid_argument);  // the wrong width
  EXPECT_THROW(QuantizedNet::quantize(*net, {.dtype = QuantDtype::BF16})->forward(Var(Tensor({2, 3, 4}, 0.f))),
               std::invalid_argument);
}

class QuantizedFile : public bp::testing::TempDirTest {
 protected:
  QuantizedFile() : TempDirTest("backprop_quantized") {}
};

TEST_F(QuantizedFile, RoundTripGivesBitIdenticalOutputsInTheNarrowDtypes) {
  for (bool conv : {false, true}) {
    auto net = conv ? small_cnn() : small_mlp();
    const int64_t width = conv ? 2 * 12 * 12 : 37;
    const Tensor x = bp::testing::random_tensor({8, width}, 12, -1.f, 1.f);
    const io::ModelInfo info{.task = Task::Multiclass};
    io::save_model(path("float.safetensors"), *net, info);
    for (QuantDtype dt : {QuantDtype::BF16, QuantDtype::Int8}) {
      auto q = QuantizedNet::quantize(*net, {.dtype = dt, .calibration = x});
      const std::string file = path(nn::to_string(dt) + ".safetensors");
      io::save_model(file, *q, info);
      io::ModelFile back = io::load_model(file);
      auto* lq = dynamic_cast<QuantizedNet*>(back.module.get());
      ASSERT_NE(lq, nullptr);
      EXPECT_EQ(lq->dtype(), dt);
      EXPECT_EQ(lq->config(), q->config());
      EXPECT_TRUE(identical(run(*lq, x), run(*q, x))) << nn::to_string(dt) << (conv ? " cnn" : " mlp");
      // The weights are stored narrow; everything else as F32.
      const io::SafeTensorsFile f = io::read_safetensors(file);
      int narrow = 0;
      for (const auto& [name, t] : f.tensors) {
        const bool weight = name.size() > 7 && name.substr(name.size() - 7) == ".weight";
        if (weight) {
          ASSERT_TRUE(f.dtypes.count(name)) << name;
          EXPECT_EQ(f.dtypes.at(name), dt == QuantDtype::BF16 ? "BF16" : "I8");
          ++narrow;
        } else {
          EXPECT_FALSE(f.dtypes.count(name)) << name;
        }
      }
      EXPECT_EQ(narrow, conv ? 4 : 3);
      // int8 weights take a quarter of the float file's bytes, bf16 half (plus scales, biases, and
      // a header that outweighs the small CNN's few weights).
      if (conv) continue;
      const double ratio = static_cast<double>(std::filesystem::file_size(file)) /
                           static_cast<double>(std::filesystem::file_size(path("float.safetensors")));
      EXPECT_LT(ratio, dt == QuantDtype::BF16 ? 0.75 : 0.6) << nn::to_string(dt) << (conv ? " cnn" : " mlp");
    }
  }
}

TEST_F(QuantizedFile, DamagedOrInconsistentFilesAreRefused) {
  auto net = small_mlp();
  const Tensor x = bp::testing::random_tensor({8, 37}, 12);
  auto q = QuantizedNet::quantize(*net, {.dtype = QuantDtype::Int8, .calibration = x});
  const io::ModelInfo info{.task = Task::Multiclass};
  io::save_model(path("q.safetensors"), *q, info);
  const io::SafeTensorsFile f = io::read_safetensors(path("q.safetensors"));
  // A fresh copy to damage (Tensor copies share their storage).
  auto fresh = [&] { return io::read_safetensors(path("q.safetensors")); };
  auto rewrite = [&](const io::SafeTensorsFile& g, const std::map<std::string, std::string>& dtypes) {
    io::write_safetensors(path("bad.safetensors"), g.tensors, g.metadata, true, dtypes);
  };
  auto expect_refused = [&](const std::string& fragment) {
    try {
      io::load_model(path("bad.safetensors"));
      ADD_FAILURE() << "loaded; expected '" << fragment << "'";
    } catch (const io::ModelFileError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  // Unchanged: loads.
  rewrite(f, f.dtypes);
  EXPECT_NO_THROW(io::load_model(path("bad.safetensors")));
  // The weights stored as F32: a float model in disguise.
  rewrite(f, {});
  expect_refused("is stored as F32");
  // A zero point out of range; a negative weight scale; a missing array.
  {
    io::SafeTensorsFile g = fresh();
    for (auto& [name, t] : g.tensors)
      if (name == "q.0.input_quant") t[1] = 300.f;
    rewrite(g, f.dtypes);
    expect_refused("zero point");
  }
  {
    io::SafeTensorsFile g = fresh();
    for (auto& [name, t] : g.tensors)
      if (name == "q.2.weight_scale") t[0] = -1.f;
    rewrite(g, f.dtypes);
    expect_refused("not a positive scale");
  }
  {
    io::SafeTensorsFile g = fresh();
    g.tensors.erase(std::find_if(g.tensors.begin(), g.tensors.end(), [](const auto& nt) { return nt.first == "q.0.bias"; }));
    rewrite(g, f.dtypes);
    expect_refused("lacks array 'q.0.bias'");
  }
  // The value -128 is an I8 value but not a symmetric weight.
  {
    io::SafeTensorsFile g = fresh();
    for (auto& [name, t] : g.tensors)
      if (name == "q.0.weight") t[0] = -128.f;
    rewrite(g, f.dtypes);
    expect_refused("not an integer in -127..127");
  }
  // An I8 tensor in a float network's file.
  {
    io::save_model(path("float.safetensors"), *net, info);
    io::SafeTensorsFile g = io::read_safetensors(path("float.safetensors"));
    for (auto& [name, t] : g.tensors)
      if (name == "0.weight")
        for (int64_t i = 0; i < t.numel(); ++i) t[i] = std::round(t[i] * 10);
    rewrite(g, {{"0.weight", "I8"}});
    expect_refused("only a quantized model's weights are stored other than F32");
  }
  // A flipped byte in an I8 tensor fails its checksum.
  {
    std::ifstream in(path("q.safetensors"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    bytes[bytes.size() - 1] ^= 0x01;  // the last tensor's last byte
    std::ofstream(path("bad.safetensors"), std::ios::binary) << bytes;
    expect_refused("fails its checksum");
  }
  // Writing a value the narrow dtype cannot hold is refused before anything is written.
  {
    io::SafeTensorsFile g = fresh();
    for (auto& [name, t] : g.tensors)
      if (name == "q.0.weight") t[0] = 0.5f;
    EXPECT_THROW(rewrite(g, f.dtypes), io::ModelFileError);
  }
}

// Accuracy on Fashion-MNIST: an MLP of the main job's shape (784-256-128-10, ReLU, the standardised
// pixels) and LeNet-5, briefly trained here, then quantized: test accuracy within 0.3 points of
// float32 for the MLP (bf16 and int8) and within 0.5 for LeNet-5 int8 (the issue's bounds).
// scripts/bench_quant.sh measures the fully trained main-job model.
TEST(QuantizedAccuracy, FashionMnistWithinTheIssuesBounds) {
  if (!data::fashion_mnist_available()) GTEST_SKIP() << "Fashion-MNIST not installed (dataset-fashion-mnist)";
  data::Dataset train = data::load_fashion_mnist(data::kFashionMnistDir, "train");
  data::Dataset test = data::load_fashion_mnist(data::kFashionMnistDir, "test");
  const float center = 0.286040614f, inv_scale = 1.f / 0.353024267f;
  for (data::Dataset* d : {&train, &test})
    for (int64_t i = 0; i < d->x.numel(); ++i) d->x[i] = (d->x[i] - center) * inv_scale;
  auto accuracy = [&](nn::Module& m) {
    const Tensor out = train::outputs(m, test.x);
    int64_t right = 0;
    for (int64_t i = 0; i < out.dim(0); ++i) {
      const float* r = out.data() + i * 10;
      right += (std::max_element(r, r + 10) - r) == test.labels[static_cast<size_t>(i)];
    }
    return 100.0 * static_cast<double>(right) / static_cast<double>(out.dim(0));
  };
  std::vector<int64_t> rows(20000);
  std::iota(rows.begin(), rows.end(), 0);
  const Tensor x = gather_rows(train.x, rows.data(), static_cast<int64_t>(rows.size()));
  train::Targets y;
  y.classes.assign(train.labels.begin(), train.labels.begin() + static_cast<std::ptrdiff_t>(rows.size()));
  std::vector<int64_t> cal(1000);
  std::iota(cal.begin(), cal.end(), 30000);  // calibration rows apart from the ones trained on
  const Tensor calib = gather_rows(train.x, cal.data(), 1000);

  nn::MLPConfig mc;
  mc.inputs = 784;
  mc.hidden = {256, 128};
  mc.activations = {nn::Act::ReLU};
  mc.outputs = 10;
  auto mlp = nn::make_mlp(mc);
  auto lenet = nn::make_lenet5({.input = Shape{784}});
  for (auto [net, epochs, bound] : {std::tuple<nn::Module*, int, double>{mlp.get(), 2, 0.3},
                                    std::tuple<nn::Module*, int, double>{lenet.get(), 1, 0.5}}) {
    optim::Adam opt(net->parameters(), {1e-3f});
    train::FitOptions fo;
    fo.epochs = epochs;
    fo.batch_size = 128;
    train::fit(*net, Task::Multiclass, x, y, opt, fo);
    net->set_training(false);
    const double base = accuracy(*net);
    EXPECT_GT(base, 80.0);  // trained: the comparison means something
    for (QuantDtype dt : {QuantDtype::BF16, QuantDtype::Int8}) {
      if (net == lenet.get() && dt == QuantDtype::BF16) continue;
      auto q = QuantizedNet::quantize(*net, {.dtype = dt, .calibration = calib});
      const double acc = accuracy(*q);
      std::printf("# %s %s: test accuracy %.2f %%, float32 %.2f %%\n", net == mlp.get() ? "MLP" : "LeNet-5",
                  nn::to_string(dt).c_str(), acc, base);
      EXPECT_LE(std::fabs(acc - base), bound) << (net == mlp.get() ? "MLP " : "LeNet-5 ") << nn::to_string(dt) << ": "
                                              << acc << " against float32 " << base;
    }
  }
}

}  // namespace
