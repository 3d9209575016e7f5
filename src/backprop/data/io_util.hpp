// Internal helpers of the data module: whole-file reads with DataError on failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bp::data {

// The whole file as bytes / as text. A missing, unreadable or directory path is a
// DataError "PATH: cannot read file (reason)".
std::vector<uint8_t> read_file_bytes(const std::string& path);
std::string read_file_text(const std::string& path);
// The text one gzip stream holds (csv.cpp); a corrupt or truncated stream is a DataError naming `source`.
std::string gunzip(const std::string& bytes, const std::string& source);

}  // namespace bp::data
