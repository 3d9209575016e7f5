// Small file helpers shared by the eval writers (internal to src/backprop/eval).
#pragma once

#include <string>

namespace bp::eval::detail {

// Lower-cased extension of path including the dot (".png"), or "" when there is none.
std::string file_extension(const std::string& path);

// A temporary path next to `path` (same directory, so the final rename is atomic).
std::string temporary_path_for(const std::string& path);

// Renames tmp over path; on failure removes tmp and throws std::runtime_error naming path.
void commit_temporary(const std::string& tmp, const std::string& path);

// Writes content to path atomically (temporary file + rename). Throws std::runtime_error
// naming the path when it cannot be written.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace bp::eval::detail
