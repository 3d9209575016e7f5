#include "backprop/pipeline/quantize.hpp"

#include <numeric>
#include <optional>

#include "backprop/data/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/quantized.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/embedding.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model_data.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/util/rng.hpp"

namespace bp::pipeline {

namespace {

// The float weights a network's linear and convolution layers stream per example.
int64_t float_weight_bytes(nn::Module& m) {
  int64_t b = 0;
  const auto names = m.parameter_names();
  const auto params = m.parameters();
  for (size_t i = 0; i < params.size(); ++i)
    if (names[i].size() >= 6 && names[i].compare(names[i].size() - 6, 6, "weight") == 0)
      b += params[i].value().numel() * 4;
  return b;
}

}  // namespace

QuantizeResult quantize_model(const QuantizeOptions& o) {
  nn::QuantDtype dtype;
  try {
    dtype = nn::quant_dtype_from_string(o.to);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--to: ") + e.what());
  }
  const bool int8 = dtype == nn::QuantDtype::Int8;
  if (o.calibration_rows < 1) throw UsageError("--calibration-rows must be at least 1");
  if (!(o.percentile > 50.0 && o.percentile <= 100.0))
    throw UsageError("--percentile must be above 50 and at most 100, not " + std::to_string(o.percentile));
  if (!int8 && !o.calibration_data.empty())
    throw UsageError("--calibration-data applies to --to int8 only (bf16 needs no calibration)");
  if (o.output.empty()) throw UsageError("--output: give the quantized model's file name");
  check_outputs({{"--model", o.model}, {"--calibration-data", o.calibration_data}}, {{"--output", o.output}});
  if (is_embedding_file(o.model))
    throw UsageError(o.model + " is a word-embedding model (backprop embed): only networks that classify or regress can be quantized");

  io::ModelFile mf = io::load_model(o.model);
  if (mf.learner)
    throw UsageError(o.model + " holds a " + mf.learner->kind() +
                     " learner: only neural networks can be quantized (trees and the other learners have no weights "
                     "to quantize)");
  if (dynamic_cast<nn::QuantizedNet*>(mf.module.get()))
    throw UsageError(o.model + " is already quantized; quantize the float model it was made from");
  if (is_char_lm(mf.info)) throw UsageError(o.model + " is a character language model (char-lstm): it cannot be quantized");

  QuantizeResult r;
  r.dtype = nn::to_string(dtype);
  nn::QuantizeOptions qo;
  qo.dtype = dtype;
  qo.percentile = o.percentile;
  if (int8) {
    Tensor rows;
    if (!o.calibration_data.empty()) {
      data::DataSpec cs;
      cs.source = o.calibration_data;
      rows = data::load_features(cs, mf.info.preprocessing);
      r.calibration_source = o.calibration_data;
    } else {
      if (mf.info.preprocessing.is_null() ||
          !(mf.info.extra.is_object() && mf.info.extra.contains("data")))
        throw UsageError(o.model + " does not say what data it was trained on: int8 calibration needs rows of it "
                                   "(give --calibration-data FILE)");
      ModelData md = resolve_model_data(o.model, mf.info.extra, std::nullopt, "train");
      rows = data::load_with(md.spec, mf.info.preprocessing, "train").x;
      r.calibration_source = md.spec.source + " (training part)";
    }
    const int64_t n = rows.dim(0);
    if (n < 1) throw data::DataError(r.calibration_source + ": no rows to calibrate on");
    if (!rows.all_finite()) throw data::DataError(r.calibration_source + ": the calibration rows hold NaN or infinite values");
    // A seeded sample without replacement: the first rows of a Fisher–Yates shuffle.
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng rng(o.seed);
    rng.shuffle(order);
    const int64_t take = std::min(n, o.calibration_rows);
    qo.calibration = gather_rows(rows, order.data(), take);
    r.calibration_rows = take;
  }
  std::unique_ptr<nn::QuantizedNet> q;
  try {
    q = nn::QuantizedNet::quantize(*mf.module, qo);
  } catch (const std::invalid_argument& e) {
    throw UsageError(o.model + ": " + e.what());
  }
  r.weight_bytes = q->weight_bytes();
  r.float_weight_bytes = float_weight_bytes(*mf.module);
  io::ModelInfo info = mf.info;
  if (!info.extra.is_object()) info.extra = nlohmann::json::object();
  info.extra["quantized"] = {{"dtype", r.dtype}, {"from", o.model}};
  if (int8)
    info.extra["quantized"]["calibration"] = {
        {"rows", r.calibration_rows}, {"source", r.calibration_source}, {"seed", o.seed}, {"percentile", o.percentile}};
  io::save_model(o.output, *q, info);
  return r;
}

}  // namespace bp::pipeline
