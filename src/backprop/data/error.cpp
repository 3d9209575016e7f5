#include "backprop/data/error.hpp"

#include <cstdio>

namespace bp::data {

std::string located(std::string_view source, int64_t line, std::string_view message) {
  std::string out(source);
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  out += message;
  return out;
}

void fail(std::string_view source, int64_t line, std::string_view message) {
  throw DataError(located(source, line, message));
}

std::string quote_text(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

}  // namespace bp::data
