#include "backprop/data/number.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <system_error>

namespace bp::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// For a decimal number that std::from_chars found out of range: true if it is too small
// (underflow, becomes 0) rather than too large. Decides by the decimal exponent of the
// first non-zero digit.
bool underflows(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  int64_t int_digits = 0;  // digits before the point, after leading zeros
  int64_t leading_frac_zeros = 0;
  bool seen_nonzero = false, in_frac = false;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '.'); ++i) {
    if (s[i] == '.') {
      in_frac = true;
      continue;
    }
    if (s[i] != '0') seen_nonzero = true;
    if (!in_frac && seen_nonzero) ++int_digits;
    if (in_frac && !seen_nonzero) ++leading_frac_zeros;
  }
  int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
    for (; i < s.size() && is_digit(s[i]); ++i) exponent = std::min<int64_t>(exponent * 10 + (s[i] - '0'), 1'000'000'000);
    if (negative) exponent = -exponent;
  }
  // The first non-zero digit stands for 10^(int_digits - 1) or 10^-(leading_frac_zeros + 1).
  const int64_t magnitude = (int_digits > 0 ? int_digits - 1 : -(leading_frac_zeros + 1)) + exponent;
  return magnitude < 0;
}

}  // namespace

NumberParse parse_number(std::string_view text, double& value) {
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (s.empty() || !(is_digit(s.front()) || s.front() == '.')) return NumberParse::Text;
  }
  if (s.empty()) return NumberParse::Text;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec == std::errc::invalid_argument || end != s.data() + s.size()) return NumberParse::Text;
  if (ec == std::errc::result_out_of_range) {
    if (!underflows(s)) return NumberParse::NonFinite;
    v = 0;
  }
  if (!std::isfinite(v)) return NumberParse::NonFinite;
  value = v;
  return NumberParse::Number;
}

bool fits_float(double v) { return std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max()); }

}  // namespace bp::data
