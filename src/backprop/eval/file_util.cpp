#include "backprop/eval/file_util.hpp"

#include <cctype>
#include <filesystem>

namespace bp::eval::detail {

std::string file_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace bp::eval::detail
