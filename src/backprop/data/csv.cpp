#include "backprop/data/csv.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <unordered_map>

#include "backprop/data/io_util.hpp"

namespace bp::data {

namespace {

// UCI's dialect: in the first 100 lines, every separator outside quotes is followed by exactly
// one space (and there is at least one separator).
bool one_space_after_separators(std::string_view s) {
  bool quoted = false, any = false;
  int lines = 0;
  for (size_t i = 0; i < s.size() && lines < 100; ++i) {
    const char c = s[i];
    if (c == '"') quoted = !quoted;
    else if (!quoted && c == '\n') ++lines;
    else if (!quoted && c == ',') {
      if (i + 1 >= s.size() || s[i + 1] != ' ' || (i + 2 < s.size() && s[i + 2] == ' ')) return false;
      any = true;
    }
  }
  return any;
}

// The length of the valid UTF-8 sequence at s[i], or 0 when the byte there starts none
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned c = b(0);
  const auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return b(k) >= lo && b(k) <= hi; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const bool second = c == 0xE0 ? cont(1, 0xA0) : c == 0xED ? cont(1, 0x80, 0x9F) : cont(1);
    return second && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const bool second = c == 0xF0 ? cont(1, 0x90) : c == 0xF4 ? cont(1, 0x80, 0x8F) : cont(1);
    return second && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// Refuses text that is not UTF-8: binary data as such (judged on the first KiB), otherwise
// the first invalid byte with its line and column.
void check_text(std::string_view s, std::string_view source) {
  const size_t head = std::min<size_t>(s.size(), 1024);
  size_t suspicious = 0;
  bool nul = false;
  for (size_t i = 0; i < head;) {
    const auto c = static_cast<unsigned char>(s[i]);
    nul = nul || c == 0;
    const size_t n = utf8_length(s, i);
    if (n == 0 || c == 0x7F || (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v'))
      ++suspicious;
    i += n == 0 ? 1 : n;
  }
  if (nul || suspicious * 8 > head)
    throw DataError(std::string(source) + " is not a text CSV file (it looks like binary data)");
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = utf8_length(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i >= s.size()) return;
  // Line as the parser counts them (LF, CRLF or a lone CR), column in characters.
  int64_t line = 1;
  size_t line_start = 0;
  for (size_t k = 0; k < i; ++k)
    if (s[k] == '\n' || (s[k] == '\r' && (k + 1 >= s.size() || s[k + 1] != '\n'))) {
      ++line;
      line_start = k + 1;
    }
  int64_t column = 1;
  for (size_t k = line_start; k < i; ++k) column += (static_cast<unsigned char>(s[k]) & 0xC0) != 0x80;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(s[i]));
  fail(source, line, std::string("not UTF-8 text (byte ") + byte + " at column " + std::to_string(column) +
                         "); convert it, e.g. iconv -f latin1 -t utf-8 " + std::string(source) + " > converted.csv");
}

// A single forward pass over the text; tracks the line number for messages.
class CsvParser {
 public:
  CsvParser(std::string_view text, std::string_view source, const CsvOptions& options)
      : s_(text), source_(source), na_values_(options.na_values) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte-order mark
    skip_spaces_ = options.initial_space == CsvOptions::InitialSpace::Skip ||
                   (options.initial_space == CsvOptions::InitialSpace::Auto && one_space_after_separators(s_.substr(pos_)));
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
        if (skip_spaces_)
          while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
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
    cell.missing = v.empty() || std::find(na_values_.begin(), na_values_.end(), v) != na_values_.end();
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
  const std::vector<std::string>& na_values_;
  bool skip_spaces_ = false;
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

Table parse_csv(std::string_view text, std::string_view source, const CsvOptions& options) {
  check_text(text, source);
  Table t;
  t.source = std::string(source);
  CsvParser parser(text, source, options);
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

// A gzip file (found by its magic bytes, whatever its name) is read as the text it holds.
Table read_csv(const std::string& path, const CsvOptions& options) {
  std::string bytes = read_file_text(path);
  if (bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b') bytes = gunzip(bytes, path);
  return parse_csv(bytes, path, options);
}

}  // namespace bp::data
