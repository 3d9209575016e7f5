#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "backprop/data/idx.hpp"
#include "data_test_util.hpp"

using namespace bp::data;
using bp::data::testing::write_temp;

namespace {

using Bytes = std::vector<uint8_t>;

// An IDX header: 0 0 type ndims, then big-endian sizes.
Bytes idx_header(uint8_t type, std::vector<uint32_t> dims) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  return b;
}

Bytes gzip(const Bytes& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A 2 × 3 uint8 array 0..5.
Bytes small_u8() {
  Bytes b = idx_header(0x08, {2, 3});
  for (uint8_t v = 0; v < 6; ++v) b.push_back(v);
  return b;
}

IdxArray parse(const Bytes& b, int64_t max_bytes = kIdxDefaultMaxBytes) {
  return parse_idx(b.data(), b.size(), "t.idx", max_bytes);
}

}  // namespace

TEST(DataIdx, ParsesPlainAndGzip) {
  for (const Bytes& b : {small_u8(), gzip(small_u8())}) {
    const IdxArray a = parse(b);
    EXPECT_EQ(a.type, IdxType::UInt8);
    EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 3}));
    ASSERT_EQ(a.numel(), 6);
    EXPECT_EQ(a.value(5), 5.0);
    const bp::Tensor t = a.to_tensor(0.5f);
    EXPECT_EQ(t.shape(), (bp::Shape{2, 3}));
    EXPECT_EQ(t[4], 2.0f);
  }
}

TEST(DataIdx, DecodesBigEndianTypes) {
  Bytes i16 = idx_header(0x0B, {2});
  for (uint8_t v : {0xFF, 0xFE, 0x01, 0x00}) i16.push_back(v);  // -2, 256
  EXPECT_EQ(parse(i16).value(0), -2.0);
  EXPECT_EQ(parse(i16).value(1), 256.0);

  Bytes i32 = idx_header(0x0C, {1});
  for (uint8_t v : {0x80, 0x00, 0x00, 0x00}) i32.push_back(v);
  EXPECT_EQ(parse(i32).value(0), -2147483648.0);

  Bytes f32 = idx_header(0x0D, {1});
  for (uint8_t v : {0x3F, 0xC0, 0x00, 0x00}) f32.push_back(v);  // 1.5f
  EXPECT_EQ(parse(f32).value(0), 1.5);

  Bytes f64 = idx_header(0x0E, {1});
  for (uint8_t v : {0xC0, 0x04, 0, 0, 0, 0, 0, 0}) f64.push_back(v);  // -2.5
  EXPECT_EQ(parse(gzip(f64)).value(0), -2.5);

  Bytes i8 = idx_header(0x09, {1});
  i8.push_back(0xFF);
  EXPECT_EQ(parse(i8).value(0), -1.0);
}

TEST(DataIdx, NonFiniteFloatsNeverReachATensor) {
  Bytes f32 = idx_header(0x0D, {2});
  for (uint8_t v : {0x3F, 0x80, 0x00, 0x00, 0x7F, 0xC0, 0x00, 0x00}) f32.push_back(v);  // 1, NaN
  const IdxArray a = parse(f32);
  EXPECT_DATA_ERROR(a.to_tensor(1.f, "nan.idx"), "nan.idx: element 1 is not finite");
}

TEST(DataIdx, TruncatedDataOrHeader) {
  Bytes b = small_u8();
  b.pop_back();
  EXPECT_DATA_ERROR(parse(b), "t.idx: truncated: sizes 2 x 3 declare 6 data bytes, found 5");
  EXPECT_DATA_ERROR(parse(gzip(b)), "truncated: sizes 2 x 3 declare 6 data bytes, the gzip stream holds 5");
  EXPECT_DATA_ERROR(parse(Bytes{0, 0}), "truncated IDX header");
  EXPECT_DATA_ERROR(parse(Bytes{0, 0, 8, 2, 0, 0, 0, 2}), "truncated IDX header: 2 dimension sizes declared");
  EXPECT_DATA_ERROR(parse(Bytes{}), "truncated IDX header: 0 bytes");
}

TEST(DataIdx, TrailingGarbage) {
  Bytes b = small_u8();
  b.push_back(7);
  EXPECT_DATA_ERROR(parse(b), "1 bytes of trailing data");
  EXPECT_DATA_ERROR(parse(gzip(b)), "trailing data");
  Bytes z = gzip(small_u8());
  z.push_back(0);
  EXPECT_DATA_ERROR(parse(z), "trailing data after the gzip stream");
}

TEST(DataIdx, CorruptOrTruncatedGzip) {
  Bytes z = gzip(small_u8());
  Bytes cut(z.begin(), z.begin() + z.size() / 2);
  EXPECT_DATA_ERROR(parse(cut), "truncated gzip stream");
  Bytes crc = z;
  crc[crc.size() - 6] ^= 0xFF;  // CRC-32 in the trailer
  EXPECT_DATA_ERROR(parse(crc), "corrupt gzip data");
  Bytes body = z;
  body[10] = 0xFF;  // first deflate block header: invalid block type
  EXPECT_DATA_ERROR(parse(body), "corrupt gzip data");
  EXPECT_DATA_ERROR(parse(Bytes{0x1f, 0x8b}), "gzip");
}

TEST(DataIdx, WrongMagicTypeOrDims) {
  Bytes b = small_u8();
  b[0] = 1;
  EXPECT_DATA_ERROR(parse(b), "bad IDX magic number 0x01 0x00 0x08 0x02");
  b = small_u8();
  b[2] = 0x0A;
  EXPECT_DATA_ERROR(parse(b), "unsupported IDX data type 0x0a");
  EXPECT_DATA_ERROR(parse(Bytes{0, 0, 8, 0}), "dimension count 0");
  EXPECT_DATA_ERROR(parse(Bytes{0, 0, 8, 200}), "dimension count 200");
}

TEST(DataIdx, HugeDeclaredSizesAreRejectedBeforeAllocating) {
  const Bytes b = idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF});
  EXPECT_DATA_ERROR(parse(b), "declare more than the limit");
  EXPECT_DATA_ERROR(parse(gzip(b)), "declare more than the limit");
  // Within the limit but far more than the stream holds: fails without a 1 GiB buffer.
  EXPECT_DATA_ERROR(parse(gzip(idx_header(0x08, {1u << 29}))), "the gzip stream holds 0");
  EXPECT_DATA_ERROR(parse(small_u8(), 5), "declare more than the limit of 5 bytes");
  EXPECT_DATA_ERROR(parse(idx_header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0})), "declare more than the limit");
}

TEST(DataIdx, EmptyArrayIsAllowed) {
  const IdxArray a = parse(idx_header(0x08, {0, 28, 28}));
  EXPECT_EQ(a.numel(), 0);
  EXPECT_EQ(a.to_tensor().shape(), (bp::Shape{0, 28, 28}));
}

TEST(DataIdx, ReadsFilesAndNamesThem) {
  const std::string path = write_temp("bad.idx.gz", "\x1f\x8b garbage");
  EXPECT_DATA_ERROR(read_idx(path), path + ": ");
  const Bytes z = gzip(small_u8());
  const std::string good = write_temp("good.idx.gz", std::string(z.begin(), z.end()));
  EXPECT_EQ(read_idx(good).numel(), 6);
  EXPECT_DATA_ERROR(read_idx(good + ".absent"), "cannot read file");
}

TEST(DataIdx, FashionMnistLoaderChecksFiles) {
  // A fake Fashion-MNIST folder: 3 images but 2 labels.
  const Bytes img = [] {
    Bytes b = idx_header(0x08, {3, 28, 28});
    b.resize(b.size() + 3 * 784, 255);
    return b;
  }();
  Bytes lab = idx_header(0x08, {2});
  lab.push_back(1);
  lab.push_back(9);
  const std::string dir = std::filesystem::path(write_temp("fm/t10k-images-idx3-ubyte", std::string(img.begin(), img.end())))
                              .parent_path()
                              .string();
  write_temp("fm/t10k-labels-idx1-ubyte", std::string(lab.begin(), lab.end()));
  EXPECT_DATA_ERROR(load_fashion_mnist(dir, "test"), "2 labels for 3 images");
  EXPECT_DATA_ERROR(load_fashion_mnist(dir, "validation"), "unknown split 'validation'");
  EXPECT_DATA_ERROR(load_fashion_mnist(dir + "/absent", "test"), "Fashion-MNIST not found");
  lab = idx_header(0x08, {3});
  for (uint8_t v : {0, 9, 10}) lab.push_back(v);
  write_temp("fm/t10k-labels-idx1-ubyte", std::string(lab.begin(), lab.end()));
  EXPECT_DATA_ERROR(load_fashion_mnist(dir, "test"), "label 10 of image 2 is not in 0..9");
  lab.back() = 3;
  write_temp("fm/t10k-labels-idx1-ubyte", std::string(lab.begin(), lab.end()));
  const Dataset ds = load_fashion_mnist(dir, "test");
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.x[0], 1.0f);
  EXPECT_EQ(ds.class_names[ds.labels[2]], "Dress");
}

TEST(DataIdx, FashionMnist) {
  if (!fashion_mnist_available()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  for (const auto& [split, n] : {std::pair<const char*, int64_t>{"train", 60000}, {"test", 10000}}) {
    const Dataset ds = load_fashion_mnist(kFashionMnistDir, split);
    ds.validate();
    EXPECT_EQ(ds.task, Task::Multiclass);
    ASSERT_EQ(ds.size(), n);
    EXPECT_EQ(ds.num_features(), 784);
    ASSERT_EQ(ds.num_classes(), 10);
    EXPECT_EQ(ds.class_names[0], "T-shirt/top");
    EXPECT_EQ(ds.class_names[9], "Ankle boot");
    std::vector<int64_t> per_class(10, 0);
    for (int32_t l : ds.labels) ++per_class.at(l);
    for (int64_t c : per_class) EXPECT_EQ(c, n / 10);  // Fashion-MNIST is balanced
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < ds.x.numel(); ++i) {
      lo = std::min(lo, ds.x[i]);
      hi = std::max(hi, ds.x[i]);
    }
    EXPECT_EQ(lo, 0.0f);
    EXPECT_EQ(hi, 1.0f);
    const bp::Tensor images = as_images(ds.x);
    EXPECT_EQ(images.shape(), (bp::Shape{n, 1, 28, 28}));
    EXPECT_TRUE(images.same_storage(ds.x));
  }
}
