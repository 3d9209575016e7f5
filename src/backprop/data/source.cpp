#include "backprop/data/source.hpp"

#include <nlohmann/json.hpp>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "backprop/data/idx.hpp"
#include "backprop/data/split.hpp"

namespace bp::data {

namespace {
const char* kFashion = "fashion-mnist";

std::string fashion_dir(const std::string& source) {
  const size_t colon = source.find(':');
  return colon == std::string::npos ? std::string(kFashionMnistDir) : source.substr(colon + 1);
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return rows;
}

// A target value matches a positive value: the same text, or both numbers and equal.
bool matches_positive(std::string_view value, const std::vector<std::string>& positive) {
  double v = 0;
  const bool number = parse_number(value, v) == NumberParse::Number;
  for (const std::string& p : positive) {
    if (value == p) return true;
    double q = 0;
    if (number && parse_number(p, q) == NumberParse::Number && q == v) return true;
  }
  return false;
}

// Per value of the scan: 1 when it matches a positive value.
std::vector<char> positive_values(const TargetColumn& y, const std::vector<std::string>& positive) {
  std::vector<char> pos(y.values.size(), 0);
  for (size_t v = 0; v < y.values.size(); ++v) pos[v] = matches_positive(y.values[v], positive) ? 1 : 0;
  return pos;
}

// Rows of the held-out split, stratified by class when the target is one: by the labels
// the model learns under rule 2 (a positive view's two classes), by the raw values under rule 1.
Split split_rows(const DataSpec& s, const TargetColumn& y, bool classification, const std::vector<std::string>& positive) {
  const auto n = static_cast<int64_t>(y.codes.size());
  if (s.test_fraction <= 0) {
    Split sp;
    sp.train = all_rows(n);
    return sp;
  }
  if (!classification) return train_validation_test_split(n, 0.0, s.test_fraction, s.split_seed);
  if (s.split_rule == 1) return stratified_split(y.codes, 0.0, s.test_fraction, s.split_seed, StratifiedRounding::PerClass);
  if (s.split_rule != 2)
    throw DataError("unknown split rule " + std::to_string(s.split_rule) + " (this build knows 1 and 2)");
  if (positive.empty()) return stratified_split(y.codes, 0.0, s.test_fraction, s.split_seed);
  const std::vector<char> pos = positive_values(y, positive);
  std::vector<int32_t> labels(y.codes.size());
  for (size_t r = 0; r < labels.size(); ++r) labels[r] = pos[y.codes[r]];
  return stratified_split(labels, 0.0, s.test_fraction, s.split_seed);
}

// The table without the rows whose `target` cell is missing (counted in `dropped`), or a
// DataError naming the first such row when dropping is not asked for.
Table without_missing_target(Table t, const std::string& target, bool drop, int64_t& dropped) {
  dropped = 0;
  const int64_t j = t.find_column(target);
  if (j < 0) return t;  // the preprocessor names the unknown column
  const int64_t missing = t.count_missing(j);
  if (missing == 0) return t;
  if (!drop) {
    int64_t first = 0;
    while (!t.cell(first, j).missing) ++first;
    throw DataError(t.where(first) + ": missing value in target column '" + target + "' (" + std::to_string(missing) +
                    " of " + std::to_string(t.num_rows()) + " rows have none; --drop-missing-target drops them)");
  }
  Table kept;
  kept.source = t.source;
  kept.columns = t.columns;
  const int64_t cols = t.num_cols();
  for (int64_t r = 0; r < t.num_rows(); ++r) {
    if (t.cell(r, j).missing) continue;
    kept.lines.push_back(t.lines[r]);
    for (int64_t c = 0; c < cols; ++c) kept.cells.push_back(std::move(t.cells[r * cols + c]));
  }
  dropped = missing;
  if (kept.num_rows() == 0) throw DataError(t.source + ": every row's target '" + target + "' is missing");
  return kept;
}

// The scan of a positive view with every value training never saw replaced by a value it did
// see of the same class, so that the preprocessor labels it (negative unless it matches a
// positive value). Other targets come back as they are (an unseen class stays an error).
TargetColumn known_values_only(const TargetColumn& y, const Preprocessor& pre, const std::vector<std::string>& positive) {
  if (pre.positive().empty()) return y;
  const std::vector<std::string>& known = pre.target_values();
  const std::set<std::string, std::less<>> known_set(known.begin(), known.end());
  std::string known_positive, known_negative;
  for (const std::string& v : known) {
    const bool p = std::binary_search(pre.positive().begin(), pre.positive().end(), v);
    if (p && known_positive.empty()) known_positive = v;
    if (!p && known_negative.empty()) known_negative = v;
  }
  TargetColumn out;
  out.name = y.name;
  std::vector<int32_t> remap(y.values.size());
  std::unordered_map<std::string, int32_t> index;  // a continuous target has a value per row
  auto index_of = [&](const std::string& text) {
    const auto [it, added] = index.try_emplace(text, static_cast<int32_t>(out.values.size()));
    if (!added) return it->second;
    out.values.push_back(text);
    double num = 0;
    out.parsed.push_back(parse_number(text, num));
    out.numbers.push_back(out.parsed.back() == NumberParse::Number ? num : 0.0);
    return static_cast<int32_t>(out.values.size() - 1);
  };
  for (size_t v = 0; v < y.values.size(); ++v) {
    if (known_set.count(y.values[v]))
      remap[v] = index_of(y.values[v]);
    else
      remap[v] = index_of(matches_positive(y.values[v], positive) ? known_positive : known_negative);
  }
  out.codes.resize(y.codes.size());
  for (size_t r = 0; r < y.codes.size(); ++r) out.codes[r] = remap[y.codes[r]];
  return out;
}

std::string describe(const std::string& name, const Dataset& train, const Dataset& test) {
  std::string d = name + ": " + std::to_string(train.size()) + " train, " + std::to_string(test.size()) + " test, " +
                  std::to_string(train.num_features()) + " features, ";
  if (train.is_classification())
    d += std::to_string(train.num_classes()) + " classes (" + task_name(train.task) + ")";
  else
    d += "regression";
  return d;
}

void check_part(std::string_view part) {
  if (part != "test" && part != "train" && part != "all")
    throw std::invalid_argument("unknown data part '" + std::string(part) + "' (choose test, train, all)");
}
}  // namespace

bool DataSpec::is_fashion_mnist() const { return source == kFashion || source.rfind(std::string(kFashion) + ":", 0) == 0; }

nlohmann::json DataSpec::to_json() const {
  return {{"source", source},
          {"target", target},
          {"ignore", ignore},
          {"positive", positive},
          {"task", task},
          {"test_fraction", test_fraction},
          {"split_seed", split_seed},
          {"standardize", standardize},
          {"na_values", csv.na_values},
          {"initial_space", static_cast<int>(csv.initial_space)},
          {"drop_missing_target", drop_missing_target},
          {"split_rule", split_rule}};
}

DataSpec DataSpec::from_json(const nlohmann::json& j) {
  DataSpec s;
  try {
    s.source = j.at("source").get<std::string>();
    s.target = j.value("target", std::string());
    s.ignore = j.value("ignore", std::vector<std::string>());
    s.positive = j.value("positive", std::vector<std::string>());
    s.task = j.value("task", std::string());
    s.test_fraction = j.value("test_fraction", 0.2);
    s.split_seed = j.value("split_seed", uint64_t{1});
    s.standardize = j.value("standardize", true);
    s.csv.na_values = j.value("na_values", CsvOptions{}.na_values);
    const int space = j.value("initial_space", 0);
    if (space < 0 || space > 2)
      throw std::invalid_argument("bad data description in model file: initial_space " + std::to_string(space));
    s.csv.initial_space = static_cast<CsvOptions::InitialSpace>(space);
    s.drop_missing_target = j.value("drop_missing_target", false);
    s.split_rule = j.value("split_rule", 1);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad data description in model file: ") + e.what());
  }
  if (s.split_rule != 1 && s.split_rule != 2)
    throw std::invalid_argument("bad data description in model file: unknown split rule " + std::to_string(s.split_rule));
  return s;
}

std::string FileFingerprint::crc32_hex() const {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc32));
  return buf;
}

FileFingerprint fingerprint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw DataError(path + ": cannot read it (" + std::string(std::strerror(err)) + ")");
  }
  FileFingerprint f;
  f.bytes = 0;
  uLong crc = ::crc32_z(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<z_size_t>(got));
    f.bytes += got;
  }
  if (in.bad()) throw DataError(path + ": read error while fingerprinting the file");
  f.crc32 = static_cast<uint32_t>(crc);
  return f;
}

nlohmann::json DataRecord::to_json() const {
  nlohmann::json j = spec.to_json();
  if (!source_absolute.empty()) j["source_absolute"] = source_absolute;
  if (!target_column.empty()) j["target_column"] = target_column;
  if (fingerprint.known()) j["fingerprint"] = {{"bytes", fingerprint.bytes}, {"crc32", fingerprint.crc32_hex()}};
  if (rows >= 0) j["rows"] = rows;
  j["dropped_rows"] = dropped_rows;
  if (has_split())
    j["split"] = {{"rule", spec.split_rule},
                  {"seed", spec.split_seed},
                  {"test_fraction", spec.test_fraction},
                  {"train_rows", train_rows},
                  {"test_rows", test_rows}};
  return j;
}

DataRecord DataRecord::from_json(const nlohmann::json& j) {
  DataRecord r;
  r.spec = DataSpec::from_json(j);
  try {
    r.source_absolute = j.value("source_absolute", std::string());
    r.target_column = j.value("target_column", std::string());
    if (j.contains("fingerprint")) {
      const nlohmann::json& f = j.at("fingerprint");
      const std::string hex = f.at("crc32").get<std::string>();
      size_t used = 0;
      const unsigned long crc = hex.size() == 8 ? std::stoul(hex, &used, 16) : 0;
      r.fingerprint.bytes = f.at("bytes").get<int64_t>();
      if (used != 8 || r.fingerprint.bytes < 0) throw std::invalid_argument("fingerprint");
      r.fingerprint.crc32 = static_cast<uint32_t>(crc);
    }
    r.rows = j.value("rows", int64_t{-1});
    r.dropped_rows = j.value("dropped_rows", int64_t{0});
    if (j.contains("split")) {
      const nlohmann::json& sp = j.at("split");
      r.train_rows = sp.at("train_rows").get<int64_t>();
      r.test_rows = sp.at("test_rows").get<int64_t>();
      if (r.train_rows < 0 || r.test_rows < 0 || sp.at("rule").get<int>() != r.spec.split_rule ||
          sp.at("seed").get<uint64_t>() != r.spec.split_seed || sp.at("test_fraction").get<double>() != r.spec.test_fraction)
        throw std::invalid_argument("split");
    }
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("bad data description in model file: field ") + e.what());
  }
  return r;
}

PreprocessOptions preprocess_options(const DataSpec& s, const Table& t) {
  PreprocessOptions o;
  o.target = s.target;
  if (o.target.empty()) {
    if (t.num_cols() == 0) throw DataError(t.source + ": no columns");
    o.target = t.columns.back();
  }
  o.ignore = s.ignore;
  o.positive = s.positive;
  if (!s.task.empty()) o.task = task_from_string(s.task);
  o.standardize = s.standardize;
  return o;
}

Prepared prepare(const DataSpec& s) {
  if (!(s.test_fraction >= 0 && s.test_fraction < 1))
    throw std::invalid_argument("test fraction must be in [0, 1), got " + std::to_string(s.test_fraction));
  Prepared p;
  p.record.spec = s;
  if (s.is_fashion_mnist()) {
    const std::string dir = fashion_dir(s.source);
    p.train = load_fashion_mnist(dir, "train");
    p.test = load_fashion_mnist(dir, "test");
    p.preprocessor = Preprocessor::fit_images(p.train, {kFashionMnistSide, kFashionMnistSide}, s.standardize);
    p.preprocessor.transform_images(p.train);
    p.preprocessor.transform_images(p.test);
    p.input_shape = {p.train.num_features()};
    p.description = describe(kFashion, p.train, p.test);
    p.record.target_column = p.preprocessor.target();
    p.record.rows = p.train.size() + p.test.size();
    p.record.train_rows = p.train.size();
    p.record.test_rows = p.test.size();
    return p;
  }
  Table read = read_csv(s.source, s.csv);
  PreprocessOptions o = preprocess_options(s, read);
  int64_t dropped = 0;
  const Table t = without_missing_target(std::move(read), o.target, s.drop_missing_target, dropped);
  const TargetColumn y = scan_target(t, o.target);  // the one pass over the target
  if (!o.positive.empty()) {
    // A binary view: both classes must have rows, and the positive values go to the
    // preprocessor as the training texts that match them (so "1.0" in the file is positive
    // for --positive 1).
    const std::vector<char> pos = positive_values(y, o.positive);
    std::vector<int64_t> count(2, 0);
    for (int32_t c : y.codes) ++count[pos[c]];
    if (count[1] == 0)
      throw DataError(t.source + ": no row's target '" + o.target + "' matches the positive value(s) " +
                      join_names(o.positive) + " (values: " + join_names(y.values) + ")");
    if (count[0] == 0)
      throw DataError(t.source + ": every row's target '" + o.target + "' matches the positive value(s) " +
                      join_names(o.positive) + ": no negative rows");
  }
  // Stratify the held-out split by class when the target is one (as the fit will decide).
  const bool classification = infer_task(t, y, all_rows(t.num_rows()), o) != Task::Regression;
  const Split sp = split_rows(s, y, classification, o.positive);
  if (s.test_fraction > 0 && sp.test.empty())
    throw DataError(t.source + ": a test fraction of " + std::to_string(s.test_fraction) + " of " +
                    std::to_string(t.num_rows()) + " rows leaves no test rows (give a larger fraction, or 0 to train on all)");
  if (!o.positive.empty()) {
    const std::vector<char> pos = positive_values(y, o.positive);
    std::set<std::string> training_positive;
    for (int64_t r : sp.train)
      if (pos[y.codes[r]]) training_positive.insert(y.values[y.codes[r]]);
    if (training_positive.empty())
      throw DataError(t.source + ": no training row's target '" + o.target + "' matches the positive value(s) " +
                      join_names(o.positive) + " (every such row is in the test part)");
    o.positive.assign(training_positive.begin(), training_positive.end());
  }
  p.preprocessor = Preprocessor::fit(t, sp.train, o, y);
  // A preprocessor that cannot be stored (text that is not UTF-8) fails now, not after training.
  (void)p.preprocessor.to_json();
  p.train = p.preprocessor.transform(t, sp.train, y);
  if (!sp.test.empty()) p.test = p.preprocessor.transform(t, sp.test, known_values_only(y, p.preprocessor, s.positive));
  p.input_shape = {p.train.num_features()};
  p.description = describe(s.source, p.train, p.test);
  if (dropped > 0)
    p.description += " (" + std::to_string(dropped) + " rows without a target dropped)";

  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(s.source, ec);
  p.record.source_absolute = ec ? std::string() : abs.lexically_normal().string();
  p.record.target_column = o.target;
  p.record.fingerprint = fingerprint_file(s.source);
  p.record.rows = t.num_rows();
  p.record.dropped_rows = dropped;
  p.record.train_rows = p.train.size();
  p.record.test_rows = p.test.size();
  return p;
}

Dataset load_with(const DataSpec& s, const Preprocessor& pre, std::string_view part) {
  check_part(part);
  if (s.is_fashion_mnist()) {
    if (!pre.images()) throw std::invalid_argument("the model was trained on a CSV file, not on Fashion-MNIST images");
    const std::string dir = fashion_dir(s.source);
    Dataset d;
    if (part == "all") {
      Dataset tr = load_fashion_mnist(dir, "train"), te = load_fashion_mnist(dir, "test");
      Tensor x({tr.size() + te.size(), tr.num_features()});
      std::copy(tr.x.data(), tr.x.data() + tr.x.numel(), x.data());
      std::copy(te.x.data(), te.x.data() + te.x.numel(), x.data() + tr.x.numel());
      tr.x = x;
      tr.labels.insert(tr.labels.end(), te.labels.begin(), te.labels.end());
      d = std::move(tr);
    } else {
      d = load_fashion_mnist(dir, part);
    }
    pre.transform_images(d);
    return d;
  }
  if (pre.images()) throw std::invalid_argument("the model was trained on Fashion-MNIST images, not on a CSV file");
  int64_t dropped = 0;
  const Table t = without_missing_target(read_csv(s.source, s.csv), pre.target(), s.drop_missing_target, dropped);
  if (t.find_column(pre.target()) < 0) return pre.transform(t);  // names the missing target column
  // The positive values as training matched them: the spec's own (which may name values only
  // the test rows hold), else the preprocessor's.
  const std::vector<std::string>& positive = !s.positive.empty() && !pre.positive().empty() ? s.positive : pre.positive();
  const TargetColumn y = scan_target(t, pre.target());
  const TargetColumn labelled = known_values_only(y, pre, positive);
  if (part == "all") return pre.transform(t, all_rows(t.num_rows()), labelled);
  const Split sp = split_rows(s, y, pre.is_classification(), positive);
  const auto& rows = part == "test" ? sp.test : sp.train;
  if (rows.empty()) throw std::invalid_argument("the " + std::string(part) + " part of " + s.source + " is empty (test fraction 0?)");
  return pre.transform(t, rows, labelled);
}

Dataset load_with(const DataSpec& s, const nlohmann::json& preprocessing, std::string_view part) {
  check_part(part);
  return load_with(s, Preprocessor::from_json(preprocessing), part);
}

std::vector<std::string> matching_positive_values(const TargetColumn& y, std::span<const int64_t> rows,
                                                  const std::vector<std::string>& positive) {
  const std::vector<char> pos = positive_values(y, positive);
  std::set<std::string> found;
  for (int64_t r : rows)
    if (pos[y.codes[static_cast<size_t>(r)]]) found.insert(y.values[y.codes[static_cast<size_t>(r)]]);
  if (found.empty())
    throw DataError("no training row's target '" + y.name + "' matches the positive value(s) " + join_names(positive));
  return {found.begin(), found.end()};
}

TargetColumn labelled_for(const TargetColumn& y, const Preprocessor& pre, const std::vector<std::string>& positive) {
  return known_values_only(y, pre, positive);
}

Tensor load_features(const DataSpec& s, const nlohmann::json& preprocessing) {
  const Preprocessor pre = Preprocessor::from_json(preprocessing);
  if (s.is_fashion_mnist()) return load_with(s, pre, "test").x;
  if (pre.images()) throw std::invalid_argument("the model was trained on Fashion-MNIST images, not on a CSV file");
  return pre.transform_features(read_csv(s.source, s.csv));
}

}  // namespace bp::data
