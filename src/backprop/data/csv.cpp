#include "backprop/data/csv.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>

#include "backprop/data/io_util.hpp"

namespace bp::data {

namespace {

// A single forward pass over the text; tracks the line number for messages.
class CsvParser {
 public:
  CsvParser(std::string_view text, std::string_view source) : s_(text), source_(source) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte-order mark
  }

  int64_t line() const { return line_; }

  // Reads the next record into `fields` (cleared first), skipping empty lines before it.
  // Returns false at the end of the text. `start_line` is the line the record starts on.
  bool next_record(std::vector<Cell>& fields, int64_t& start_line) {
    fields.clear();
    while (pos_ < s_.size() && (s_[pos_] == '\n' || s_[pos_] == '\r')) skip_line_end();
    if (pos_ >= s_.size()) return false;
    start_line = line_;
    while (true) {
      fields.emplace_back();
      read_field(fields.back(), fields.size());
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size()) skip_line_end();
      return true;
    }
  }

 private:
  bool at_line_end() const { return pos_ >= s_.size() || s_[pos_] == '\n' || s_[pos_] == '\r'; }

  // Consumes one LF, CRLF or lone CR.
  void skip_line_end() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  void read_field(Cell& cell, size_t field_no) {
    if (pos_ < s_.size() && s_[pos_] == '"') {
      read_quoted(cell, field_no);
    } else {
      const size_t start = pos_;
      while (pos_ < s_.size()) {
        const char c = s_[pos_];
        if (c == ',' || c == '\n' || c == '\r') break;
        if (c == '"')
          fail(source_, line_, "quote inside unquoted field " + std::to_string(field_no) +
                                   " (a field with quotes must be enclosed in quotes, with \"\" for each quote)");
        ++pos_;
      }
      cell.text.assign(s_.substr(start, pos_ - start));
    }
    // Missing: empty or NA, ignoring surrounding spaces and tabs.
    std::string_view v = cell.text;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    cell.missing = v.empty() || v == "NA";
  }

  void read_quoted(Cell& cell, size_t field_no) {
    const int64_t open_line = line_;
    cell.quoted = true;
    ++pos_;  // opening quote
    while (true) {
      // Copy the run up to the next quote in one go, counting the line breaks in it.
      const size_t q = s_.find('"', pos_);
      const size_t end = q == std::string_view::npos ? s_.size() : q;
      for (size_t k = pos_; k < end; ++k)
        if (s_[k] == '\n' || (s_[k] == '\r' && (k + 1 >= s_.size() || s_[k + 1] != '\n'))) ++line_;
      cell.text.append(s_.substr(pos_, end - pos_));
      pos_ = end;
      if (q == std::string_view::npos)
        fail(source_, open_line, "unterminated quoted field " + std::to_string(field_no) +
                                     " (the quote opened on this line never closes)");
      if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {  // "" stands for one quote
        cell.text.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;  // closing quote
      break;
    }
    if (!at_line_end() && s_[pos_] != ',')
      fail(source_, line_, "unexpected " + quote_text(s_.substr(pos_, 1)) + " after the closing quote of field " +
                               std::to_string(field_no) + " (expected ',' or the end of the line)");
  }

  std::string_view s_;
  std::string_view source_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

}  // namespace

int64_t Table::find_column(std::string_view name) const {
  for (size_t j = 0; j < columns.size(); ++j)
    if (columns[j] == name) return static_cast<int64_t>(j);
  return -1;
}

int64_t Table::column_index(std::string_view name) const {
  const int64_t j = find_column(name);
  if (j < 0) fail(source, 0, "no column " + quote_text(name) + " (columns: " + join_names(columns) + ")");
  return j;
}

int64_t Table::count_missing(int64_t col) const {
  int64_t n = 0;
  for (int64_t r = 0; r < num_rows(); ++r) n += cell(r, col).missing;
  return n;
}

std::string Table::where(int64_t row) const { return source + ":" + std::to_string(lines[row]); }

std::string join_names(const std::vector<std::string>& names, size_t max_names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max_names; ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  if (names.size() > max_names) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

Table parse_csv(std::string_view text, std::string_view source) {
  Table t;
  t.source = std::string(source);
  CsvParser parser(text, source);
  std::vector<Cell> fields;
  int64_t line = 1;
  if (!parser.next_record(fields, line)) fail(source, 1, "empty file (no header line)");

  std::unordered_map<std::string, size_t> seen;
  for (size_t j = 0; j < fields.size(); ++j) {
    std::string& name = fields[j].text;
    if (name.empty()) fail(source, line, "column " + std::to_string(j + 1) + " has an empty name in the header");
    auto [it, inserted] = seen.emplace(name, j);
    if (!inserted)
      fail(source, line, "duplicate column name " + quote_text(name) + " (columns " + std::to_string(it->second + 1) +
                             " and " + std::to_string(j + 1) + ")");
    t.columns.push_back(std::move(name));
  }

  const size_t ncols = t.columns.size();
  // Reserve room for one row per line, but never more cells than separators + line
  // breaks + 1 (a file of blank lines under a wide header must not reserve much).
  const auto line_breaks = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  const auto commas = static_cast<size_t>(std::count(text.begin(), text.end(), ','));
  t.cells.reserve(std::min(line_breaks * ncols, commas + line_breaks + 1));
  t.lines.reserve(line_breaks);
  while (parser.next_record(fields, line)) {
    if (fields.size() != ncols)
      fail(source, line, "expected " + std::to_string(ncols) + " fields, found " + std::to_string(fields.size()));
    for (Cell& c : fields) t.cells.push_back(std::move(c));
    t.lines.push_back(line);
  }
  if (t.lines.empty()) fail(source, parser.line(), "no data rows (only a header)");
  return t;
}

namespace {
// The text of a gzip file (one gzip stream, as `gzip` writes it), inflated whole: a CSV is
// parsed in one pass over its text. zlib checks the header and the CRC-32 and length trailer;
// idx.cpp reads gzip the same way, but on demand, because an IDX header declares its size.
std::string gunzip(const std::string& bytes, const std::string& source) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 15 window bits + 16: expect a gzip wrapper.
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::bad_alloc();
  std::string out;
  out.reserve(bytes.size() * 4);
  char chunk[1 << 16];
  size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    // zlib counts in uInt: feed at most 1 GiB per call.
    if (zs.avail_in == 0) {
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + consumed));
      zs.avail_in = static_cast<uInt>(std::min(bytes.size() - consumed, size_t{1} << 30));
    }
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    const uInt in_before = zs.avail_in;
    rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_before - zs.avail_in;
    const size_t produced = sizeof chunk - zs.avail_out;
    out.append(chunk, produced);
    if (rc == Z_MEM_ERROR) {
      inflateEnd(&zs);
      throw std::bad_alloc();
    }
    std::string why;
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR)
      why = std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "inflate failed") + ")";
    else if (rc != Z_STREAM_END && produced == 0 && in_before == zs.avail_in)
      why = consumed == bytes.size() ? "truncated gzip stream (the compressed data ends early)"
                                     : "corrupt gzip data (inflate made no progress)";
    else if (rc == Z_STREAM_END && consumed != bytes.size())
      why = std::to_string(bytes.size() - consumed) + " bytes of trailing data after the gzip stream";
    if (!why.empty()) {
      inflateEnd(&zs);
      fail(source, 0, why);
    }
  }
  inflateEnd(&zs);
  return out;
}
}  // namespace

// A gzip file (found by its magic bytes, whatever its name) is read as the text it holds.
Table read_csv(const std::string& path) {
  std::string bytes = read_file_text(path);
  if (bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b') bytes = gunzip(bytes, path);
  return parse_csv(bytes, path);
}

}  // namespace bp::data
