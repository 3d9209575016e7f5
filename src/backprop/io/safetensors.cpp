#include "backprop/io/safetensors.hpp"

#include "backprop/util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace bp::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- little-endian encoding, whatever the host's byte order -------------------------------

uint64_t load_u64_le(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

void store_u64_le(uint64_t v, unsigned char* b) {
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
}

// Converts n float32 values between host order and little-endian, in place (an involution).
void floats_le_inplace(float* p, int64_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    (void)p, (void)n;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, p + i, 4);
      u = (u >> 24) | ((u >> 8) & 0xff00u) | ((u << 8) & 0xff0000u) | (u << 24);
      std::memcpy(p + i, &u, 4);
    }
  }
}

std::string errno_text(int e) { return std::strerror(e); }

// Owns a file descriptor.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at `offset`, or reports how many it got.
size_t pread_full(int fd, void* buf, size_t n, uint64_t offset, int& err) {
  auto* p = static_cast<unsigned char*>(buf);
  size_t got = 0;
  err = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

struct Entry {
  std::string name;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

std::string offsets_str(uint64_t b, uint64_t e) { return "[" + std::to_string(b) + ", " + std::to_string(e) + "]"; }

// One tensor's header entry, checked field by field.
Entry parse_entry(const fs::path& path, const std::string& name, const json& v) {
  auto bad = [&](const std::string& what) { return ModelFileError(path, "tensor '" + name + "': " + what); };
  if (name.empty()) throw ModelFileError(path, "header has a tensor with an empty name");
  if (!v.is_object()) throw bad("header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) throw bad(std::string("header entry lacks '") + key + "'");
  const json& dtype = v.at("dtype");
  if (!dtype.is_string()) throw bad("'dtype' is not a string");
  if (dtype.get<std::string>() != "F32")
    throw bad("dtype is " + dtype.get<std::string>() + "; backprop reads only F32 (float32) tensors");

  Entry e;
  e.name = name;
  const json& shape = v.at("shape");
  if (!shape.is_array()) throw bad("'shape' is not an array");
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : shape) {
    if (!d.is_number_unsigned()) throw bad("'shape' must hold non-negative integers, got " + shape.dump());
    const uint64_t dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    overflow = overflow || __builtin_mul_overflow(numel, dim, &numel);
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, uint64_t{4}, &bytes);
  if (overflow) throw bad("shape " + shape.dump() + " is too large");

  const json& off = v.at("data_offsets");
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw bad("'data_offsets' must be [begin, end] with non-negative integers, got " + off.dump());
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end < e.begin) throw bad("data_offsets " + offsets_str(e.begin, e.end) + " end before they begin");
  if (e.end - e.begin != bytes)
    throw bad("shape " + shape_str(e.shape) + " needs " + std::to_string(bytes) + " bytes but data_offsets " +
              offsets_str(e.begin, e.end) + " span " + std::to_string(e.end - e.begin));
  return e;
}

}  // namespace

const Tensor* SafeTensorsFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

SafeTensorsFile read_safetensors(const fs::path& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) {
    const int e = errno;
    throw ModelFileError(path, "cannot open: " + errno_text(e));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    const int e = errno;
    throw ModelFileError(path, "cannot stat: " + errno_text(e));
  }
  if (!S_ISREG(st.st_mode)) throw ModelFileError(path, "not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    throw ModelFileError(path, "too short to be a safetensors file (" + std::to_string(file_size) +
                                   " bytes; the header length alone takes 8)");

  int err = 0;
  unsigned char len_bytes[8];
  if (pread_full(f.fd, len_bytes, 8, 0, err) != 8)
    throw ModelFileError(path, "cannot read the header length: " + (err ? errno_text(err) : "unexpected end of file"));
  const uint64_t header_len = load_u64_le(len_bytes);
  if (header_len > kMaxHeaderBytes)
    throw ModelFileError(path, "header length " + std::to_string(header_len) +
                                   " exceeds the 100 MB limit: not a safetensors file, or a corrupt one");
  if (header_len > file_size - 8)
    throw ModelFileError(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                                   std::to_string(file_size) + " bytes): truncated, or not a safetensors file");
  if (header_len < 2)
    throw ModelFileError(path, "header is not a JSON object (" + std::to_string(header_len) + " bytes)");

  std::string header(header_len, '\0');
  if (pread_full(f.fd, header.data(), header_len, 8, err) != header_len)
    throw ModelFileError(path, "cannot read the header: " + (err ? errno_text(err) : "unexpected end of file"));

  // Duplicate keys are an error (the spec forbids them; a JSON parser would keep one silently).
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (ev == json::parse_event_t::key && !open_objects.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  // nlohmann's parser takes a NUL byte for the end of its input; JSON text never holds one.
  if (header.find('\0') != std::string::npos)
    throw ModelFileError(path, "header is not valid JSON (it contains a NUL byte)");
  json h;
  try {
    h = json::parse(header, on_event);
  } catch (const json::exception& e) {
    throw ModelFileError(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!h.is_object()) throw ModelFileError(path, "header is not a JSON object");
  if (header[0] != '{') throw ModelFileError(path, "header must start with '{'");
  if (!duplicate.empty()) throw ModelFileError(path, "header has the key '" + duplicate + "' twice");

  SafeTensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : h.items()) {
    if (key == "__metadata__") {
      out.has_metadata = true;
      if (!value.is_object()) throw ModelFileError(path, "__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw ModelFileError(path,
                               "__metadata__ value of '" + mk + "' is not a string (the format allows only strings)");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, key, value));
  }

  // The tensors must tile the data buffer exactly.
  const uint64_t buffer = file_size - 8 - header_len;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.end > buffer)
      throw ModelFileError(path, "tensor '" + e.name + "' ends at byte " + std::to_string(e.end) +
                                     " of the data buffer, which has only " + std::to_string(buffer) +
                                     " bytes: the file is truncated or its offsets are wrong");
    if (e.begin < pos)
      throw ModelFileError(path, "tensor '" + e.name + "' overlaps tensor '" + prev->name + "' (data_offsets " +
                                     offsets_str(e.begin, e.end) + " and " + offsets_str(prev->begin, prev->end) + ")");
    if (e.begin > pos)
      throw ModelFileError(
          path, "gap of " + std::to_string(e.begin - pos) + " bytes in the data buffer before tensor '" + e.name + "'");
    pos = e.end;
    prev = &e;
  }
  if (pos != buffer) throw ModelFileError(path, std::to_string(buffer - pos) + " trailing bytes after the last tensor");

  const uint64_t data_start = 8 + header_len;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape);
    const size_t bytes = static_cast<size_t>(e.end - e.begin);
    if (pread_full(f.fd, t.data(), bytes, data_start + e.begin, err) != bytes)
      throw ModelFileError(
          path, "cannot read tensor '" + e.name +
                    "': " + (err ? errno_text(err) : "unexpected end of file (did it change while being read?)"));
    floats_le_inplace(t.data(), t.numel());
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

void atomic_write(const fs::path& path, const std::function<void(const ByteSink& put)>& fill) {
  // The program's one atomic writer (util/atomic_file.hpp). Its failures become ModelFileErrors
  // naming the model file, with the FileWriteError nested so a caller can tell "cannot write"
  // from "not a valid model" by type.
  try {
    util::write_atomic(path, fill);
  } catch (const util::FileWriteError& e) {
    std::throw_with_nested(ModelFileError(path, e.reason()));
  }
}

void write_safetensors(const fs::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Header: __metadata__ first, then the tensors in data order (readers accept any order).
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = h["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == "__metadata__") throw ModelFileError(path, "cannot save a tensor named '" + name + "'");
    if (h.contains(name)) throw ModelFileError(path, "cannot save two tensors named '" + name + "'");
    if (!t.defined()) throw ModelFileError(path, "tensor '" + name + "' is undefined");
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * 4;
    h[name] = {{"dtype", "F32"}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header;
  try {
    header = h.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(path, std::string("a tensor name or metadata value is not valid UTF-8 (") + e.what() + ")");
  }
  // Spaces up to a multiple of 8, so the data buffer starts 8-byte aligned (as the reference
  // implementation writes it).
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kMaxHeaderBytes) throw ModelFileError(path, "header would exceed the 100 MB limit");

  atomic_write(path, [&](const ByteSink& put) {
    unsigned char len[8];
    store_u64_le(header.size(), len);
    put(len, 8);
    put(header.data(), header.size());
    for (const auto& [name, t] : tensors) {
      if constexpr (std::endian::native == std::endian::little) {
        put(t.data(), static_cast<size_t>(t.numel()) * 4);
      } else {
        std::vector<float> chunk;
        for (int64_t i = 0; i < t.numel(); i += 4096) {
          const int64_t n = std::min<int64_t>(4096, t.numel() - i);
          chunk.assign(t.data() + i, t.data() + i + n);
          floats_le_inplace(chunk.data(), n);
          put(chunk.data(), static_cast<size_t>(n) * 4);
        }
      }
    }
  });
}

}  // namespace bp::io
