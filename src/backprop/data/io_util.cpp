#include "backprop/data/io_util.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "backprop/data/error.hpp"

namespace bp::data {

namespace {

template <typename Buffer>
Buffer read_all(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, 0, "cannot read file (it is a directory)");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail(path, 0, std::string("cannot read file (") + std::strerror(errno) + ")");
  Buffer out;
  const auto size_hint = std::filesystem::file_size(path, ec);
  if (!ec) out.reserve(size_hint);
  char chunk[1 << 16];
  while (true) {
    const size_t n = std::fread(chunk, 1, sizeof chunk, f.get());
    out.insert(out.end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  if (std::ferror(f.get())) fail(path, 0, std::string("cannot read file (") + std::strerror(errno) + ")");
  return out;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) { return read_all<std::vector<uint8_t>>(path); }
std::string read_file_text(const std::string& path) { return read_all<std::string>(path); }

}  // namespace bp::data
