// CSV reader: text → a raw Table of strings (no numbers yet; see preprocess.hpp).
//
// Accepted format (RFC 4180, plus what R's write.csv produces):
//  * the first record is the header: one non-empty, unique name per column;
//  * fields separated by ','; records end with LF, CRLF or a lone CR; the last line
//    break is optional; completely empty lines are skipped;
//  * a field may be enclosed in double quotes; inside, "" stands for one quote and
//    commas and line breaks are literal. After the closing quote only a separator or
//    line end may follow. A quote inside an unquoted field is an error;
//  * an empty field is missing, and so is a field whose text (quoted or not, spaces and tabs
//    around ignored) is one of CsvOptions::na_values: by default NA (R) and ? (UCI);
//  * spaces after a separator (UCI's "39, State-gov, 77516") are dropped when
//    CsvOptions::initial_space says Skip, or, by default (Auto), when in the first 100 lines
//    every separator outside quotes is followed by exactly one space;
//  * the text must be UTF-8 (ASCII is): a file with a NUL byte in its first KiB, or with more
//    than 1 in 8 of those bytes invalid UTF-8 or control characters, is refused as binary
//    ("x.png is not a text CSV file (it looks like binary data)"); any other invalid byte is
//    refused with its line and column ("x.csv:3: not UTF-8 text (byte 0xE9 at column 7); ...");
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

// The CSV dialect beyond RFC 4180 (the command's --na-values and --skip-initial-space).
struct CsvOptions {
  // Texts that mark a missing value besides the empty field, compared after trimming spaces and tabs.
  std::vector<std::string> na_values{"NA", "?"};
  enum class InitialSpace { Auto, Skip, Keep };
  InitialSpace initial_space = InitialSpace::Auto;
};

struct Cell {
  std::string text;      // field text with quotes removed and "" unescaped
  bool missing = false;  // empty or one of the na_values (after trimming spaces and tabs)
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
Table parse_csv(std::string_view text, std::string_view source = "<memory>", const CsvOptions& options = {});
// Reads and parses a CSV file (gzip-compressed or not).
Table read_csv(const std::string& path, const CsvOptions& options = {});

// "a, b, c": the column names joined, for messages.
std::string join_names(const std::vector<std::string>& names, size_t max_names = 30);

}  // namespace bp::data
