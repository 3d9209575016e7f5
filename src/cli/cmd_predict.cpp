// backprop predict: a saved model's predictions (and class probabilities) as CSV.
#include <cstdio>

#include "backprop/backend/backend.hpp"
#include "backprop/pipeline/predict.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct PredictCmd {
  pipeline::PredictOptions o;
  int threads = 0;
};
}  // namespace

Runner add_predict(CLI::App& app) {
  auto c = std::make_shared<PredictCmd>();
  CLI::App* cmd = app.add_subcommand("predict", "Write a saved model's predictions and class probabilities as CSV");
  cmd->add_option("--model,-m", c->o.model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", c->o.data.source, "Data to predict: a CSV file (the target column may be absent), or fashion-mnist")
      ->required();
  cmd->add_option("--output,-o", c->o.output, "CSV file to write (- for standard output)")
      ->check(file_name())
      ->capture_default_str();
  cmd->add_option("--threads", c->threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024));
  return [c] {
    backend::set_num_threads(c->threads);
    const pipeline::PredictResult r = pipeline::predict_to_csv(c->o);
    if (c->o.output == "-") {
      std::fwrite(r.csv.data(), 1, r.csv.size(), stdout);
    } else {
      std::fprintf(stderr, "%lld predictions written to %s\n", static_cast<long long>(r.rows), c->o.output.c_str());
    }
    return 0;
  };
}

}  // namespace bp::cli
