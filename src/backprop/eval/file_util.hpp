// Small file helpers shared by the eval writers (internal to src/backprop/eval). Files are
// written through the program's one atomic writer, util/atomic_file.hpp.
#pragma once

#include <string>

namespace bp::eval::detail {

// Lower-cased extension of path including the dot (".png"), or "" when there is none.
std::string file_extension(const std::string& path);

}  // namespace bp::eval::detail
