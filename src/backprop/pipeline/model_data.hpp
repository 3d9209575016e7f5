// Which data a saved model is scored on. A model file records the data it was trained on
// (data::DataRecord: the spec, the file's fingerprint, the split), so `evaluate` acts on it:
//   * no --data: the training file, found where training named it, at its absolute path, or
//     beside the model file (the first whose fingerprint matches); its test part as training
//     cut it; a DataError naming every place looked at when none is there;
//   * --data naming the training file (the same fingerprint, wherever it now lives): the same
//     test part as training used;
//   * --data naming another file (or the training file changed since): every row, and a note
//     that says so ("x.csv is not the file this model was trained on: scoring all 312 rows");
//   * a model file without a fingerprint (written before the data description recorded one):
//     the data as named, split as the model's description says, with a note that the file
//     could not be checked.
// The options that describe data (--target, --positive, …) belong to the model: given to a
// saved model, they are refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backprop/data/source.hpp"

namespace bp::pipeline {

// The data options of a saved model's commands other than --data; each is refused when given.
const std::vector<std::string>& saved_model_data_options();

// UsageError naming the first data option that cannot apply to a saved model: one of `given`
// (options the caller saw on its command line, e.g. "--target"), or a field of `spec` other
// than its source that differs from a default DataSpec (for callers without a command line).
void refuse_data_options(const data::DataSpec& spec, const std::vector<std::string>& given);

struct ModelData {
  data::DataSpec spec;             // what to load: the model's description, source resolved
  std::string part;                // the part to score ("all" for a file that is not the training file)
  bool training_file = false;      // the fingerprint matched
  bool other_file = false;         // the fingerprint is known and differs
  int64_t expected_rows = -1;      // the rows of `part` training recorded (-1: unknown)
  std::vector<std::string> notes;  // plain sentences for the output and the report
};

// Decides as above. `model_path` is the model file (for the place beside it), `extra` its
// backprop.extra JSON, `given` the --data source (if any), `part` the part asked for.
// UsageError for --part train on a file that is not the training file.
ModelData resolve_model_data(const std::string& model_path, const nlohmann::json& extra,
                             const std::optional<std::string>& given, const std::string& part);

}  // namespace bp::pipeline
