// backprop quantize: a saved network converted to bf16 or int8 weights, which evaluate and
// predict then use directly (docs/performance.md, "Quantized inference").
#include <cstdio>

#include "backprop/backend/qgemm.hpp"
#include "backprop/pipeline/quantize.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct QuantizeCmd {
  pipeline::QuantizeOptions o;
  bool quiet = false;
};
}  // namespace

Runner add_quantize(CLI::App& app) {
  auto c = std::make_shared<QuantizeCmd>();
  CLI::App* cmd = app.add_subcommand("quantize", "Convert a saved network to bf16 or int8 weights for fast inference");
  cmd->add_option("--model,-m", c->o.model, "The float model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", c->o.output, "The quantized model file to write")->required()->check(file_name());
  cmd->add_option("--to", c->o.to, "bf16 or int8")->required();
  cmd->add_option("--calibration-rows", c->o.calibration_rows,
                  "int8: rows sampled from the training data to set each layer's input range")
      ->capture_default_str();
  cmd->add_option("--calibration-data", c->o.calibration_data,
                  "int8: sample this file's rows instead of the data the model was trained on");
  cmd->add_option("--percentile", c->o.percentile,
                  "int8: keep each layer's inputs from the (100-p)-th to the p-th percentile (100: min to max)")
      ->capture_default_str();
  cmd->add_option("--seed", c->o.seed, "The calibration sample's seed")->capture_default_str();
  cmd->add_flag("--quiet,-q", c->quiet, "Print nothing on success");
  return [c] {
    const pipeline::QuantizeResult r = pipeline::quantize_model(c->o);
    if (!c->quiet) {
      std::fprintf(stderr, "%s written: %s weights, %lld bytes streamed per example (float32: %lld)", c->o.output.c_str(),
                   r.dtype.c_str(), static_cast<long long>(r.weight_bytes), static_cast<long long>(r.float_weight_bytes));
      if (r.dtype == "int8")
        std::fprintf(stderr, "; calibrated on %lld rows of %s", static_cast<long long>(r.calibration_rows),
                     r.calibration_source.c_str());
      std::fprintf(stderr, "; kernels: %s\n", backend::qgemm_path());
    }
    return 0;
  };
}

}  // namespace bp::cli
