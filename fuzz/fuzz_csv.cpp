// libFuzzer harness: CSV text → Table → Preprocessor (fit on half the rows) → Dataset →
// JSON round trip → stratified folds. Only DataError may escape the library; every other
// exception, crash, sanitizer report or broken invariant below is a bug.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "backprop/data/data.hpp"

using namespace bp::data;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void exercise(const Table& t, uint8_t flags) {
  PreprocessOptions o;
  o.target = t.columns[flags & 1 ? 0 : t.columns.size() - 1];
  if (flags & 2 && t.num_cols() > 2) o.ignore = {t.columns[1]};
  o.standardize = !(flags & 4);
  if (flags & 8) o.max_categories = 3;
  std::vector<int64_t> train;
  for (int64_t r = 0; r < t.num_rows(); r += 2) train.push_back(r);

  const Preprocessor p = Preprocessor::fit(t, train, o);
  // Whatever was fitted on the training rows must encode them without complaint.
  Dataset ds;
  try {
    ds = p.transform(t, train);
  } catch (const DataError& e) {
    std::fprintf(stderr, "transform of the training rows failed: %s\n", e.what());
    std::abort();
  }
  check(ds.size() == static_cast<int64_t>(train.size()), "row count");
  check(ds.num_features() == p.num_features(), "feature count");
  check(ds.x.all_finite(), "finite features");
  try {
    p.transform(t);  // all rows: may meet unseen values, which must be DataErrors
  } catch (const DataError&) {
  }

  const nlohmann::json j = p.to_json();  // DataError for text that is not UTF-8
  const Preprocessor q = Preprocessor::from_json(nlohmann::json::parse(j.dump()));
  check(q.to_json() == j, "json round trip");
  check(q.transform(t, train).x.to_vector() == ds.x.to_vector(), "same encoding after json round trip");

  if (ds.is_classification() && ds.size() >= 2) {
    const auto folds = stratified_kfold(ds.labels, 2, flags);
    check(folds[0].test.size() + folds[1].test.size() == static_cast<size_t>(ds.size()), "folds cover");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Table t;
  try {
    t = parse_csv(text, "fuzz.csv");
  } catch (const DataError&) {
    return 0;
  }
  check(t.num_cols() > 0 && t.num_rows() > 0, "a parsed table is not empty");
  check(t.cells.size() == static_cast<size_t>(t.num_rows() * t.num_cols()), "cell count");
  // Two option sets per input, chosen by its last byte.
  const uint8_t flags = size ? data[size - 1] : 0;
  for (uint8_t f : {flags, static_cast<uint8_t>(flags ^ 0x0F)}) {
    try {
      exercise(t, f);
    } catch (const DataError&) {
    }
  }
  return 0;
}
