#include "backprop/pipeline/predict.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "backprop/eval/calibration.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/pipeline/model_data.hpp"
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
}  // namespace

PredictResult predict_to_csv(const PredictOptions& o) {
  refuse_data_options(o.data, {});
  if (o.output.empty()) throw UsageError("--output: give a file name (or - for standard output)");
  std::vector<FileArg> inputs = data_input(o.data);
  inputs.push_back({"--model", o.model});
  check_outputs(inputs, {{"--output", o.output == "-" ? std::string() : o.output}});  // before any work
  io::ModelFile mf = io::load_model(o.model);
  if (is_char_lm(mf.info))
    throw UsageError(o.model + " is a character language model (char-lstm): generate text with backprop sample -m " + o.model);
  const Tensor x = data::load_features(o.data, mf.info.preprocessing);
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
