// Model files that cannot silently load wrong: a checksum of the header and of every tensor
// (format version 2) catches accidental damage, naming the tensor; the metadata fields are
// checked against each other (task, class names, preprocessing, architecture, calibrator), each
// disagreement naming the two fields; a version-1 file (no checksums) still loads and predicts
// what the version that wrote it predicted.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "../test_util.hpp"
#include "backprop/data/csv.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/models.hpp"
#include "backprop/util/rng.hpp"
#include "io_test_util.hpp"

namespace {

using bp::Shape;
using bp::Task;
using bp::Tensor;
using bp::Var;
using bp::iotest::expect_refused;
using bp::iotest::TempDir;
namespace fs = std::filesystem;
namespace io = bp::io;
namespace it = bp::iotest;
namespace nn = bp::nn;
using nlohmann::json;
using ojson = nlohmann::ordered_json;

// 5 encoded features (3 colours, 2 numbers), 3 classes; and 2 features, 2 classes.
const char* kIrisCsv =
    "colour,size,weight,species\n"
    "red,1.5,0.5,setosa\ngreen,2.5,1,versicolor\nblue,3,7,virginica\nred,4,1,setosa\n";
const char* kBinaryCsv = "x,y,label\n1,2,no\n2,3,yes\n3,1,no\n4,4,yes\n";

json csv_preprocessing(const char* csv, const std::string& target) {
  const auto p = bp::data::Preprocessor::fit(bp::data::parse_csv(csv, "t.csv"), {.target = target});
  return {{"kind", "csv"}, {"preprocessor", p.to_json()}};
}

std::unique_ptr<nn::Sequential> mlp(int64_t inputs, int64_t outputs, Task task) {
  auto net = nn::make_mlp({.inputs = inputs, .hidden = {4}, .outputs = outputs, .task = task, .seed = 3});
  bp::Rng rng(17);
  for (auto& p : net->parameters())
    for (int64_t i = 0; i < p.numel(); ++i) p.value()[i] = static_cast<float>(rng.normal(0.0, 0.7));
  return net;
}

io::ModelInfo iris_info() {
  return {.task = Task::Multiclass,
          .class_names = {"setosa", "versicolor", "virginica"},
          .preprocessing = csv_preprocessing(kIrisCsv, "species")};
}

class IoIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = mlp(5, 3, Task::Multiclass);
    io::save_model(good_path(), *net_, iris_info());
    good_bytes_ = it::read_bytes(good_path());
  }
  fs::path good_path() const { return dir_ / "model.safetensors"; }
  fs::path bad_path() const { return dir_ / "bad.safetensors"; }

  // The good file with its header JSON edited by `edit` (checksums left as they were).
  template <class Edit>
  void write_header_edit(Edit edit) {
    const it::Parts parts = it::split(good_bytes_);
    ojson h = parts.json();
    edit(h);
    std::string text = h.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    it::write_bytes(bad_path(), it::join(text, parts.data));
  }
  // Saves `net` with `info` (so with valid checksums) and expects load_model to refuse it.
  void expect_inconsistent(nn::Module& net, const io::ModelInfo& info, const std::string& fragment) {
    io::save_model(bad_path(), net, info);
    expect_refused([&] { io::load_model(bad_path()); }, bad_path(), fragment);
  }

  TempDir dir_;
  std::unique_ptr<nn::Sequential> net_;
  std::string good_bytes_;
};

// ---- checksums --------------------------------------------------------------------------------

TEST_F(IoIntegrity, AnUntouchedFileLoadsWithItsChecksums) {
  const auto f = io::read_safetensors(good_path());
  EXPECT_TRUE(f.has_checksums);
  const io::ModelFile m = io::load_model(good_path());
  EXPECT_EQ(m.format_version, 2);
  EXPECT_EQ(m.info.class_names, iris_info().class_names);
}

TEST_F(IoIntegrity, OneFlippedBitInAnyTensorIsRefusedNamingTheTensor) {
  const it::Parts parts = it::split(good_bytes_);
  const size_t data_start = 8 + parts.header.size();
  int checked = 0;
  const ojson header = parts.json();
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const size_t begin = entry["data_offsets"][0].get<size_t>(), end = entry["data_offsets"][1].get<size_t>();
    ASSERT_LT(begin, end) << name;
    // The highest exponent bit of the tensor's last float: the value changes by a factor of 2^128
    // or so, or becomes tiny; either way no other check would notice a finite result.
    std::string bad = good_bytes_;
    bad[data_start + end - 1] ^= 0x40;
    it::write_bytes(bad_path(), bad);
    expect_refused([&] { io::load_model(bad_path()); }, bad_path(),
                   "tensor '" + name + "' fails its checksum: the file is corrupt");
    expect_refused([&] { io::read_safetensors(bad_path()); }, bad_path(), "tensor '" + name + "' fails its checksum");
    // The lowest mantissa bit of its first float, the smallest change there is.
    bad = good_bytes_;
    bad[data_start + begin] ^= 0x01;
    it::write_bytes(bad_path(), bad);
    expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "tensor '" + name + "' fails its checksum");
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST_F(IoIntegrity, AChangedDigitInTheMetadataIsRefused) {
  // A digit of the preprocessing's standardisation, edited in place: still valid JSON, still a
  // valid preprocessor, so only the checksum can tell.
  const size_t at = good_bytes_.find("center");
  ASSERT_NE(at, std::string::npos);
  const size_t digit = good_bytes_.find_first_of("123456789", at);
  std::string bad = good_bytes_;
  bad[digit] = bad[digit] == '9' ? '8' : static_cast<char>(bad[digit] + 1);
  it::write_bytes(bad_path(), bad);
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(),
                 "the header fails its checksum (stored ");
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "the file is corrupt or its metadata was edited by hand");

  // The class names swapped by hand, and the task changed: the header checksum again.
  write_header_edit([](ojson& h) {
    h["__metadata__"]["backprop.class_names"] = R"(["versicolor","setosa","virginica"])";
  });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "the header fails its checksum");
  write_header_edit([](ojson& h) { h["__metadata__"]["backprop.format_version"] = "1"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "the header fails its checksum");
  // A tensor entry's shape, with the offsets still tiling the buffer: (3, 4) → (4, 3).
  write_header_edit([](ojson& h) { h["2.weight"]["shape"] = {4, 3}; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "the header fails its checksum");
}

TEST_F(IoIntegrity, TheHeaderChecksumIsOfTheMeaningNotTheSpelling) {
  // Another key order, indentation, escapes: the same header to the checksum.
  write_header_edit([](ojson& h) {
    ojson reordered = ojson::object();
    std::vector<std::string> keys;
    for (const auto& [k, v] : h.items()) keys.push_back(k);
    for (auto k = keys.rbegin(); k != keys.rend(); ++k) reordered[*k] = h[*k];
    h = reordered;
  });
  EXPECT_NO_THROW(io::load_model(bad_path()));
  const it::Parts parts = it::split(good_bytes_);
  std::string pretty = parts.json().dump(2, ' ', /*ensure_ascii=*/true);
  pretty.append((8 - pretty.size() % 8) % 8, ' ');
  it::write_bytes(bad_path(), it::join(pretty, parts.data));
  EXPECT_NO_THROW(io::load_model(bad_path()));
}

TEST_F(IoIntegrity, ADamagedChecksumsEntryIsRefused) {
  auto edit_sums = [&](auto change) {
    write_header_edit([&](ojson& h) {
      json c = json::parse(h["__metadata__"]["backprop.checksums"].get<std::string>());
      change(c);
      h["__metadata__"]["backprop.checksums"] = c.dump();
    });
  };
  edit_sums([](json& c) { c["algorithm"] = "md5"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "this build of backprop knows only \"crc32\"");
  edit_sums([](json& c) { c["tensors"].erase("0.bias"); });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "tensor '0.bias' has no checksum");
  edit_sums([](json& c) { c["tensors"]["9.weight"] = "00000000"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(),
                 "a checksum for tensor '9.weight', which the file does not have");
  edit_sums([](json& c) { c["header"] = "0123456G"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "not 8 hexadecimal digits");
  edit_sums([](json& c) { c["tensors"]["0.bias"] = "ABCDEF01"; });  // upper case: not as written
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "not 8 hexadecimal digits");
  edit_sums([](json& c) { c["tensors"]["0.bias"] = std::string(c["tensors"]["0.bias"]) == "00000000" ? "00000001" : "00000000"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "tensor '0.bias' fails its checksum");
  write_header_edit([](ojson& h) { h["__metadata__"]["backprop.checksums"] = "{"; });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(), "metadata 'backprop.checksums' is not valid JSON");
  // Gone altogether: a version-2 file must have them.
  write_header_edit([](ojson& h) { h["__metadata__"].erase("backprop.checksums"); });
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(),
                 "format version 2 requires 'backprop.checksums' in __metadata__, which is missing");
}

TEST_F(IoIntegrity, TheWriterReservesTheChecksumsKeyAndOtherReadersSeeAPlainString) {
  expect_refused([&] { io::write_safetensors(bad_path(), {}, {{"backprop.checksums", "x"}}); }, bad_path(),
                 "'backprop.checksums' is reserved");
  // To a reader that knows nothing of it, the entry is one more string in __metadata__.
  const ojson h = it::split(good_bytes_).json();
  ASSERT_TRUE(h["__metadata__"]["backprop.checksums"].is_string());
  const json c = json::parse(h["__metadata__"]["backprop.checksums"].get<std::string>());
  EXPECT_EQ(c["algorithm"], "crc32");
  EXPECT_EQ(c["tensors"].size(), 4u);
  // Bare tensor files get checksums on request, and read_safetensors verifies them.
  io::write_safetensors(dir_ / "t.safetensors", {{"w", Tensor({2, 2}, 1.5f)}}, {}, /*checksums=*/true);
  EXPECT_TRUE(io::read_safetensors(dir_ / "t.safetensors").has_checksums);
  EXPECT_TRUE(io::read_safetensors(dir_ / "t.safetensors").metadata.empty());
}

// The CRC-32 is zlib's (Python's zlib.crc32): the standard check value.
TEST(IoChecksum, Crc32IsTheStandardOne) {
  EXPECT_EQ(io::crc32_of("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(io::crc32_of("", 0), 0u);
  EXPECT_EQ(io::crc32_of("6789", 4, io::crc32_of("12345", 5)), 0xCBF43926u) << "chained";
}

// ---- cross-checks ------------------------------------------------------------------------------

TEST_F(IoIntegrity, ClassNamesSwappedRelativeToThePreprocessorAreRefused) {
  io::ModelInfo info = iris_info();
  std::swap(info.class_names[0], info.class_names[1]);
  expect_inconsistent(*net_, info,
                      "metadata 'backprop.class_names' [\"versicolor\",\"setosa\",\"virginica\"] disagrees with "
                      "'backprop.preprocessing', whose classes are [\"setosa\",\"versicolor\",\"virginica\"] "
                      "(names and order must agree)");
  info.class_names = {"setosa", "versicolor", "virginica", "rosea"};
  expect_inconsistent(*net_, info, "disagrees with 'backprop.preprocessing', whose classes are");
  info.class_names = {};
  expect_inconsistent(*net_, info, "disagrees with 'backprop.preprocessing', whose classes are");
}

TEST_F(IoIntegrity, ClassNamesAgainstTheTaskAndTheOutputs) {
  // Without preprocessing, the class names and the task against the network's outputs.
  io::ModelInfo info{.task = Task::Multiclass, .class_names = {"a", "b"}};
  expect_inconsistent(*net_, info,
                      "metadata 'backprop.architecture' (3 outputs) disagrees with 'backprop.class_names' (2 names)");
  info.class_names = {"a", "b", "a"};
  expect_inconsistent(*net_, info, "metadata 'backprop.class_names' has 'a' twice");
  info.class_names = {"a"};
  expect_inconsistent(*net_, info, "'backprop.class_names' (1 name) disagrees with 'backprop.task' (multiclass)");
  info = {.task = Task::Binary, .class_names = {"a", "b", "c"}};
  expect_inconsistent(*net_, info, "'backprop.class_names' (3 names) disagrees with 'backprop.task' (binary)");
  info = {.task = Task::Binary};
  expect_inconsistent(*net_, info,
                      "metadata 'backprop.architecture' (3 outputs) disagrees with 'backprop.task' (binary), which "
                      "needs 1 output");
  info = {.task = Task::Regression, .class_names = {"a", "b", "c"}};
  expect_inconsistent(*net_, info, "disagrees with 'backprop.task' (regression): a regression model has no classes");
  auto one = mlp(5, 1, Task::Regression);
  expect_inconsistent(*one, {.task = Task::Multiclass},
                      "'backprop.architecture' (1 output) disagrees with 'backprop.task' (multiclass), which needs 2 "
                      "or more");
}

TEST_F(IoIntegrity, ThePreprocessingAgainstTheTaskAndTheInputWidth) {
  // The task.
  io::ModelInfo info = iris_info();
  info.task = Task::Binary;
  info.class_names = {};
  auto binary = mlp(5, 1, Task::Binary);
  expect_inconsistent(*binary, info, "metadata 'backprop.task' (binary) disagrees with 'backprop.preprocessing' (multiclass)");
  // The input width: the preprocessing encodes 5 features, this network takes 4.
  auto narrow = mlp(4, 3, Task::Multiclass);
  expect_inconsistent(*narrow, iris_info(),
                      "metadata 'backprop.architecture' does not take the 5 input features that "
                      "'backprop.preprocessing' encodes");
  // A preprocessing the data module refuses, or of an unknown kind.
  info = iris_info();
  info.preprocessing["preprocessor"]["task"] = "ranking";
  expect_inconsistent(*net_, info, "metadata 'backprop.preprocessing' is invalid: preprocessor json");
  info.preprocessing = {{"kind", "parquet"}};
  expect_inconsistent(*net_, info, "metadata 'backprop.preprocessing' is invalid: preprocessor json: unknown 'kind' 'parquet'");
  info.preprocessing = json::array();
  expect_inconsistent(*net_, info, "metadata 'backprop.preprocessing' is invalid: preprocessor json: expected an object");
  // Fashion-MNIST: 784 inputs and its ten classes.
  info = {.task = Task::Multiclass, .preprocessing = {{"kind", "fashion-mnist"}, {"center", 0.28}, {"scale", 0.35}}};
  auto images = mlp(784, 10, Task::Multiclass);
  expect_inconsistent(*images, info, "whose classes are [\"T-shirt/top\"");
  info.class_names = {};
  for (const auto& n : std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                                "Shirt", "Sneaker", "Bag", "Ankle boot"})
    info.class_names.push_back(n);
  io::save_model(dir_ / "fashion.safetensors", *images, info);
  EXPECT_NO_THROW(io::load_model(dir_ / "fashion.safetensors"));
  info.preprocessing["scale"] = 0;
  expect_inconsistent(*images, info, "'backprop.preprocessing' is invalid: preprocessor json: field 'scale' must be positive");
}

TEST_F(IoIntegrity, ACalibratorOnlyForABinaryModelAndAValidOne) {
  io::ModelInfo info = iris_info();
  info.calibrator = {{"type", "platt"}, {"a", -1.0}, {"b", 0.0}};
  expect_inconsistent(*net_, info,
                      "metadata 'backprop.calibrator' disagrees with 'backprop.task' (multiclass): only a binary "
                      "model can have a calibrator");
  auto binary = mlp(2, 1, Task::Binary);
  io::ModelInfo b{.task = Task::Binary, .class_names = {"no", "yes"}, .preprocessing = csv_preprocessing(kBinaryCsv, "label")};
  io::save_model(dir_ / "binary.safetensors", *binary, b);
  EXPECT_NO_THROW(io::load_model(dir_ / "binary.safetensors"));
  b.calibrator = {{"type", "temperature"}};
  expect_inconsistent(*binary, b, "metadata 'backprop.calibrator' is invalid: calibrator json: unknown type");
}

TEST_F(IoIntegrity, AHugeArchitectureIsRefusedBeforeItIsBuilt) {
  // A few digits edited (and the checksums recomputed): building this would allocate 40 GB.
  io::SafeTensorsFile f = io::read_safetensors(good_path());
  f.metadata["backprop.architecture"] =
      R"({"type":"sequential","layers":[{"type":"linear","in":100000,"out":100000,"bias":true}]})";
  io::write_safetensors(bad_path(), f.tensors, f.metadata, /*checksums=*/true);
  expect_refused([&] { io::load_model(bad_path()); }, bad_path(),
                 "the file does not fit the architecture: 'backprop.architecture' needs at least 10000000000 "
                 "weights, the file holds 39");
  expect_refused([&] { io::load_weights(bad_path(), *net_); }, bad_path(), "needs at least 10000000000 weights");
}

TEST_F(IoIntegrity, WeightsThatPredictNaNAreRefused) {
  // A batch norm whose running variance is negative: finite weights, NaN predictions.
  bp::Rng rng(1);
  auto net = nn::module_from_config(
      json::parse(R"({"type": "sequential", "layers": [
          {"type": "batch_norm1d", "channels": 5, "momentum": 0.1, "eps": 1e-5, "affine": false},
          {"type": "linear", "in": 5, "out": 3, "bias": true}]})"),
      rng);
  io::save_model(dir_ / "bn.safetensors", *net, iris_info());
  EXPECT_NO_THROW(io::load_model(dir_ / "bn.safetensors"));
  for (Tensor* b : net->buffers())
    if (b->numel() == 5 && (*b)[0] == 1.f) (*b)[2] = -1.f;  // the running variance (starts at 1)
  expect_inconsistent(*net, iris_info(), "the weights give NaN or infinite outputs for an input of zeros");
}

// ---- a version-1 file -------------------------------------------------------------------------

// tests/fixtures/io/model_v1.safetensors was written by backprop at format version 1 (commit
// 804ebba, before the checksums) with
//   backprop train --data model_v1_data.csv --target kind --hidden 3 --epochs 2 -o model_v1.safetensors
// and model_v1_predictions.csv by `backprop predict -m model_v1.safetensors --data model_v1_data.csv`
// with that same build. It must keep loading, and predicting the same.
TEST(IoFormatVersion1, AFileWithoutChecksumsStillLoadsAndPredictsAsBefore) {
  const std::string path = bp::testing::source_path("tests/fixtures/io/model_v1.safetensors");
  EXPECT_FALSE(io::read_safetensors(path).has_checksums);
  io::ModelFile m = io::load_model(path);
  EXPECT_EQ(m.format_version, 1);
  EXPECT_EQ(m.info.task, Task::Multiclass);
  EXPECT_EQ(m.info.class_names, (std::vector<std::string>{"large", "medium", "small"}));

  const auto pre = bp::data::Preprocessor::from_json(m.info.preprocessing.at("preprocessor"));
  const Tensor x = pre.transform_features(
      bp::data::read_csv(bp::testing::source_path("tests/fixtures/io/model_v1_data.csv")));
  Tensor logits;
  {
    bp::autograd::NoGradGuard ng;
    logits = m.module->forward(Var(x)).value();
  }
  std::ifstream want(bp::testing::source_path("tests/fixtures/io/model_v1_predictions.csv"));
  std::string line;
  std::getline(want, line);
  EXPECT_EQ(line, "row,prediction,p_large,p_medium,p_small");
  int64_t rows = 0;
  for (; std::getline(want, line); ++rows) {
    ASSERT_LT(rows, x.dim(0));
    std::stringstream ss(line);
    std::string field;
    std::vector<std::string> f;
    while (std::getline(ss, field, ',')) f.push_back(field);
    ASSERT_EQ(f.size(), 5u) << line;
    // Softmax of the logits, to the 6 significant digits predict printed.
    const float* z = logits.data() + rows * 3;
    const double mx = std::max({z[0], z[1], z[2]});
    double e[3], sum = 0;
    for (int j = 0; j < 3; ++j) sum += e[j] = std::exp(z[j] - mx);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(e[j] / sum, std::stod(f[2 + j]), 1e-6) << "row " << rows << " class " << j;
  }
  EXPECT_EQ(rows, x.dim(0));
}

TEST(IoFormatVersion1, TheCrossChecksApplyToOldFilesToo) {
  TempDir dir;
  const std::string good = it::read_bytes(bp::testing::source_path("tests/fixtures/io/model_v1.safetensors"));
  const it::Parts parts = it::split(good);
  ojson h = parts.json();
  h["__metadata__"]["backprop.class_names"] = R"(["medium","large","small"])";
  it::write_bytes(dir / "v1.safetensors", it::join(h, parts.data));
  expect_refused([&] { io::load_model(dir / "v1.safetensors"); }, dir / "v1.safetensors",
                 "metadata 'backprop.class_names' [\"medium\",\"large\",\"small\"] disagrees with "
                 "'backprop.preprocessing'");
}

}  // namespace
