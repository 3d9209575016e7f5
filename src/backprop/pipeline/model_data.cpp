#include "backprop/pipeline/model_data.hpp"

#include <algorithm>
#include <filesystem>

#include "backprop/data/error.hpp"
#include "backprop/pipeline/errors.hpp"

namespace bp::pipeline {

namespace fs = std::filesystem;

const std::vector<std::string>& saved_model_data_options() {
  static const std::vector<std::string> names = {"--target",        "--ignore",        "--positive",
                                                 "--view",          "--task",          "--test-fraction",
                                                 "--split-seed",    "--no-standardize", "--drop-missing-target"};
  return names;
}

void refuse_data_options(const data::DataSpec& spec, const std::vector<std::string>& given) {
  const data::DataSpec d;
  std::string option = given.empty() ? std::string() : given.front();
  if (option.empty()) {
    if (spec.target != d.target) option = "--target";
    else if (spec.ignore != d.ignore) option = "--ignore";
    else if (spec.positive != d.positive) option = "--positive";
    else if (spec.task != d.task) option = "--task";
    else if (spec.test_fraction != d.test_fraction) option = "--test-fraction";
    else if (spec.split_seed != d.split_seed) option = "--split-seed";
    else if (spec.standardize != d.standardize) option = "--no-standardize";
    else if (spec.drop_missing_target != d.drop_missing_target) option = "--drop-missing-target";
  }
  if (!option.empty())
    throw UsageError(option + " cannot apply to a saved model: its target, classes, columns and split are stored in "
                              "the model file (name the data with --data only)");
}

namespace {

bool is_file(const std::string& p) {
  std::error_code ec;
  return !p.empty() && fs::is_regular_file(p, ec);
}

std::string old_file_note(const std::string& source, const std::string& part) {
  return "this model file records no fingerprint of its training data (written by an earlier version): cannot check "
         "that " + source + " is the file it was trained on; its " + part + " part is cut as the model's split says";
}

}  // namespace

ModelData resolve_model_data(const std::string& model_path, const nlohmann::json& extra,
                             const std::optional<std::string>& given, const std::string& part) {
  ModelData m;
  m.part = part;
  const bool has_record = extra.is_object() && extra.contains("data");
  if (!has_record) {
    // A model saved by a library user without a description: the data as named, cut by the
    // default split (what evaluate always did).
    m.spec.source = given.value_or(m.spec.source);
    if (given && !m.spec.is_fashion_mnist())
      m.notes.push_back("the model file does not describe its training data: " + *given +
                        " is split by the default rule, without checking that it is the training file");
    return m;
  }
  data::DataRecord rec;
  try {
    rec = data::DataRecord::from_json(extra.at("data"));
  } catch (const std::invalid_argument& e) {
    throw data::DataError(model_path + ": " + e.what());
  }
  m.spec = rec.spec;
  if (given) m.spec.source = *given;
  if (m.spec.is_fashion_mnist()) return m;  // its own fixed train and test parts
  auto expected = [&]() -> int64_t {
    if (!rec.has_split()) return -1;
    return part == "test" ? rec.test_rows : part == "train" ? rec.train_rows : rec.rows;
  };

  if (given) {
    if (!rec.fingerprint.known()) {
      m.notes.push_back(old_file_note(m.spec.source, part));
      return m;
    }
    if (data::fingerprint_file(*given) == rec.fingerprint) {
      m.training_file = true;
      m.expected_rows = expected();
      return m;
    }
    m.other_file = true;
  } else {
    // The training file: where training named it (relative to where training ran, so to the
    // working directory), at its absolute path, or beside the model file.
    std::vector<std::string> places;
    auto add = [&](const std::string& p) {
      if (!p.empty() && std::find(places.begin(), places.end(), p) == places.end()) places.push_back(p);
    };
    add(rec.spec.source);
    add(rec.source_absolute);
    const fs::path stored(rec.spec.source);
    const fs::path model_dir = fs::path(model_path).parent_path();
    if (stored.is_relative()) add((model_dir / stored).lexically_normal().string());
    add((model_dir / stored.filename()).lexically_normal().string());
    std::string changed;
    for (const std::string& p : places) {
      if (!is_file(p)) continue;
      if (!rec.fingerprint.known()) {  // an old model file: the first file there is
        m.spec.source = p;
        m.notes.push_back(old_file_note(p, part));
        return m;
      }
      if (data::fingerprint_file(p) == rec.fingerprint) {
        m.spec.source = p;
        m.training_file = true;
        m.expected_rows = expected();
        if (p != rec.spec.source) m.notes.push_back("the training data " + rec.spec.source + " was found at " + p);
        return m;
      }
      if (changed.empty()) changed = p;
    }
    if (changed.empty()) {
      std::string looked;
      for (const std::string& p : places) looked += (looked.empty() ? "" : ", ") + p;
      throw data::DataError("the data this model was trained on is not found: " + rec.spec.source + " (looked at " +
                            looked + "); name it, or other data, with --data");
    }
    m.spec.source = changed;
    m.other_file = true;
  }
  if (part == "train")
    throw UsageError("--part train: " + m.spec.source + " is not the file this model was trained on (its fingerprint "
                     "differs), so it has no training part");
  m.part = "all";
  return m;  // the note, with the number of rows, once they are read
}

}  // namespace bp::pipeline
