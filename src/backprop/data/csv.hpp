// CSV reader: text → a raw Table of strings (no numbers yet; see preprocess.hpp).
//
// Accepted format (RFC 4180, plus what R's write.csv produces):
//  * the first record is the header: one non-empty, unique name per column;
//  * fields separated by ','; records end with LF, CRLF or a lone CR; the last line
//    break is optional; completely empty lines are skipped;
//  * a field may be enclosed in double quotes; inside, "" stands for one quote and
//    commas and line breaks are literal. After the closing quote only a separator or
//    line end may follow. A quote inside an unquoted field is an error;
//  * an empty field or the text NA (quoted or not, spaces and tabs around ignored) is missing;
//  * a UTF-8 byte-order mark at the very start is skipped.
// Every record must have as many fields as the header. Errors are DataErrors naming the
// source and the line, e.g. "data.csv:17: expected 5 fields, found 4".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backprop/data/error.hpp"

namespace bp::data {

struct Cell {
  std::string text;      // field text with quotes removed and "" unescaped
  bool missing = false;  // empty or NA (after trimming spaces and tabs)
  bool quoted = false;   // the field was enclosed in double quotes
};

// A parsed CSV file: column names and a row-major grid of cells.
struct Table {
  std::string source;                // file name (or "<memory>") for messages
  std::vector<std::string> columns;  // header names, in file order
  std::vector<Cell> cells;           // num_rows() * num_cols() cells, row-major
  std::vector<int64_t> lines;        // 1-based line in the source where each row starts

  int64_t num_rows() const { return static_cast<int64_t>(lines.size()); }
  int64_t num_cols() const { return static_cast<int64_t>(columns.size()); }
  const Cell& cell(int64_t row, int64_t col) const { return cells[row * num_cols() + col]; }
  // Index of the column named `name`, or -1.
  int64_t find_column(std::string_view name) const;
  // Index of the column named `name`; DataError listing the available columns if absent.
  int64_t column_index(std::string_view name) const;
  // Number of missing cells in column `col`.
  int64_t count_missing(int64_t col) const;
  // "file.csv:LINE" of a row, for messages.
  std::string where(int64_t row) const;
};

// Parses CSV text. `source` names the text in error messages.
Table parse_csv(std::string_view text, std::string_view source = "<memory>");
// Reads and parses a CSV file.
Table read_csv(const std::string& path);

// "a, b, c": the column names joined, for messages.
std::string join_names(const std::vector<std::string>& names, size_t max_names = 30);

}  // namespace bp::data
