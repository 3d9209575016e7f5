#include "backprop/pipeline/predict.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "backprop/eval/calibration.hpp"
#include "backprop/data/csv.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/embedding.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/pipeline/model_data.hpp"
#include "backprop/pipeline/onnx_files.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/report.hpp"
#include "backprop/train/fit.hpp"
#include "backprop/util/atomic_file.hpp"

namespace bp::pipeline {

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// The rows as a model without preprocessing (an ONNX file from elsewhere) takes them: every
// CSV column but the target and the ignored ones, as numbers; Fashion-MNIST's test images with
// pixels in [0, 1].
Tensor raw_features(const data::DataSpec& spec) {
  if (spec.is_fashion_mnist()) {
    const std::string prefix = "fashion-mnist:";
    const std::string dir = spec.source.rfind(prefix, 0) == 0 ? spec.source.substr(prefix.size()) : data::kFashionMnistDir;
    return data::load_fashion_mnist(dir, "test").x;
  }
  const data::Table t = data::read_csv(spec.source, spec.csv);
  std::vector<int64_t> cols;
  for (int64_t c = 0; c < t.num_cols(); ++c) {
    const std::string& name = t.columns[static_cast<size_t>(c)];
    if (name == spec.target || std::find(spec.ignore.begin(), spec.ignore.end(), name) != spec.ignore.end()) continue;
    cols.push_back(c);
  }
  Tensor x({t.num_rows(), static_cast<int64_t>(cols.size())});
  for (int64_t r = 0; r < t.num_rows(); ++r)
    for (size_t j = 0; j < cols.size(); ++j) {
      const data::Cell& cell = t.cell(r, cols[j]);
      double v = 0;
      if (cell.missing || data::parse_number(cell.text, v) != data::NumberParse::Number)
        throw data::DataError(t.where(r) + ": column '" + t.columns[static_cast<size_t>(cols[j])] +
                              "' is not a number ('" + cell.text + "'): a model without preprocessing (an ONNX file) takes numbers only");
      x.data()[r * static_cast<int64_t>(cols.size()) + static_cast<int64_t>(j)] = static_cast<float>(v);
    }
  return x;
}
}  // namespace

PredictResult predict_to_csv(const PredictOptions& o) {
  refuse_data_options(o.data, {});
  if (o.output.empty()) throw UsageError("--output: give a file name (or - for standard output)");
  std::vector<FileArg> inputs = data_input(o.data);
  inputs.push_back({"--model", o.model});
  check_outputs(inputs, {{"--output", o.output == "-" ? std::string() : o.output}});  // before any work
  if (is_embedding_file(o.model))
    throw UsageError(o.model + " is a word-embedding model (backprop embed): query it with backprop similar -m " + o.model +
                     " WORD");
  const bool onnx_file = is_onnx_path(o.model);
  io::ModelFile mf = onnx_file ? onnx::import_model(o.model) : io::load_model(o.model);
  if (is_char_lm(mf.info))
    throw UsageError(o.model + " is a character language model (char-lstm): generate text with backprop sample -m " + o.model);
  const Tensor x = onnx_file && mf.info.preprocessing.is_null() ? raw_features(o.data)
                                                                : data::load_features(o.data, mf.info.preprocessing);
  const Tensor out = ModelRef(mf).predict(mf.info.task, x);
  std::unique_ptr<eval::Calibrator> cal;
  if (!mf.info.calibrator.is_null()) cal = eval::calibrator_from_json(mf.info.calibrator);
  // A learner's calibrator takes its raw score (an SVM's decision value), not the probability.
  std::vector<double> raw;
  if (cal && mf.learner && mf.info.task == Task::Binary) raw = calibration_scores(ModelRef(mf), x);

  std::string csv;
  char buf[32];
  const int64_t n = x.dim(0);
  if (mf.info.task == Task::Regression) {
    csv += "row,prediction\n";
    for (int64_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, ",%g\n", static_cast<double>(out[i]));
      csv += std::to_string(i) + buf;
    }
  } else {
    const int64_t k = mf.info.task == Task::Binary ? 2 : out.dim(1);
    csv += "row,prediction";
    for (int64_t j = 0; j < k; ++j) {
      std::string name = mf.info.class_names.at(static_cast<size_t>(j));
      name.insert(0, "p_");  // built in place: GCC 12 warns (-Wrestrict) on "p_" + s
      csv += ',';
      csv += csv_field(name);
    }
    csv += '\n';
    std::vector<double> p(static_cast<size_t>(k));
    for (int64_t i = 0; i < n; ++i) {
      if (mf.info.task == Task::Binary) {
        double pos = raw.empty() ? out[i] : raw[static_cast<size_t>(i)];
        if (cal) pos = cal->apply(pos);
        p = {1 - pos, pos};
      } else {
        for (int64_t j = 0; j < k; ++j) p[static_cast<size_t>(j)] = out[i * k + j];
      }
      // Binary: positive when P(positive) >= 0.5, as the evaluation's ACC counts it.
      const size_t best = mf.info.task == Task::Binary
                              ? (p[1] >= 0.5 ? 1 : 0)
                              : static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      csv += std::to_string(i) + ',' + csv_field(mf.info.class_names.at(best));
      for (double v : p) {
        std::snprintf(buf, sizeof buf, ",%.6g", v);
        csv += buf;
      }
      csv += '\n';
    }
  }
  PredictResult r;
  r.rows = n;
  if (o.output == "-")
    r.csv = std::move(csv);
  else
    util::write_file_atomic(o.output, csv);
  return r;
}

}  // namespace bp::pipeline
