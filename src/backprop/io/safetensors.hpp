// The safetensors container (Hugging Face's format), float32 tensors, and BF16 and I8 ones for
// quantized models (their values widened to float32 exactly in memory):
//
//   [8 bytes]  N, the header length, unsigned 64-bit little-endian
//   [N bytes]  UTF-8 JSON object, padded with spaces to a multiple of 8:
//                { "<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]},
//                  ...,
//                  "__metadata__": {"<key>": "<string value>", ...} }      (optional; strings only)
//   [rest]     the data buffer: each tensor's values, row-major, little-endian float32, at
//              [begin, end) relative to the buffer's start. The tensors tile the buffer
//              exactly: no gaps, no overlaps, no trailing bytes.
//
// The reader treats the file as hostile: every number in the header is checked against the
// file before it is used, and a bad file is refused with a ModelFileError naming the file and
// the first problem found. See docs/model-files.md.
//
// Integrity (backprop's own convention, invisible to other safetensors readers): the writer may
// add the __metadata__ entry "backprop.checksums", a JSON text
//   {"algorithm": "crc32", "header": "<8 hex>", "tensors": {"<name>": "<8 hex>", ...}}
// holding zlib's CRC-32 of each tensor's bytes and of the header's meaning (every other
// metadata entry and every tensor's name, dtype, shape and offsets, in the canonical byte form
// of header_digest_bytes). The reader verifies it whenever it is present.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backprop/tensor/tensor.hpp"

namespace bp::io {

// A model or tensor file that cannot be read or written. what() is "<path>: <problem>".
class ModelFileError : public std::runtime_error {
 public:
  ModelFileError(const std::filesystem::path& path, const std::string& problem)
      : std::runtime_error(path.string() + ": " + problem), path_(path), problem_(problem) {}
  const std::filesystem::path& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::filesystem::path path_;
  std::string problem_;
};

// The reference implementation refuses headers over 100 MB; so do we.
inline constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// The __metadata__ key that holds the checksums (reserved: the writer refuses it in `metadata`).
inline constexpr const char* kChecksumsKey = "backprop.checksums";

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafeTensorsFile {
  NamedTensors tensors;  // in data-buffer order (ascending data_offsets)
  std::map<std::string, std::string> metadata;  // without the checksums entry
  bool has_metadata = false;  // the header had a "__metadata__" entry (possibly empty)
  // The header had a well-formed checksums entry (kChecksumsKey); the reader verified it
  // unless told not to.
  bool has_checksums = false;

  // The tensors stored other than F32, by name: "BF16" or "I8" (quantized models' weights). In
  // `tensors` their values are widened to float32, exactly.
  std::map<std::string, std::string> dtypes;

  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Reads and validates a whole safetensors file. F32, BF16 and I8 tensors are accepted (the
// latter two for quantized models; see SafeTensorsFile::dtypes). If the file
// holds checksums, they are verified: a mismatch is a ModelFileError "<path>: tensor 'x' fails
// its checksum: the file is corrupt" (or "the header fails its checksum ...").
SafeTensorsFile read_safetensors(const std::filesystem::path& path);

// The same from bytes in memory; `name` is the path used in messages. verify_checksums = false
// still parses the checksums entry (and refuses a malformed one) but does not compare them
// (for the fuzz harness, which could otherwise hardly get past them).
SafeTensorsFile parse_safetensors(const void* data, size_t size, const std::filesystem::path& name,
                                  bool verify_checksums = true);

// Writes `tensors` (in this order in the data buffer) and `metadata` atomically (see
// atomic_write). Names must be unique, non-empty and not "__metadata__"; `metadata` must not
// hold kChecksumsKey. With `checksums`, the header gets the checksums entry (see above).
// `dtypes` stores the named tensors as "BF16" or "I8" instead of F32; each of their values must
// be exactly representable (a bfloat16 value; an integer in −128..127), or nothing is written.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata, bool checksums = false,
                       const std::map<std::string, std::string>& dtypes = {});

// One tensor's place in the header, as the header checksum sees it.
struct HeaderEntry {
  std::string name;
  Shape shape;
  uint64_t begin = 0, end = 0;  // data_offsets
  std::string dtype = "F32";    // "F32", "BF16" or "I8"
};

// The bytes whose CRC-32 is the header checksum: for each metadata entry other than
// kChecksumsKey, by key in byte order, str(key) str(value); then for each tensor, by name in
// byte order, str(name) str(dtype) u64(rank) u64(dim)... u64(begin) u64(end); where u64 is an
// unsigned 64-bit little-endian integer and str(s) is u64(byte length of s) then s's UTF-8
// bytes. Independent of JSON spelling (whitespace, key order, escapes), so Python can compute
// it too (tests/fixtures/io/gen_safetensors_fixture.py does).
std::string header_digest_bytes(const std::map<std::string, std::string>& metadata,
                                const std::vector<HeaderEntry>& entries);

// zlib's CRC-32 (the one of gzip, PNG and Python's zlib.crc32).
uint32_t crc32_of(const void* data, size_t size, uint32_t crc = 0);

// Atomic replacement of `path` through the program's one writer (util/atomic_file.hpp):
// `fill(put)` writes the content through `put`, which appends to a uniquely named
// "<path>.tmp.*" in the same directory; that file is then fsynced and renamed over
// `path` (and the directory fsynced), so a reader sees the old file or the new one, never a
// partial one. On any failure the temporary file is removed and an existing `path` is left as
// it was; a failed system call throws a ModelFileError naming `path` and the system's reason,
// and an exception from `fill` propagates unchanged.
using ByteSink = std::function<void(const void* data, size_t size)>;
void atomic_write(const std::filesystem::path& path, const std::function<void(const ByteSink& put)>& fill);

}  // namespace bp::io
