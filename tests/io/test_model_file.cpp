// Model files: a model saved, loaded and evaluated again predicts bit for bit the same; a
// file that does not hold a valid model for its architecture is refused with a clear message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backprop/data/csv.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/util/rng.hpp"
#include "io_test_util.hpp"

namespace {

using bp::Tensor;
using bp::Var;
using bp::io::ModelFileError;
using bp::iotest::expect_refused;
using bp::iotest::TempDir;
namespace io = bp::io;
namespace it = bp::iotest;
namespace nn = bp::nn;
using bp::Task;
using nlohmann::json;

// An MLP whose weights are random (not the seeded initialisation), as after training.
std::unique_ptr<nn::Sequential> trained_mlp(uint64_t seed = 7, nn::Act second = nn::Act::ReLU) {
  auto net = nn::make_mlp({.inputs = 5,
                           .hidden = {8, 6},
                           .activations = {nn::Act::Tanh, second},
                           .outputs = 3,
                           .task = Task::Multiclass,
                           .seed = seed});
  bp::Rng rng(seed * 31 + 1);
  for (auto& p : net->parameters())
    for (int64_t i = 0; i < p.numel(); ++i) p.value()[i] = static_cast<float>(rng.normal(0.0, 0.7));
  return net;
}

Tensor inputs() {
  bp::Rng rng(99);
  Tensor x({16, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform(-3, 3));
  return x;
}

Tensor predict(nn::Module& m, const Tensor& x) {
  bp::autograd::NoGradGuard ng;
  m.set_training(false);
  return m.forward(Var(x)).value().clone();
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

// The preprocessing of a table with 5 encoded features (a categorical column of 3 values and
// two numeric ones) and 3 classes, as the data module writes it: it fits trained_mlp().
json sample_preprocessing() {
  const bp::data::Table t = bp::data::parse_csv(
      "colour,size,weight,species\n"
      "red,1.5,0.1234567890123,setosa\n"
      "green,2.5,3.0e-7,versicolor\n"
      "blau\xc3\x9f,,7,virginica \xc3\xa9\n"
      "red,4,1,setosa\n",
      "sample.csv");
  const auto p = bp::data::Preprocessor::fit(t, {.target = "species"});
  return {{"kind", "csv"}, {"preprocessor", p.to_json()}};
}

io::ModelInfo sample_info() {
  io::ModelInfo info;
  info.task = Task::Multiclass;
  info.class_names = {"setosa", "versicolor", "virginica \xc3\xa9"};
  info.preprocessing = sample_preprocessing();
  info.extra = {{"epochs", 12}, {"note", "first try"}, {"temperature", 1.3700000047683716}};
  return info;
}

TEST(IoModel, RoundTripGivesBitIdenticalPredictions) {
  TempDir dir;
  auto net = trained_mlp();
  const Tensor x = inputs();
  const Tensor before = predict(*net, x);
  io::save_model(dir / "m.safetensors", *net, sample_info());

  io::ModelFile m = io::load_model(dir / "m.safetensors");
  ASSERT_NE(m.module, nullptr);
  EXPECT_FALSE(m.module->training()) << "loaded in eval mode";
  EXPECT_EQ(m.module->config(), net->config());
  EXPECT_EQ(m.format_version, io::kFormatVersion);
  EXPECT_EQ(m.library_version, io::kLibraryVersion);
  const io::ModelInfo want = sample_info();
  EXPECT_EQ(m.info.task, want.task);
  EXPECT_EQ(m.info.class_names, want.class_names);
  EXPECT_EQ(m.info.preprocessing, want.preprocessing);
  EXPECT_TRUE(m.info.calibrator.is_null());
  EXPECT_EQ(m.info.extra["temperature"].get<double>(), 1.3700000047683716) << "doubles survive exactly";
  EXPECT_EQ(m.info.extra, want.extra);

  auto a = net->parameters(), b = m.module->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(bit_identical(a[i].value(), b[i].value())) << "parameter " << i;
  EXPECT_TRUE(bit_identical(predict(*m.module, x), before));

  // Saving the loaded model writes the same bytes: the writer is deterministic.
  io::save_model(dir / "again.safetensors", m);
  EXPECT_EQ(it::read_bytes(dir / "again.safetensors"), it::read_bytes(dir / "m.safetensors"));
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.safetensors", "again.safetensors"}));
}

TEST(IoModel, EveryTaskAndEmptyInfoRoundTrip) {
  TempDir dir;
  for (Task t : {Task::Regression, Task::Binary, Task::Multiclass}) {
    auto net = nn::make_mlp({.inputs = 2, .hidden = {3}, .outputs = t == Task::Multiclass ? 3 : 1, .task = t});
    io::save_model(dir / "m.safetensors", *net, {.task = t});
    io::ModelFile m = io::load_model(dir / "m.safetensors");
    EXPECT_EQ(m.info.task, t);
    EXPECT_TRUE(m.info.class_names.empty());
    EXPECT_TRUE(m.info.preprocessing.is_null());
    EXPECT_TRUE(m.info.calibrator.is_null());
    EXPECT_TRUE(m.info.extra.is_null());
  }
}

TEST(IoModel, MetadataIsStringsWithJsonInside) {
  TempDir dir;
  auto net = trained_mlp();
  io::save_model(dir / "m.safetensors", *net, sample_info());
  const auto f = io::read_safetensors(dir / "m.safetensors");
  EXPECT_EQ(f.metadata.at("backprop.format_version"), "2");
  EXPECT_TRUE(f.has_checksums);
  EXPECT_EQ(f.metadata.count("backprop.checksums"), 0u) << "the reader takes the checksums out of the map";
  EXPECT_EQ(f.metadata.at("backprop.task"), "multiclass");
  EXPECT_EQ(json::parse(f.metadata.at("backprop.architecture")), net->config());
  EXPECT_EQ(json::parse(f.metadata.at("backprop.class_names")), json(sample_info().class_names));
  std::vector<std::string> names;
  for (const auto& [n, t] : f.tensors) names.push_back(n);
  EXPECT_EQ(names, net->parameter_names()) << "tensors in parameter order, named as parameter_names()";
}

TEST(IoModel, SaveRefusesNonFiniteWeightsAndKeepsTheOldFile) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  auto net = trained_mlp();
  io::save_model(p, *net, {});
  const std::string before = it::read_bytes(p);
  net->parameters()[2].value()[3] = std::nanf("");
  expect_refused([&] { io::save_model(p, *net, {}); }, p,
                 "tensor '2.weight' holds NaN or infinite values; refusing to save");
  net->parameters()[2].value()[3] = -INFINITY;
  expect_refused([&] { io::save_model(p, *net, {}); }, p, "NaN or infinite");
  EXPECT_EQ(it::read_bytes(p), before);
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.safetensors"}));
}

TEST(IoModel, SaveRefusesInvalidUtf8) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  auto net = trained_mlp();
  io::ModelInfo info;
  info.class_names = {"ok", "caf\xe9"};  // Latin-1, not UTF-8
  expect_refused([&] { io::save_model(p, *net, info); }, p, "cannot write metadata 'backprop.class_names'");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(IoModel, SaveIntoAMissingDirectoryThrowsAndCreatesNothing) {
  TempDir dir;
  auto net = trained_mlp();
  const auto p = dir / "missing" / "m.safetensors";
  expect_refused([&] { io::save_model(p, *net, {}); }, p, "No such file or directory");
  EXPECT_TRUE(dir.entries().empty());
}

// ---- refusing files that are not a valid model ----------------------------------------------

class IoModelCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = trained_mlp();
    io::save_model(good_path(), *net_, sample_info());
    good_ = io::read_safetensors(good_path());
  }
  std::filesystem::path good_path() const { return dir_ / "good.safetensors"; }
  // Writes the good file's tensors and metadata after `edit`, expects load_model to refuse it.
  template <class Edit>
  void expect_bad(Edit edit, const std::string& fragment) {
    io::SafeTensorsFile f = good_;
    edit(f);
    const auto p = dir_ / "bad.safetensors";
    io::write_safetensors(p, f.tensors, f.metadata, /*checksums=*/true);  // valid checksums: reach the later checks
    expect_refused([&] { io::load_model(p); }, p, fragment);
  }
  void expect_bad_meta(const std::string& key, const std::string& value, const std::string& fragment) {
    expect_bad([&](io::SafeTensorsFile& f) { f.metadata[key] = value; }, fragment);
  }
  TempDir dir_;
  std::unique_ptr<nn::Sequential> net_;
  io::SafeTensorsFile good_;
};

TEST_F(IoModelCorrupt, GoodFileLoads) { EXPECT_NO_THROW(io::load_model(good_path())); }

TEST_F(IoModelCorrupt, MissingFile) {
  expect_refused([&] { io::load_model(dir_ / "nope.safetensors"); }, dir_ / "nope.safetensors",
                 "No such file or directory");
}

TEST_F(IoModelCorrupt, NoMetadataOrNoFormatKey) {
  const auto p = dir_ / "bare.safetensors";
  io::write_safetensors(p, good_.tensors, {});  // no checksums either: no __metadata__ at all
  expect_refused([&] { io::load_model(p); }, p, "the header has no __metadata__");
  expect_bad(
      [](io::SafeTensorsFile& f) {
        f.metadata = {{"format", "pt"}};
      },
      "__metadata__ lacks 'backprop.format_version'");
}

TEST_F(IoModelCorrupt, UnknownOrNewerFormatVersion) {
  expect_bad_meta("backprop.format_version", "3",
                  "format version 3 is newer than this build of backprop reads (up to 2)");
  expect_bad_meta("backprop.format_version", "1000000000000", "format version 1000000000000 is newer");
  expect_bad_meta("backprop.format_version", "1.0", "format version '1.0' is not a number");
  expect_bad_meta("backprop.format_version", "", "is not a number");
  expect_bad_meta("backprop.format_version", "0", "format version 0 is invalid");
}

TEST_F(IoModelCorrupt, BadArchitecture) {
  expect_bad([](io::SafeTensorsFile& f) { f.metadata.erase("backprop.architecture"); },
             "lacks 'backprop.architecture'");
  expect_bad_meta("backprop.architecture", "{\"type\": ", "metadata 'backprop.architecture' is not valid JSON");
  expect_bad_meta("backprop.architecture", R"({"type": "transformer"})",
                  "the architecture is invalid: unknown layer type 'transformer'");
  expect_bad_meta("backprop.architecture", R"({"type": "linear", "in": 5})",
                  "the architecture is invalid: layer config lacks '");
  expect_bad_meta("backprop.architecture", "[1, 2]", "the architecture is invalid");
}

TEST_F(IoModelCorrupt, BadTaskOrClassNamesOrJsonMetadata) {
  expect_bad([](io::SafeTensorsFile& f) { f.metadata.erase("backprop.task"); }, "lacks 'backprop.task'");
  expect_bad_meta("backprop.task", "ranking", "metadata 'backprop.task': unknown task 'ranking'");
  expect_bad_meta("backprop.class_names", R"({"a": 1})", "'backprop.class_names' is not an array");
  expect_bad_meta("backprop.class_names", R"(["a", 2])", "'backprop.class_names' holds a non-string: 2");
  expect_bad_meta("backprop.preprocessing", "{oops", "metadata 'backprop.preprocessing' is not valid JSON");
  expect_bad_meta("backprop.calibrator", "", "metadata 'backprop.calibrator' is not valid JSON");
}

TEST_F(IoModelCorrupt, TensorsThatDoNotFitTheArchitecture) {
  expect_bad([](io::SafeTensorsFile& f) { f.tensors.pop_back(); },
             "the file does not fit the architecture: it lacks tensor '4.bias'");
  expect_bad([](io::SafeTensorsFile& f) { f.tensors.emplace_back("5.weight", Tensor({1}, 0.f)); },
             "it has tensor '5.weight', which the architecture does not have");
  expect_bad([](io::SafeTensorsFile& f) { f.tensors[0].first = "0.weights"; }, "it lacks tensor '0.weight'");
  expect_bad(
      [](io::SafeTensorsFile& f) {
        f.tensors[0].second = Tensor({5, 8});
      },
      "tensor '0.weight' has shape (5, 8) where the architecture has (8, 5)");
  // The weights of this model under the architecture of another one.
  auto other = nn::make_mlp({.inputs = 5, .hidden = {9}, .outputs = 3});
  expect_bad([&](io::SafeTensorsFile& f) { f.metadata["backprop.architecture"] = other->config().dump(); },
             "tensor '0.weight' has shape (8, 5) where the architecture has (9, 5)");
}

TEST_F(IoModelCorrupt, NonFiniteWeightsEditedIntoTheBytes) {
  // Byte surgery on the good file: the first float of the data buffer becomes NaN, then +Inf.
  // The checksum catches it; with the checksums recomputed (a writer that saved a NaN), the
  // finiteness check does.
  const std::string good = it::read_bytes(good_path());
  const size_t data = 8 + it::get_u64_le(good);
  for (float v : {std::nanf(""), INFINITY}) {
    std::string bad = good;
    bad.replace(data, 4, reinterpret_cast<const char*>(&v), 4);
    const auto p = dir_ / "nan.safetensors";
    it::write_bytes(p, bad);
    expect_refused([&] { io::load_model(p); }, p, "tensor '0.weight' fails its checksum: the file is corrupt");
    expect_bad(
        [&](io::SafeTensorsFile& f) {
          f.tensors[0].second = f.tensors[0].second.clone();
          f.tensors[0].second[0] = v;
        },
               "tensor '0.weight' holds NaN or infinite values");
  }
}

TEST_F(IoModelCorrupt, ContainerDamageIsReportedByLoadModelToo) {
  const std::string good = it::read_bytes(good_path());
  const auto p = dir_ / "cut.safetensors";
  it::write_bytes(p, good.substr(0, good.size() - 3));
  expect_refused([&] { io::load_model(p); }, p, "truncated");
  it::write_bytes(p, "not a model file at all, just some text");
  expect_refused([&] { io::load_model(p); }, p, "exceeds the 100 MB limit");
}

// ---- load_weights ----------------------------------------------------------------------------

TEST(IoWeights, LoadsIntoAModuleOfTheSameArchitecture) {
  TempDir dir;
  auto net = trained_mlp(7);
  io::save_model(dir / "m.safetensors", *net, {});
  auto fresh = trained_mlp(8);  // same architecture, other weights
  const Tensor x = inputs();
  ASSERT_FALSE(bit_identical(predict(*fresh, x), predict(*net, x)));
  io::load_weights(dir / "m.safetensors", *fresh);
  EXPECT_TRUE(bit_identical(predict(*fresh, x), predict(*net, x)));
  // A bare weights file (no metadata) loads too.
  io::NamedTensors t;
  auto params = net->parameters();
  auto names = net->parameter_names();
  for (size_t i = 0; i < params.size(); ++i) t.emplace_back(names[i], params[i].value());
  io::write_safetensors(dir / "bare.safetensors", t, {});
  auto third = trained_mlp(9);
  io::load_weights(dir / "bare.safetensors", *third);
  EXPECT_TRUE(bit_identical(predict(*third, x), predict(*net, x)));
}

TEST(IoWeights, RefusesAnotherArchitectureAndChangesNothing) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  io::save_model(p, *trained_mlp(7, nn::Act::ReLU), {});
  const Tensor x = inputs();
  // Same shapes, another activation: only the recorded architecture tells them apart.
  auto sigmoid_net = trained_mlp(8, nn::Act::Sigmoid);
  const Tensor before = predict(*sigmoid_net, x);
  expect_refused([&] { io::load_weights(p, *sigmoid_net); }, p, "the file's architecture differs from the module's");
  EXPECT_TRUE(bit_identical(predict(*sigmoid_net, x), before));
  // Other shapes, from a bare weights file.
  io::write_safetensors(dir / "bare.safetensors", {{"0.weight", Tensor({8, 5})}, {"0.bias", Tensor({8})}}, {});
  auto net = trained_mlp(8);
  expect_refused([&] { io::load_weights(dir / "bare.safetensors", *net); }, dir / "bare.safetensors",
                 "it lacks tensor '2.weight'");
  EXPECT_TRUE(bit_identical(predict(*net, x), predict(*trained_mlp(8), x))) << "nothing copied";
}

}  // namespace
