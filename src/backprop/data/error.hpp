// DataError: the one exception type of the data module. Every malformed input (a bad CSV
// field, a truncated IDX file, an unknown column, a class never seen in training) ends in
// a DataError whose message starts with where the problem is:
//
//   data.csv:17: expected 5 fields, found 4
//   train-images-idx3-ubyte.gz: truncated: header declares 47040000 data bytes, found 1200
//   preprocessor json: field 'columns[2].scale' must be a positive finite number
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bp::data {

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "source:line: message" (line <= 0 leaves the line out: "source: message").
std::string located(std::string_view source, int64_t line, std::string_view message);

// Throws DataError(located(source, line, message)).
[[noreturn]] void fail(std::string_view source, int64_t line, std::string_view message);

// Quotes a piece of user text for a message, shortened to at most 40 characters and with
// control characters escaped, so that a binary blob never floods or garbles a message.
std::string quote_text(std::string_view text);

}  // namespace bp::data
