#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>

#include "backprop/data/csv.hpp"
#include "data_test_util.hpp"

using namespace bp::data;
using bp::data::testing::repo_data;
using bp::data::testing::write_temp;

TEST(DataCsv, ParsesQuotesEscapesAndMissing) {
  const Table t = parse_csv("a,\"b c\",d\r\n1,\"x,\"\"y\"\"\",NA\r\n,\"\",\" NA \"\r\n\"multi\nline\",2,3", "mem.csv");
  ASSERT_EQ(t.num_cols(), 3);
  ASSERT_EQ(t.num_rows(), 3);
  EXPECT_EQ(t.columns[1], "b c");
  EXPECT_EQ(t.cell(0, 1).text, "x,\"y\"");
  EXPECT_TRUE(t.cell(0, 1).quoted);
  EXPECT_FALSE(t.cell(0, 0).quoted);
  EXPECT_TRUE(t.cell(0, 2).missing);
  EXPECT_TRUE(t.cell(1, 0).missing);
  EXPECT_TRUE(t.cell(1, 1).missing);
  EXPECT_TRUE(t.cell(1, 2).missing);
  EXPECT_EQ(t.cell(2, 0).text, "multi\nline");
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t.count_missing(1), 1);
}

TEST(DataCsv, LineEndingsBomAndBlankLines) {
  const Table lf = parse_csv("\xEF\xBB\xBFx,y\n1,2\n\n3,4\n\n");
  const Table cr = parse_csv("x,y\r1,2\r3,4");
  for (const Table* t : {&lf, &cr}) {
    EXPECT_EQ(t->columns, (std::vector<std::string>{"x", "y"}));
    ASSERT_EQ(t->num_rows(), 2);
    EXPECT_EQ(t->cell(1, 1).text, "4");
  }
  EXPECT_EQ(lf.lines[1], 4);  // the blank line 3 is skipped but still counted
}

TEST(DataCsv, WrongFieldCountNamesFileAndLine) {
  EXPECT_DATA_ERROR(parse_csv("a,b,c\n1,2,3\n4,5\n", "data.csv"), "data.csv:3: expected 3 fields, found 2");
  EXPECT_DATA_ERROR(parse_csv("a,b\n1,2,3\n", "data.csv"), "data.csv:2: expected 2 fields, found 3");
  EXPECT_DATA_ERROR(parse_csv("a,b\n\"1\n2\",3\n4\n", "data.csv"), "data.csv:4: expected 2 fields, found 1");
}

TEST(DataCsv, UnterminatedQuoteNamesOpeningLine) {
  EXPECT_DATA_ERROR(parse_csv("a,b\n1,2\n3,\"oops\n4,5\n", "q.csv"), "q.csv:3: unterminated quoted field 2");
  EXPECT_DATA_ERROR(parse_csv("\"a", "q.csv"), "q.csv:1: unterminated quoted field 1");
}

TEST(DataCsv, StrayQuotesAreErrors) {
  EXPECT_DATA_ERROR(parse_csv("a,b\n1,x\"y\n", "s.csv"), "s.csv:2: quote inside unquoted field 2");
  EXPECT_DATA_ERROR(parse_csv("a,b\n1,\"x\"y\n", "s.csv"), "s.csv:2: unexpected 'y' after the closing quote of field 2");
}

TEST(DataCsv, EmptyAndHeaderOnlyAreErrors) {
  EXPECT_DATA_ERROR(parse_csv("", "e.csv"), "e.csv:1: empty file");
  EXPECT_DATA_ERROR(parse_csv("\n\r\n", "e.csv"), "empty file");
  EXPECT_DATA_ERROR(parse_csv("a,b\n", "h.csv"), "h.csv:2: no data rows");
  EXPECT_DATA_ERROR(parse_csv("a,b", "h.csv"), "no data rows");
}

TEST(DataCsv, BadHeaderNames) {
  EXPECT_DATA_ERROR(parse_csv("a,,c\n1,2,3\n", "h.csv"), "h.csv:1: column 2 has an empty name");
  EXPECT_DATA_ERROR(parse_csv("a,b,a\n1,2,3\n", "h.csv"), "duplicate column name 'a' (columns 1 and 3)");
}

TEST(DataCsv, ReadsFileAndReportsMissingFile) {
  const std::string path = write_temp("small.csv", "x,y\n1,2\n3,4,5\n");
  EXPECT_DATA_ERROR(read_csv(path), path + ":3: expected 2 fields, found 3");
  EXPECT_DATA_ERROR(read_csv(path + ".absent"), "cannot read file");
  EXPECT_DATA_ERROR(read_csv(BACKPROP_BINARY_DIR), "cannot read file (it is a directory)");
  EXPECT_DATA_ERROR(Table().column_index("zz"), "no column 'zz'");
}

namespace {
// `text` gzip-compressed, as the gzip tool writes it (zlib's gzip wrapper: header, deflate
// stream, CRC-32 and length trailer).
std::string gzip_bytes(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, text.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
}  // namespace

TEST(DataCsv, ReadsGzipFilesAsTheirText) {
  // Larger than the reader's 64 KiB inflate chunk, so the loop runs more than once.
  std::string text = "x,name\n";
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",\"row " + std::to_string(i) + "\"\n";
  const std::string gz = gzip_bytes(text);
  ASSERT_GT(text.size(), size_t{1} << 16);
  const Table plain = read_csv(write_temp("gz/plain.csv", text));
  // Found by its magic bytes, not its name.
  for (const char* name : {"gz/packed.csv.gz", "gz/packed.csv"}) {
    const Table t = read_csv(write_temp(name, gz));
    ASSERT_EQ(t.num_rows(), 20000) << name;
    EXPECT_EQ(t.columns, plain.columns);
    EXPECT_EQ(t.lines, plain.lines);
    for (int64_t r = 0; r < t.num_rows(); r += 997) EXPECT_EQ(t.cell(r, 1).text, plain.cell(r, 1).text);
    EXPECT_EQ(t.cell(19999, 0).text, "19999");
  }
  // Errors name the file (and, inside the text, the line) as for a plain CSV.
  const std::string bad_row = write_temp("gz/bad.csv.gz", gzip_bytes("a,b\n1,2\n3\n"));
  EXPECT_DATA_ERROR(read_csv(bad_row), bad_row + ":3: expected 2 fields, found 1");
}

TEST(DataCsv, RejectsBrokenGzip) {
  const std::string gz = gzip_bytes("a,b\n1,2\n3,4\n");
  const std::string truncated = write_temp("gz/truncated.csv.gz", gz.substr(0, gz.size() - 6));
  EXPECT_DATA_ERROR(read_csv(truncated), truncated + ": truncated gzip stream");
  std::string flipped = gz;
  flipped[gz.size() - 6] ^= 0x01;  // a byte of the CRC-32 trailer
  const std::string bad_crc = write_temp("gz/crc.csv.gz", flipped);
  EXPECT_DATA_ERROR(read_csv(bad_crc), bad_crc + ": corrupt gzip data");
  const std::string trailing = write_temp("gz/trailing.csv.gz", gz + "junk");
  EXPECT_DATA_ERROR(read_csv(trailing), trailing + ": 4 bytes of trailing data after the gzip stream");
  const std::string header_only = write_temp("gz/header.csv.gz", gz.substr(0, 2));
  EXPECT_DATA_ERROR(read_csv(header_only), header_only + ": truncated gzip stream");
}

struct SharedCsv {
  const char* name;
  int64_t rows, cols;
};

TEST(DataCsv, ReadsEveryRepositoryDataSet) {
  for (const SharedCsv& s : {SharedCsv{"LetterRecognition.csv.gz", 20000, 17}, SharedCsv{"Ionosphere.csv", 351, 35},
                             SharedCsv{"Sonar.csv", 208, 61}, SharedCsv{"PimaIndiansDiabetes.csv", 768, 9},
                             SharedCsv{"BreastCancer.csv", 699, 11}, SharedCsv{"Servo.csv", 167, 5},
                             SharedCsv{"Adult.csv.gz", 32561, 15}, SharedCsv{"CalHousing.csv.gz", 20640, 9}}) {
    const Table t = read_csv(repo_data(s.name));
    EXPECT_EQ(t.num_rows(), s.rows) << s.name;
    EXPECT_EQ(t.num_cols(), s.cols) << s.name;
  }
}

TEST(DataCsv, BreastCancerMissingAndQuoting) {
  const Table t = read_csv(repo_data("BreastCancer.csv"));
  EXPECT_EQ(t.count_missing(t.column_index("Bare.nuclei")), 16);
  int64_t missing = 0;
  for (int64_t j = 0; j < t.num_cols(); ++j) missing += t.count_missing(j);
  EXPECT_EQ(missing, 16);
  EXPECT_TRUE(t.cell(0, t.column_index("Cl.thickness")).quoted);
  EXPECT_EQ(t.cell(0, 0).text, "1000025");
}

TEST(DataCsv, IonosphereQuotedColumns) {
  const Table t = read_csv(repo_data("Ionosphere.csv"));
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    ASSERT_TRUE(t.cell(r, 0).quoted);
    ASSERT_TRUE(t.cell(r, 1).quoted);
    ASSERT_FALSE(t.cell(r, 2).quoted);
    ASSERT_EQ(t.cell(r, 1).text, "0");  // V2 is constant
  }
}

TEST(DataCsv, LetterRecognitionLoadsFast) {
  const auto start = std::chrono::steady_clock::now();
  const Table t = read_csv(repo_data("LetterRecognition.csv.gz"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(t.cell(0, 0).text, "T");
  EXPECT_EQ(t.lines.back(), 20001);
  // Not a timing assertion (the machines are shared): recorded for docs/data.md.
  RecordProperty("read_seconds", std::to_string(seconds));
}

// UCI's own format (issue 9 D): ", " between fields and ? for a missing value.
TEST(DataCsv, UciDialectSpacesAfterSeparatorsAreDetected) {
  const Table t = parse_csv("age, work, y\n39, State-gov, <=50K\n50, ?, >50K\n38, \"Private, Inc\", <=50K\n", "uci.csv");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"age", "work", "y"}));
  EXPECT_EQ(t.cell(0, 1).text, "State-gov");
  EXPECT_EQ(t.cell(1, 2).text, ">50K");
  EXPECT_TRUE(t.cell(1, 1).missing);
  EXPECT_EQ(t.cell(2, 1).text, "Private, Inc");  // a quoted field after the space
  EXPECT_TRUE(t.cell(2, 1).quoted);
}

TEST(DataCsv, UnevenSpacesAfterSeparatorsAreKeptUnlessAsked) {
  // Not every separator is followed by exactly one space: the spaces are data.
  const std::string text = "a,b\n1,  2\n3, 4\n";
  const Table kept = parse_csv(text);
  EXPECT_EQ(kept.cell(0, 1).text, "  2");
  CsvOptions skip;
  skip.initial_space = CsvOptions::InitialSpace::Skip;
  const Table skipped = parse_csv(text, "<memory>", skip);
  EXPECT_EQ(skipped.cell(0, 1).text, "2");
  EXPECT_EQ(skipped.cell(1, 1).text, "4");
  CsvOptions keep;
  keep.initial_space = CsvOptions::InitialSpace::Keep;
  EXPECT_EQ(parse_csv("a, b\n1, 2\n", "<memory>", keep).columns[1], " b");
}

TEST(DataCsv, MissingValueMarkers) {
  const std::string text = "a,b\n?,1\n-, NA \n";
  const Table def = parse_csv(text);  // NA and ? by default
  EXPECT_TRUE(def.cell(0, 0).missing);
  EXPECT_FALSE(def.cell(1, 0).missing);
  EXPECT_TRUE(def.cell(1, 1).missing);
  CsvOptions dash;
  dash.na_values = {"-"};
  const Table t = parse_csv(text, "<memory>", dash);
  EXPECT_FALSE(t.cell(0, 0).missing);
  EXPECT_TRUE(t.cell(1, 0).missing);
  EXPECT_FALSE(t.cell(1, 1).missing);
  EXPECT_FALSE(parse_csv("a,b\n?x,1\n").cell(0, 0).missing);  // only a lone ?
}

TEST(DataCsv, AdultReadsAsUciMeant) {
  const Table t = read_csv(repo_data("Adult.csv.gz"));
  EXPECT_EQ(t.columns.back(), "Salary");
  EXPECT_EQ(t.columns[1], "workclass");
  // UCI's adult.names: 1836 unknown workclass, 1843 occupation, 583 native-country.
  EXPECT_EQ(t.count_missing(t.column_index("workclass")), 1836);
  EXPECT_EQ(t.count_missing(t.column_index("occupation")), 1843);
  EXPECT_EQ(t.count_missing(t.column_index("native-country")), 583);
  EXPECT_EQ(t.cell(0, t.num_cols() - 1).text, "<=50K");
}

TEST(DataCsv, BinaryDataIsRefusedAsSuch) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", 24);
  EXPECT_DATA_ERROR(parse_csv(png, "x.png"), "x.png is not a text CSV file (it looks like binary data)");
  std::string noise;
  for (int i = 0; i < 600; ++i) noise += static_cast<char>(0x80 + (i * 37) % 120);
  EXPECT_DATA_ERROR(parse_csv(noise, "noise.bin"), "noise.bin is not a text CSV file");
  const std::string inner = write_temp("bin/model.csv.gz", [] {
    // A gzip stream whose content is binary (a header of NUL bytes).
    std::string raw(64, '\0'), out(256, '\0');
    uLongf n = out.size();
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = reinterpret_cast<Bytef*>(raw.data());
    zs.avail_in = raw.size();
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = n;
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }());
  EXPECT_DATA_ERROR(read_csv(inner), inner + " is not a text CSV file (it looks like binary data)");
}

TEST(DataCsv, Latin1TextNamesLineAndColumn) {
  EXPECT_DATA_ERROR(parse_csv("a,b\n1,ok\n2,caf\xE9\n", "l.csv"),
                    "l.csv:3: not UTF-8 text (byte 0xE9 at column 6); convert it, e.g. iconv -f latin1 -t utf-8");
  // Column in characters: the é before is two bytes, one character.
  EXPECT_DATA_ERROR(parse_csv("a,b\n\xC3\xA9,x\xFF\n", "m.csv"), "m.csv:2: not UTF-8 text (byte 0xFF at column 4)");
  const Table ok = parse_csv("a,b\ncaf\xC3\xA9,\xE2\x82\xAC\xF0\x9F\x98\x80\n");
  EXPECT_EQ(ok.cell(0, 0).text, "caf\xC3\xA9");
}
