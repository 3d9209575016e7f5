#include "backprop/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>

#include "backprop/data/io_util.hpp"

namespace bp::data {

namespace {

constexpr int kMaxDims = 16;

// Where the bytes of an IDX file come from: a plain buffer or a gzip stream inflated on
// demand, so that a compressed file is never decompressed beyond what its header declares.
class ByteSource {
 public:
  ByteSource(const uint8_t* data, size_t size, std::string_view source)
      : data_(data), size_(size), source_(source) {
    gzip_ = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (gzip_) {
      std::memset(&zs_, 0, sizeof zs_);
      // 15 window bits + 16: expect a gzip wrapper (header and CRC-32 trailer are checked).
      if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw std::bad_alloc();
      zs_.next_in = const_cast<Bytef*>(data);
      zs_.avail_in = 0;
    }
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource() {
    if (gzip_) inflateEnd(&zs_);
  }

  bool gzip() const { return gzip_; }
  // Plain data only: bytes not read yet.
  size_t remaining() const { return size_ - pos_; }

  // Reads up to n bytes into dst; returns fewer only at the end of the data.
  size_t read(uint8_t* dst, size_t n) {
    if (!gzip_) {
      const size_t k = std::min(n, size_ - pos_);
      if (k) std::memcpy(dst, data_ + pos_, k);
      pos_ += k;
      return k;
    }
    size_t got = 0;
    while (got < n && !ended_) {
      // zlib counts in uInt: feed and drain at most 1 GiB per call.
      constexpr size_t kStep = size_t{1} << 30;
      if (zs_.avail_in == 0) {
        const size_t consumed = static_cast<size_t>(zs_.next_in - data_);
        zs_.avail_in = static_cast<uInt>(std::min(kStep, size_ - consumed));
      }
      const size_t want = std::min(kStep, n - got);
      zs_.next_out = dst + got;
      zs_.avail_out = static_cast<uInt>(want);
      const uInt in_before = zs_.avail_in;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const bool progress = zs_.avail_in != in_before || zs_.avail_out != want;
      got += want - zs_.avail_out;
      const size_t consumed = static_cast<size_t>(zs_.next_in - data_);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        if (consumed != size_)
          fail(source_, 0, std::to_string(size_ - consumed) + " bytes of trailing data after the gzip stream");
      } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
        fail(source_, 0, std::string("corrupt gzip data (") + (zs_.msg ? zs_.msg : "inflate failed") + ")");
      } else if (rc == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (!progress) {
        // Nothing more can come out: the input ended inside the stream.
        if (consumed == size_) fail(source_, 0, "truncated gzip stream (the compressed data ends early)");
        fail(source_, 0, "corrupt gzip data (inflate made no progress)");
      }
    }
    return got;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string_view source_;
  bool gzip_ = false;
  bool ended_ = false;
  z_stream zs_{};
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool known_type(uint8_t t) { return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E; }

std::string hex_byte(uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Reverses each element's bytes in place when the host is little-endian (IDX is big-endian).
void to_host_order(std::vector<uint8_t>& bytes, int elem_size) {
  if constexpr (std::endian::native == std::endian::big) return;
  if (elem_size == 1) return;
  for (size_t i = 0; i + elem_size <= bytes.size(); i += elem_size)
    std::reverse(bytes.begin() + i, bytes.begin() + i + elem_size);
}

}  // namespace

int idx_type_size(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
    case IdxType::Int8: return 1;
    case IdxType::Int16: return 2;
    case IdxType::Int32:
    case IdxType::Float32: return 4;
    case IdxType::Float64: return 8;
  }
  return 1;
}

int64_t IdxArray::numel() const { return static_cast<int64_t>(bytes.size()) / idx_type_size(type); }

double IdxArray::value(int64_t i) const {
  const uint8_t* p = bytes.data() + i * idx_type_size(type);
  switch (type) {
    case IdxType::UInt8: return p[0];
    case IdxType::Int8: return static_cast<int8_t>(p[0]);
    case IdxType::Int16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case IdxType::Int32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case IdxType::Float32: { float v; std::memcpy(&v, p, 4); return v; }
    case IdxType::Float64: { double v; std::memcpy(&v, p, 8); return v; }
  }
  return 0;
}

Tensor IdxArray::to_tensor(float scale, std::string_view source) const {
  if (!std::isfinite(scale)) fail(source, 0, "scale is not finite");
  Tensor t = Tensor::empty(Shape(dims.begin(), dims.end()));
  const int64_t n = numel();
  if (t.numel() != n) fail(source, 0, "IDX array has inconsistent dimensions");
  if (type == IdxType::UInt8) {
    float table[256];
    for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) * scale;
    for (int64_t i = 0; i < n; ++i) t[i] = table[bytes[i]];
  } else {
    constexpr double kFloatMax = std::numeric_limits<float>::max();
    for (int64_t i = 0; i < n; ++i) {
      const double v = value(i) * static_cast<double>(scale);
      if (!(std::fabs(v) <= kFloatMax))  // NaN, Inf, or beyond float32
        fail(source, 0, "element " + std::to_string(i) + " is not finite as float32 (" + std::to_string(value(i)) + ")");
      t[i] = static_cast<float>(v);
    }
  }
  return t;
}

IdxArray parse_idx(const uint8_t* data, size_t size, std::string_view source, int64_t max_bytes) {
  ByteSource in(data, size, source);
  uint8_t magic[4];
  const size_t got = in.read(magic, 4);
  if (got < 4)
    fail(source, 0, "truncated IDX header: " + std::to_string(got) + " bytes, need at least 4");
  if (magic[0] != 0 || magic[1] != 0)
    fail(source, 0, "bad IDX magic number " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " +
                        hex_byte(magic[2]) + " " + hex_byte(magic[3]) + " (expected 0x00 0x00 TYPE NDIMS)");
  if (!known_type(magic[2]))
    fail(source, 0, "unsupported IDX data type " + hex_byte(magic[2]) +
                        " (supported: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)");
  const int ndims = magic[3];
  if (ndims < 1 || ndims > kMaxDims)
    fail(source, 0, "IDX dimension count " + std::to_string(ndims) + " out of range 1.." + std::to_string(kMaxDims));

  IdxArray out;
  out.type = static_cast<IdxType>(magic[2]);
  const int esize = idx_type_size(out.type);
  uint8_t dimbuf[4 * kMaxDims];
  const size_t dim_bytes = 4 * static_cast<size_t>(ndims);
  if (in.read(dimbuf, dim_bytes) != dim_bytes)
    fail(source, 0, "truncated IDX header: " + std::to_string(ndims) + " dimension sizes declared, not all present");

  // Declared data size, checked against the limit before any allocation. The product of
  // the non-zero sizes must be within the limit too, even when a zero size makes the array
  // empty: (2^32-1) x (2^32-1) x 0 is no shape anyone means, and its partial products
  // would overflow whoever multiplies the sizes next.
  int64_t nonzero = esize;  // saturates at max_bytes + 1
  bool empty = false;
  std::string dims_text;
  for (int i = 0; i < ndims; ++i) {
    const int64_t d = be32(dimbuf + 4 * i);
    out.dims.push_back(d);
    dims_text += (i ? " x " : "") + std::to_string(d);
    if (d == 0) empty = true;
    else if (nonzero > max_bytes / d) nonzero = max_bytes + 1;
    else nonzero *= d;
  }
  if (nonzero > max_bytes)
    fail(source, 0, "IDX sizes " + dims_text + " declare more than the limit of " + std::to_string(max_bytes) + " bytes");
  const int64_t total = empty ? 0 : nonzero;

  const auto expected = static_cast<size_t>(total);
  if (!in.gzip()) {
    if (in.remaining() < expected)
      fail(source, 0, "truncated: sizes " + dims_text + " declare " + std::to_string(expected) + " data bytes, found " +
                          std::to_string(in.remaining()));
    if (in.remaining() > expected)
      fail(source, 0, std::to_string(in.remaining() - expected) + " bytes of trailing data after the " +
                          std::to_string(expected) + " data bytes that sizes " + dims_text + " declare");
    out.bytes.resize(expected);
    in.read(out.bytes.data(), expected);
  } else {
    // Grow as the data actually arrives: a header may promise far more than the stream holds.
    size_t have = 0;
    while (have < expected) {
      const size_t chunk = std::min(expected - have, std::max<size_t>(have, size_t{1} << 20));
      out.bytes.resize(have + chunk);
      const size_t n = in.read(out.bytes.data() + have, chunk);
      have += n;
      if (n < chunk)
        fail(source, 0, "truncated: sizes " + dims_text + " declare " + std::to_string(expected) +
                            " data bytes, the gzip stream holds " + std::to_string(have));
    }
    // One more byte must not exist; asking for it runs the stream to its end, which
    // also checks the gzip CRC-32 and length trailer.
    uint8_t extra;
    if (in.read(&extra, 1))
      fail(source, 0, "trailing data: more than the " + std::to_string(expected) + " data bytes that sizes " +
                          dims_text + " declare");
  }
  to_host_order(out.bytes, esize);
  return out;
}

IdxArray read_idx(const std::string& path, int64_t max_bytes) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return parse_idx(bytes.data(), bytes.size(), path, max_bytes);
}

// ---- Fashion-MNIST -------------------------------------------------------------------

const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

namespace {

// dir/name.gz if present, else dir/name (an unpacked copy), else dir/name.gz (for the message).
std::string find_idx_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path gz = fs::path(dir) / (name + ".gz");
  std::error_code ec;
  if (fs::exists(gz, ec)) return gz.string();
  const fs::path plain = fs::path(dir) / name;
  if (fs::exists(plain, ec)) return plain.string();
  return gz.string();
}

std::string split_prefix(std::string_view split) {
  if (split == "train") return "train";
  if (split == "test" || split == "t10k") return "t10k";
  throw DataError("fashion-mnist: unknown split " + quote_text(split) + " (expected \"train\" or \"test\")");
}

}  // namespace

bool fashion_mnist_available(const std::string& dir) {
  std::error_code ec;
  for (const char* prefix : {"train", "t10k"})
    for (const char* kind : {"images-idx3", "labels-idx1"})
      if (!std::filesystem::exists(find_idx_file(dir, std::string(prefix) + "-" + kind + "-ubyte"), ec)) return false;
  return true;
}

Dataset load_fashion_mnist(const std::string& dir, std::string_view split) {
  const std::string prefix = split_prefix(split);
  const std::string image_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  std::error_code ec;
  if (!std::filesystem::exists(image_path, ec) || !std::filesystem::exists(label_path, ec))
    throw DataError(image_path + ": Fashion-MNIST not found (install the Debian package dataset-fashion-mnist, "
                                 "or pass the folder that holds the IDX files)");

  const IdxArray images = read_idx(image_path);
  const IdxArray labels = read_idx(label_path);
  constexpr int side = kFashionMnistSide;
  if (images.type != IdxType::UInt8 || images.dims.size() != 3 || images.dims[1] != side || images.dims[2] != side)
    fail(image_path, 0, "expected uint8 images of shape (n, 28, 28)");
  if (labels.type != IdxType::UInt8 || labels.dims.size() != 1)
    fail(label_path, 0, "expected a 1-d array of uint8 labels");
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n)
    fail(label_path, 0, std::to_string(labels.dims[0]) + " labels for " + std::to_string(n) + " images in " + image_path);

  Dataset ds;
  ds.task = Task::Multiclass;
  ds.x = images.to_tensor(1.f / 255.f, image_path).reshape({n, side * side});
  ds.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t v = labels.bytes[i];
    if (v >= 10) fail(label_path, 0, "label " + std::to_string(v) + " of image " + std::to_string(i) + " is not in 0..9");
    ds.labels[i] = v;
  }
  const auto& names = fashion_mnist_classes();
  ds.class_names.assign(names.begin(), names.end());
  ds.feature_names.reserve(side * side);
  for (int i = 0; i < side * side; ++i) ds.feature_names.push_back("px" + std::to_string(i));
  return ds;
}

Tensor as_images(const Tensor& x) { return x.reshape({-1, 1, kFashionMnistSide, kFashionMnistSide}); }

}  // namespace bp::data
