// The safetensors container: round trips, the byte layout the spec prescribes, refusal of
// every kind of damaged file, and atomic writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "backprop/io/safetensors.hpp"
#include "io_test_util.hpp"

namespace {

using bp::Shape;
using bp::Tensor;
using bp::io::ModelFileError;
using bp::iotest::expect_refused;
using bp::iotest::TempDir;
namespace io = bp::io;
namespace it = bp::iotest;
using ojson = nlohmann::ordered_json;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

io::NamedTensors sample() {
  return {{"w", Tensor({2, 3}, {1, -2, 3.5f, 0, 1e-30f, -7})},
          {"b", Tensor({3}, {0.25f, -0.0f, std::numeric_limits<float>::denorm_min()})},
          {"scalar", Tensor(Shape{}, {42.f})},
          {"empty", Tensor({0, 4})}};
}

TEST(IoSafetensors, RoundTripKeepsNamesShapesBitsAndMetadata) {
  TempDir dir;
  auto tensors = sample();
  tensors.emplace_back("nan", Tensor({2}, {std::nanf(""), -std::numeric_limits<float>::infinity()}));
  io::write_safetensors(dir / "t.safetensors", tensors, {{"k", "v"}, {"json", R"({"a":[1,2]})"}});
  const auto f = io::read_safetensors(dir / "t.safetensors");
  EXPECT_TRUE(f.has_metadata);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"k", "v"}, {"json", R"({"a":[1,2]})"}}));
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(f.tensors[i].first, tensors[i].first);  // data order = write order
    const Tensor& a = f.tensors[i].second;
    const Tensor& b = tensors[i].second;
    ASSERT_EQ(a.shape(), b.shape()) << tensors[i].first;
    for (int64_t j = 0; j < a.numel(); ++j) EXPECT_EQ(bits(a[j]), bits(b[j])) << tensors[i].first << "[" << j << "]";
  }
  ASSERT_NE(f.find("scalar"), nullptr);
  EXPECT_EQ(f.find("scalar")->item(), 42.f);
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(IoSafetensors, NoMetadataMeansNoMetadataEntry) {
  TempDir dir;
  io::write_safetensors(dir / "t.safetensors", {{"x", Tensor({1}, {1.f})}}, {});
  EXPECT_FALSE(io::read_safetensors(dir / "t.safetensors").has_metadata);
  EXPECT_FALSE(it::split(it::read_bytes(dir / "t.safetensors")).json().contains("__metadata__"));
}

// The layout, checked byte by byte without our reader (and without torch or the
// safetensors package): any reader that follows the spec reads what we write.
TEST(IoSafetensors, LayoutFollowsTheSpecByteForByte) {
  TempDir dir;
  io::write_safetensors(dir / "t.safetensors", sample(), {{"k", "v"}});
  const std::string file = it::read_bytes(dir / "t.safetensors");
  const uint64_t n = it::get_u64_le(file);
  ASSERT_LE(8 + n, file.size());
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";
  const std::string header = file.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}') << "only spaces after the JSON";
  const auto h = nlohmann::json::parse(header);
  EXPECT_EQ(h.at("__metadata__"), (nlohmann::json{{"k", "v"}}));
  uint64_t pos = 0;
  for (const auto& [name, t] : sample()) {
    const auto& e = h.at(name);
    EXPECT_EQ(e.at("dtype"), "F32");
    EXPECT_EQ(e.at("shape").get<Shape>(), t.shape());
    EXPECT_EQ(e.at("data_offsets"), (nlohmann::json{pos, pos + 4 * t.numel()}));
    for (int64_t j = 0; j < t.numel(); ++j) {  // little-endian float32, whatever the host
      uint32_t u = 0;
      for (int k = 3; k >= 0; --k) u = (u << 8) | static_cast<unsigned char>(file[8 + n + pos + 4 * j + k]);
      EXPECT_EQ(u, bits(t[j])) << name << "[" << j << "]";
    }
    pos += 4 * t.numel();
  }
  EXPECT_EQ(8 + n + pos, file.size()) << "no trailing bytes";
}

TEST(IoSafetensors, ReadsTensorsInAnyOffsetOrderAndExtraEntryFields) {
  TempDir dir;
  // b before a in the buffer, header keys the other way round, an unknown field and padding.
  const std::string data = std::string("\x00\x00\x80\x3f", 4) + std::string("\x00\x00\x00\x40\x00\x00\x40\x40", 8);
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12],"note":1},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   )";
  it::write_bytes(dir / "t.safetensors", it::join(header, data));
  const auto f = io::read_safetensors(dir / "t.safetensors");
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "b");
  EXPECT_EQ(f.find("b")->to_vector(), (std::vector<float>{1.f}));
  EXPECT_EQ(f.find("a")->to_vector(), (std::vector<float>{2.f, 3.f}));
}

TEST(IoSafetensors, WriterRefusesBadNames) {
  TempDir dir;
  const auto p = dir / "t.safetensors";
  expect_refused(
      [&] {
        io::write_safetensors(p, {{"x", Tensor({1})}, {"x", Tensor({1})}}, {});
      },
      p, "two tensors named 'x'");
  expect_refused([&] { io::write_safetensors(p, {{"__metadata__", Tensor({1})}}, {}); }, p, "named '__metadata__'");
  expect_refused([&] { io::write_safetensors(p, {{"", Tensor({1})}}, {}); }, p, "named ''");
  expect_refused([&] { io::write_safetensors(p, {{"x", Tensor()}}, {}); }, p, "undefined");
  expect_refused([&] { io::write_safetensors(p, {{"x", Tensor({1})}}, {{"k", "\xff\xfe"}}); }, p, "not valid UTF-8");
  EXPECT_TRUE(dir.entries().empty());
}

// ---- refusing damaged files ------------------------------------------------------------------

class IoCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    io::write_safetensors(dir_ / "good.safetensors", {{"a", Tensor({2, 3}, 1.f)}, {"b", Tensor({3}, 2.f)}},
                          {{"k", "v"}});
    good_ = it::read_bytes(dir_ / "good.safetensors");
    parts_ = it::split(good_);
  }
  // Writes `bytes` as a file and expects the reader to refuse it with `fragment`.
  void expect_bad(const std::string& bytes, const std::string& fragment) {
    const auto p = dir_ / "bad.safetensors";
    it::write_bytes(p, bytes);
    expect_refused([&] { io::read_safetensors(p); }, p, fragment);
  }
  // The good header with an edit, the good data.
  template <class Edit>
  void expect_bad_header(Edit edit, const std::string& fragment, const std::string& data_suffix = "") {
    ojson h = parts_.json();
    edit(h);
    expect_bad(it::join(h, parts_.data + data_suffix), fragment);
  }
  TempDir dir_;
  std::string good_;
  it::Parts parts_;
};

TEST_F(IoCorrupt, GoodFileReads) { EXPECT_EQ(io::read_safetensors(dir_ / "good.safetensors").tensors.size(), 2u); }

TEST_F(IoCorrupt, MissingOrNotAFile) {
  expect_refused([&] { io::read_safetensors(dir_ / "nope.safetensors"); }, dir_ / "nope.safetensors",
                 "cannot open: No such file or directory");
  expect_refused([&] { io::read_safetensors(dir_.path()); }, dir_.path(), "not a regular file");
}

TEST_F(IoCorrupt, TooShort) {
  expect_bad("", "too short");
  expect_bad(good_.substr(0, 7), "too short");
}

TEST_F(IoCorrupt, AbsurdHeaderLength) {
  expect_bad(it::u64_le(200ull << 20) + good_.substr(8), "exceeds the 100 MB limit");
  expect_bad(it::u64_le(~0ull) + good_.substr(8), "exceeds the 100 MB limit");
  expect_bad(it::u64_le(good_.size()) + good_.substr(8), "runs past the end of the file");
  expect_bad(it::u64_le(0) + good_.substr(8), "header is not a JSON object");
}

TEST_F(IoCorrupt, HeaderNotJsonOrNotAnObject) {
  std::string h = parts_.header;
  h[h.find(':')] = '#';
  expect_bad(it::join(h, parts_.data), "header is not valid JSON");
  expect_bad(it::join(std::string("[1,2,3]").append(parts_.header.size() - 7, ' '), parts_.data), "not a JSON object");
  expect_bad(it::join(" " + parts_.header, parts_.data), "must start with '{'");
  std::string nul = parts_.header;
  nul.back() = '\0';
  expect_bad(it::join(nul, parts_.data), "header is not valid JSON (it contains a NUL byte)");
  std::string latin1 = parts_.header;
  latin1[latin1.find("\"a\"") + 1] = '\xe9';  // a tensor name that is not UTF-8
  expect_bad(it::join(latin1, parts_.data), "header is not valid JSON");
}

TEST_F(IoCorrupt, DuplicateKeys) {
  const std::string dup =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_bad(it::join(dup, std::string(4, '\0')), "the key 'a' twice");
}

TEST_F(IoCorrupt, TensorEntryMissingOrBadFields) {
  for (const char* field : {"dtype", "shape", "data_offsets"})
    expect_bad_header([&](ojson& h) { h["a"].erase(field); },
                      std::string("tensor 'a': header entry lacks '") + field + "'");
  expect_bad_header([](ojson& h) { h["a"] = 3; }, "tensor 'a': header entry is not an object");
  expect_bad_header([](ojson& h) { h["a"]["shape"] = {2, -3}; }, "non-negative integers");
  expect_bad_header([](ojson& h) { h["a"]["shape"] = {2, 3.0}; }, "non-negative integers");
  expect_bad_header([](ojson& h) { h["a"]["shape"] = "2x3"; }, "'shape' is not an array");
  expect_bad_header([](ojson& h) { h["a"]["data_offsets"] = {0}; }, "'data_offsets' must be [begin, end]");
  expect_bad_header([](ojson& h) { h["a"]["data_offsets"] = {0, -24}; }, "'data_offsets' must be [begin, end]");
  expect_bad_header([](ojson& h) { h["a"]["data_offsets"] = {24, 0}; }, "end before they begin");
  expect_bad_header([](ojson& h) { h["a"]["dtype"] = 32; }, "'dtype' is not a string");
  expect_bad_header(
      [](ojson& h) {
        h[""] = h["a"];
        h.erase("a");
      },
      "a tensor with an empty name");
}

TEST_F(IoCorrupt, DtypeNotF32) {
  expect_bad_header([](ojson& h) { h["a"]["dtype"] = "F16"; }, "tensor 'a': dtype is F16; backprop reads F32 (float32) tensors, and BF16 and I8");
  expect_bad_header([](ojson& h) { h["b"]["dtype"] = "F64"; }, "dtype is F64");
}

TEST_F(IoCorrupt, ShapeDisagreesWithOffsets) {
  expect_bad_header(
      [](ojson& h) {
        h["a"]["shape"] = {2, 4};
      },
      "tensor 'a': shape (2, 4) needs 32 bytes but data_offsets [0, 24] span 24");
  expect_bad_header([](ojson& h) { h["a"]["shape"] = {1ull << 62, 1ull << 62}; }, "is too large");
}

TEST_F(IoCorrupt, OffsetsOutOfBoundsOverlappingOrWithGaps) {
  expect_bad_header(
      [](ojson& h) {
        h["b"]["data_offsets"] = {28, 40};
      },
      "tensor 'b' ends at byte 40 of the data buffer, which has only 36");
  expect_bad_header([](ojson& h) { h["b"]["data_offsets"] = {20, 32}; }, "tensor 'b' overlaps tensor 'a'");
  expect_bad_header([](ojson& h) { h["b"]["data_offsets"] = {28, 40}; }, "gap of 4 bytes", std::string(4, '\0'));
  expect_bad_header(
      [](ojson& h) {
        h["a"]["data_offsets"] = {4, 28};
        h["b"]["data_offsets"] = {28, 40};
      },
      "gap of 4 bytes in the data buffer before tensor 'a'", std::string(4, '\0'));
}

TEST_F(IoCorrupt, TrailingBytes) { expect_bad(good_ + "junk", "4 trailing bytes after the last tensor"); }

TEST_F(IoCorrupt, Truncated) {
  for (size_t cut : {1, 5, 36}) expect_bad(good_.substr(0, good_.size() - cut), "truncated");
  expect_bad(good_.substr(0, 8 + parts_.header.size() / 2), "runs past the end of the file");
}

TEST_F(IoCorrupt, MetadataMustMapStringsToStrings) {
  expect_bad_header([](ojson& h) { h["__metadata__"]["n"] = 3; }, "__metadata__ value of 'n' is not a string");
  expect_bad_header([](ojson& h) { h["__metadata__"] = {1, 2}; }, "__metadata__ is not an object");
}

// ---- atomic writes ---------------------------------------------------------------------------

TEST(IoAtomic, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  io::write_safetensors(p, {{"x", Tensor({1}, {1.f})}}, {});
  io::write_safetensors(p, {{"x", Tensor({2}, {2.f, 3.f})}}, {});
  EXPECT_EQ(io::read_safetensors(p).find("x")->to_vector(), (std::vector<float>{2.f, 3.f}));
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.safetensors"}));
}

TEST(IoAtomic, IntoAMissingDirectoryThrowsAndCreatesNothing) {
  TempDir dir;
  const auto p = dir / "no" / "such" / "m.safetensors";
  expect_refused([&] { io::write_safetensors(p, {{"x", Tensor({1})}}, {}); }, p, "No such file or directory");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(IoAtomic, AFailedWriteKeepsTheOldFileAndRemovesTheTemporary) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  io::write_safetensors(p, {{"x", Tensor({1}, {1.f})}}, {});
  const std::string before = it::read_bytes(p);
  // The content fails half-way.
  EXPECT_THROW(io::atomic_write(p,
                                [](const io::ByteSink& put) {
                                  put("partial", 7);
                                  throw std::runtime_error("disk on fire");
                                }),
               std::runtime_error);
  EXPECT_EQ(it::read_bytes(p), before);
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.safetensors"}));
  // The rename fails: the target is a non-empty directory.
  const auto d = dir / "taken";
  std::filesystem::create_directories(d / "inside");
  expect_refused([&] { io::write_safetensors(d, {{"x", Tensor({1})}}, {}); }, d, "cannot rename");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"m.safetensors", "taken"}));
}

}  // namespace
