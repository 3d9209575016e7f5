// libFuzzer harness: bytes → JSON → Preprocessor::from_json → (if accepted) to_json and
// a transform of a small table. A model file is user input too: only DataError may escape.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>

#include "backprop/data/data.hpp"

using namespace bp::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const Preprocessor p = Preprocessor::from_json(j);
    const nlohmann::json again = p.to_json();
    if (Preprocessor::from_json(again).to_json() != again) std::abort();
    // Encode a table that has every column the preprocessor knows, with value "1".
    auto quoted = [](const std::string& s) {
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::string csv, row;
    for (const FeatureColumn& c : p.columns()) {
      csv += quoted(c.name) + ",";
      row += "1,";
    }
    csv += quoted(p.target()) + "\n" + row + "1\n";
    try {
      p.transform(parse_csv(csv, "fuzz.csv"));
    } catch (const DataError&) {
    }
  } catch (const DataError&) {
  }
  return 0;
}
