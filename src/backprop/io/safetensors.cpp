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
#include <zlib.h>

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

using Entry = HeaderEntry;

// Reads n bytes at offset into buf; returns how many it got (fewer: end of input, or err set).
using ReadAt = std::function<size_t(void* buf, size_t n, uint64_t offset, int& err)>;

void put_u64(std::string& out, uint64_t v) {
  unsigned char b[8];
  store_u64_le(v, b);
  out.append(reinterpret_cast<const char*>(b), 8);
}

void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

std::string hex32(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = digits[v & 0xf];
  return s;
}

// A checksum as written: exactly 8 lowercase hexadecimal digits.
bool parse_hex32(const json& j, uint32_t& out) {
  if (!j.is_string()) return false;
  const std::string& s = j.get_ref<const std::string&>();
  if (s.size() != 8) return false;
  out = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    out = (out << 4) | static_cast<uint32_t>(d);
  }
  return true;
}

// The CRC-32 of a tensor's bytes as the file holds them (little-endian float32).
uint32_t tensor_crc(const Tensor& t) {
  if constexpr (std::endian::native == std::endian::little) {
    return crc32_of(t.data(), static_cast<size_t>(t.numel()) * 4);
  } else {
    uint32_t crc = 0;
    std::vector<float> chunk;
    for (int64_t i = 0; i < t.numel(); i += 4096) {
      const int64_t n = std::min<int64_t>(4096, t.numel() - i);
      chunk.assign(t.data() + i, t.data() + i + n);
      floats_le_inplace(chunk.data(), n);
      crc = crc32_of(chunk.data(), static_cast<size_t>(n) * 4, crc);
    }
    return crc;
  }
}

// The checksums entry, parsed: the header's and each tensor's CRC-32.
struct Checksums {
  uint32_t header = 0;
  std::map<std::string, uint32_t> tensors;
};

Checksums parse_checksums(const fs::path& path, const std::string& text) {
  const std::string bad = std::string("metadata '") + kChecksumsKey + "' ";
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw ModelFileError(path, bad + "is not valid JSON (" + e.what() + "): the file is corrupt");
  }
  if (!j.is_object() || !j.contains("algorithm") || !j.contains("header") || !j.contains("tensors"))
    throw ModelFileError(path, bad + "must be an object with 'algorithm', 'header' and 'tensors': the file is corrupt");
  if (j.at("algorithm") != "crc32")
    throw ModelFileError(path, bad + "names the algorithm " + j.at("algorithm").dump() +
                                   "; this build of backprop knows only \"crc32\"");
  Checksums c;
  if (!parse_hex32(j.at("header"), c.header))
    throw ModelFileError(path, bad + "has a header checksum that is not 8 hexadecimal digits: the file is corrupt");
  const json& t = j.at("tensors");
  if (!t.is_object()) throw ModelFileError(path, bad + "has 'tensors' that is not an object: the file is corrupt");
  for (const auto& [name, v] : t.items()) {
    uint32_t crc = 0;
    if (!parse_hex32(v, crc))
      throw ModelFileError(path, bad + "has a checksum for tensor '" + name +
                                     "' that is not 8 hexadecimal digits: the file is corrupt");
    c.tensors[name] = crc;
  }
  return c;
}

std::string offsets_str(uint64_t b, uint64_t e) { return "[" + std::to_string(b) + ", " + std::to_string(e) + "]"; }

// Bytes per element of a dtype the reader takes; 0 for any other.
uint64_t element_bytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "BF16") return 2;
  if (dtype == "I8") return 1;
  return 0;
}

// A tensor's values as a narrower dtype stores them (little-endian), refusing any value the
// dtype cannot hold exactly: BF16 keeps a float's high 16 bits, I8 an integer in −128..127.
std::string narrow(const fs::path& path, const std::string& name, const Tensor& t, const std::string& dtype) {
  std::string out;
  const int64_t n = t.numel();
  if (dtype == "BF16") {
    out.resize(static_cast<size_t>(n) * 2);
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, t.data() + i, 4);
      if ((u & 0xffffu) != 0)
        throw ModelFileError(path, "tensor '" + name + "' holds " + std::to_string(t[i]) +
                                       ", which is not a bfloat16 value; refusing to store it as BF16");
      out[static_cast<size_t>(2 * i)] = static_cast<char>((u >> 16) & 0xff);
      out[static_cast<size_t>(2 * i + 1)] = static_cast<char>(u >> 24);
    }
  } else if (dtype == "I8") {
    out.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float v = t[i];
      if (!(v >= -128.f && v <= 127.f) || v != static_cast<float>(static_cast<int>(v)))
        throw ModelFileError(path, "tensor '" + name + "' holds " + std::to_string(v) +
                                       ", which is not an integer in -128..127; refusing to store it as I8");
      out[static_cast<size_t>(i)] = static_cast<char>(static_cast<int8_t>(v));
    }
  } else {
    throw ModelFileError(path, "tensor '" + name + "': cannot store dtype " + dtype + " (F32, BF16 or I8)");
  }
  return out;
}

// The stored bytes of a BF16 or I8 tensor widened into `t`'s float32 values (exact).
void widen(const std::string& dtype, const unsigned char* b, Tensor& t) {
  const int64_t n = t.numel();
  float* d = t.data();
  if (dtype == "BF16") {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t u = (static_cast<uint32_t>(b[2 * i]) | (static_cast<uint32_t>(b[2 * i + 1]) << 8)) << 16;
      std::memcpy(d + i, &u, 4);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(static_cast<int8_t>(b[i]));
  }
}

// One tensor's header entry, checked field by field.
Entry parse_entry(const fs::path& path, const std::string& name, const json& v) {
  auto bad = [&](const std::string& what) { return ModelFileError(path, "tensor '" + name + "': " + what); };
  if (name.empty()) throw ModelFileError(path, "header has a tensor with an empty name");
  if (!v.is_object()) throw bad("header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) throw bad(std::string("header entry lacks '") + key + "'");
  const json& dtype = v.at("dtype");
  if (!dtype.is_string()) throw bad("'dtype' is not a string");
  const std::string dt = dtype.get<std::string>();
  const uint64_t elem = element_bytes(dt);
  if (elem == 0)
    throw bad("dtype is " + dt + "; backprop reads F32 (float32) tensors, and BF16 and I8 for quantized models");

  Entry e;
  e.name = name;
  e.dtype = dt;
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
  overflow = overflow || __builtin_mul_overflow(numel, elem, &bytes);
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

uint32_t crc32_of(const void* data, size_t size, uint32_t crc) {
  if (size == 0) return crc;  // zlib returns 0 for a null buffer, whatever `crc` is
  return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(data), size));
}

std::string header_digest_bytes(const std::map<std::string, std::string>& metadata,
                                const std::vector<HeaderEntry>& entries) {
  std::string out;
  for (const auto& [k, v] : metadata) {  // std::map: byte order of the keys
    if (k == kChecksumsKey) continue;
    put_str(out, k);
    put_str(out, v);
  }
  std::vector<const HeaderEntry*> by_name;
  for (const auto& e : entries) by_name.push_back(&e);
  std::sort(by_name.begin(), by_name.end(), [](const HeaderEntry* a, const HeaderEntry* b) { return a->name < b->name; });
  for (const HeaderEntry* e : by_name) {
    put_str(out, e->name);
    put_str(out, e->dtype);
    put_u64(out, e->shape.size());
    for (int64_t d : e->shape) put_u64(out, static_cast<uint64_t>(d));
    put_u64(out, e->begin);
    put_u64(out, e->end);
  }
  return out;
}

namespace {

// The reader proper, over any source of bytes of a known size.
SafeTensorsFile read_impl(const fs::path& path, uint64_t file_size, const ReadAt& read_at, bool verify) {
  if (file_size < 8)
    throw ModelFileError(path, "too short to be a safetensors file (" + std::to_string(file_size) +
                                   " bytes; the header length alone takes 8)");

  int err = 0;
  unsigned char len_bytes[8];
  if (read_at(len_bytes, 8, 0, err) != 8)
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
  if (read_at(header.data(), header_len, 8, err) != header_len)
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

  // The checksums: the header's first (so that damage there is reported as such), then each
  // tensor's as it is read. Each tensor must have exactly one.
  Checksums sums;
  if (auto it = out.metadata.find(kChecksumsKey); it != out.metadata.end()) {
    sums = parse_checksums(path, it->second);
    out.has_checksums = true;
    out.metadata.erase(it);
    for (const Entry& e : entries)
      if (!sums.tensors.count(e.name))
        throw ModelFileError(path, "tensor '" + e.name + "' has no checksum in '" + kChecksumsKey +
                                       "': the file is corrupt or was edited by hand");
    if (sums.tensors.size() != entries.size())
      for (const auto& item : sums.tensors) {
        const std::string& name = item.first;
        if (std::none_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; }))
          throw ModelFileError(path, "'" + std::string(kChecksumsKey) + "' has a checksum for tensor '" + name +
                                         "', which the file does not have: the file is corrupt or was edited by hand");
      }
    if (verify) {
      const std::string digest = header_digest_bytes(out.metadata, entries);
      const uint32_t crc = crc32_of(digest.data(), digest.size());
      if (crc != sums.header)
        throw ModelFileError(path, "the header fails its checksum (stored " + hex32(sums.header) + ", computed " +
                                       hex32(crc) + "): the file is corrupt or its metadata was edited by hand");
    }
  }

  const uint64_t data_start = 8 + header_len;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape);
    const size_t bytes = static_cast<size_t>(e.end - e.begin);
    if (e.dtype != "F32") {
      std::vector<unsigned char> raw(bytes);
      if (read_at(raw.data(), bytes, data_start + e.begin, err) != bytes)
        throw ModelFileError(
            path, "cannot read tensor '" + e.name +
                      "': " + (err ? errno_text(err) : "unexpected end of file (did it change while being read?)"));
      if (out.has_checksums && verify && crc32_of(raw.data(), bytes) != sums.tensors.at(e.name))
        throw ModelFileError(path, "tensor '" + e.name + "' fails its checksum: the file is corrupt");
      widen(e.dtype, raw.data(), t);
      out.dtypes[e.name] = e.dtype;
      out.tensors.emplace_back(e.name, std::move(t));
      continue;
    }
    if (read_at(t.data(), bytes, data_start + e.begin, err) != bytes)
      throw ModelFileError(
          path, "cannot read tensor '" + e.name +
                    "': " + (err ? errno_text(err) : "unexpected end of file (did it change while being read?)"));
    if (out.has_checksums && verify && crc32_of(t.data(), bytes) != sums.tensors.at(e.name))
      throw ModelFileError(path, "tensor '" + e.name + "' fails its checksum: the file is corrupt");
    floats_le_inplace(t.data(), t.numel());
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

}  // namespace

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
  return read_impl(path, static_cast<uint64_t>(st.st_size),
                   [&](void* buf, size_t n, uint64_t offset, int& err) { return pread_full(f.fd, buf, n, offset, err); },
                   true);
}

SafeTensorsFile parse_safetensors(const void* data, size_t size, const fs::path& name, bool verify_checksums) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  return read_impl(
      name, size,
      [&](void* buf, size_t n, uint64_t offset, int& err) -> size_t {
        err = 0;
        if (offset >= size) return 0;
        const size_t got = std::min<uint64_t>(n, size - offset);
        if (got > 0) std::memcpy(buf, bytes + offset, got);
        return got;
      },
      verify_checksums);
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
                       const std::map<std::string, std::string>& metadata, bool checksums,
                       const std::map<std::string, std::string>& dtypes) {
  // The narrower tensors' bytes, made (and checked) before anything is written.
  std::map<std::string, std::string> narrowed;
  for (const auto& [name, dt] : dtypes) {
    auto it = std::find_if(tensors.begin(), tensors.end(), [&](const auto& nt) { return nt.first == name; });
    if (it == tensors.end()) throw ModelFileError(path, "a dtype is given for tensor '" + name + "', which is not saved");
    if (dt != "F32") narrowed[name] = narrow(path, name, it->second, dt);
  }
  if (metadata.count(kChecksumsKey))
    throw ModelFileError(path, std::string("the metadata key '") + kChecksumsKey + "' is reserved for the checksums");
  // Header: __metadata__ first, then the tensors in data order (readers accept any order).
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty() || checksums) {
    auto& m = h["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  uint64_t offset = 0;
  std::vector<HeaderEntry> entries;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == "__metadata__") throw ModelFileError(path, "cannot save a tensor named '" + name + "'");
    if (h.contains(name)) throw ModelFileError(path, "cannot save two tensors named '" + name + "'");
    if (!t.defined()) throw ModelFileError(path, "tensor '" + name + "' is undefined");
    const auto nw = narrowed.find(name);
    const std::string dt = nw == narrowed.end() ? "F32" : dtypes.at(name);
    const uint64_t bytes = nw == narrowed.end() ? static_cast<uint64_t>(t.numel()) * 4 : nw->second.size();
    h[name] = {{"dtype", dt}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    entries.push_back({name, t.shape(), offset, offset + bytes, dt});
    offset += bytes;
  }
  if (checksums) {
    nlohmann::ordered_json sums = nlohmann::ordered_json::object();
    for (const auto& [name, t] : tensors) {
      const auto nw = narrowed.find(name);
      sums[name] = hex32(nw == narrowed.end() ? tensor_crc(t) : crc32_of(nw->second.data(), nw->second.size()));
    }
    const std::string digest = header_digest_bytes(metadata, entries);
    nlohmann::ordered_json c = {
        {"algorithm", "crc32"}, {"header", hex32(crc32_of(digest.data(), digest.size()))}, {"tensors", sums}};
    try {
      h["__metadata__"][kChecksumsKey] = c.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::exception& e) {
      throw ModelFileError(path, std::string("a tensor name is not valid UTF-8 (") + e.what() + ")");
    }
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
      if (const auto nw = narrowed.find(name); nw != narrowed.end()) {
        put(nw->second.data(), nw->second.size());
        continue;
      }
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
