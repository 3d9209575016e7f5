// One numeric cell of a table (CSV text) as a number: the one parser the target scan and the
// column fitting share, so that a column and its target agree on what counts as a number.
#pragma once

#include <string_view>

namespace bp::data {

enum class NumberParse { Number, NonFinite, Text };

// Trims spaces/tabs, accepts one leading '+', parses with std::from_chars (locale-free, no
// hex). NonFinite: nan/inf or an overflowing number (1e999); underflow gives 0. `value` is
// set only for Number.
NumberParse parse_number(std::string_view text, double& value);

// True if v converts to a finite float32 (checked before converting: a double outside the
// float range has no float value).
bool fits_float(double v);

}  // namespace bp::data
