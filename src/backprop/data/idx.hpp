// IDX files (the MNIST format) and the Fashion-MNIST loader.
//
// An IDX file is a 4-byte magic number 0x00 0x00 TYPE NDIMS, then NDIMS big-endian uint32
// sizes, then the elements in row-major order, big-endian. The file may be gzip-compressed
// (detected by the gzip magic bytes 1f 8b, not by the file name). Types:
//   0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
// The reader checks the magic, the type, the dimension count (1..16), and that the data is
// exactly as long as the sizes say: a truncated file, trailing bytes and a corrupt gzip
// stream are DataErrors. The declared size is checked against a limit before anything is
// allocated, so a 10-byte file that claims 2^40 elements costs nothing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backprop/data/dataset.hpp"
#include "backprop/data/error.hpp"
#include "backprop/tensor/tensor.hpp"

namespace bp::data {

enum class IdxType : uint8_t { UInt8 = 0x08, Int8 = 0x09, Int16 = 0x0B, Int32 = 0x0C, Float32 = 0x0D, Float64 = 0x0E };

// Bytes per element of `type`.
int idx_type_size(IdxType type);

// Default cap on the decoded data size (elements × element size): 1 GiB.
inline constexpr int64_t kIdxDefaultMaxBytes = int64_t{1} << 30;

// A decoded IDX array. Elements are kept in their stored type (a Fashion-MNIST training
// set is 47 MB as bytes, four times that as floats), in host byte order.
struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<int64_t> dims;  // e.g. (60000, 28, 28)
  std::vector<uint8_t> bytes;  // numel() * idx_type_size(type) bytes, host byte order

  int64_t numel() const;
  // Element i converted to double (i in [0, numel())).
  double value(int64_t i) const;
  // The elements as float32 times `scale`, shape `dims`. A NaN/Inf (possible only in the
  // float types) or a value that overflows float32 is a DataError naming `source`.
  Tensor to_tensor(float scale = 1.f, std::string_view source = "<idx>") const;
};

// Parses an IDX file held in memory (plain or gzip). `source` names it in error messages.
IdxArray parse_idx(const uint8_t* data, size_t size, std::string_view source = "<memory>",
                   int64_t max_bytes = kIdxDefaultMaxBytes);
// Reads and parses an IDX file (plain or gzip).
IdxArray read_idx(const std::string& path, int64_t max_bytes = kIdxDefaultMaxBytes);

// ---- Fashion-MNIST -------------------------------------------------------------------

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistSide = 28;  // images are 28 × 28, one grey channel

// The ten class names, in label order 0..9.
const std::array<std::string, 10>& fashion_mnist_classes();

// Loads the "train" (60000 images) or "test" (10000) split from `dir`, which holds
// {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (the Debian package dataset-fashion-mnist).
// Returns a Multiclass Dataset: x is (n, 784) float32 with pixel/255 in [0, 1], labels in
// 0..9, class_names = fashion_mnist_classes(), feature names "px0".."px783" (row-major).
// Image and label counts must agree, images must be 28 × 28 bytes, labels bytes in 0..9.
Dataset load_fashion_mnist(const std::string& dir = kFashionMnistDir, std::string_view split = "train");

// True if the four Fashion-MNIST files exist in `dir` (for tests and examples that skip).
bool fashion_mnist_available(const std::string& dir = kFashionMnistDir);

// x (n, 784) viewed as images (n, 1, 28, 28) for convolutions: same storage, no copy.
Tensor as_images(const Tensor& x);

}  // namespace bp::data
