// The safetensors container (Hugging Face's format), float32 only:
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

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafeTensorsFile {
  NamedTensors tensors;  // in data-buffer order (ascending data_offsets)
  std::map<std::string, std::string> metadata;
  bool has_metadata = false;  // the header had a "__metadata__" entry (possibly empty)

  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// Reads and validates a whole safetensors file. Only F32 tensors are accepted.
SafeTensorsFile read_safetensors(const std::filesystem::path& path);

// Writes `tensors` (in this order in the data buffer) and `metadata` atomically (see
// atomic_write). Names must be unique, non-empty and not "__metadata__".
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

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
