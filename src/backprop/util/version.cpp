#include "backprop/util/version.hpp"

namespace bp {

const char* library_version() { return BACKPROP_VERSION_STRING; }

}  // namespace bp
