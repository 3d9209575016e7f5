// backprop predict: a saved model's predictions (and class probabilities) as CSV.
#include <cstdio>
#include <fstream>

#include "backprop/app/report.hpp"
#include "backprop/backend/backend.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/io/model_file.hpp"
#include "commands.hpp"
#include "common.hpp"

namespace bp::cli {

namespace {
struct PredictCmd {
  std::string model;
  data::DataSpec data;
  bool data_given = false;
  std::string output = "-";
  int threads = 0;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

Runner add_predict(CLI::App& app) {
  auto c = std::make_shared<PredictCmd>();
  CLI::App* cmd = app.add_subcommand("predict", "Write a saved model's predictions and class probabilities as CSV");
  cmd->add_option("--model,-m", c->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", c->data.source, "Data to predict: a CSV file (the target column may be absent), or fashion-mnist")
      ->required();
  cmd->add_option("--output,-o", c->output, "CSV file to write (- for standard output)")->capture_default_str();
  cmd->add_option("--threads", c->threads, "Threads (0: one per core)")->check(CLI::Range(0, 1024));
  return [c] {
    backend::set_num_threads(c->threads);
    io::ModelFile mf = io::load_model(c->model);
    Tensor x = data::load_features(c->data, mf.info.preprocessing);
    Tensor out = train::predict(*mf.module, mf.info.task, x);
    std::unique_ptr<eval::Calibrator> cal;
    if (!mf.info.calibrator.is_null()) cal = eval::calibrator_from_json(mf.info.calibrator);

    std::ofstream file;
    const bool to_stdout = c->output == "-";
    const std::string tmp = c->output + ".tmp";
    if (!to_stdout) {
      file.open(tmp);
      if (!file) throw std::runtime_error("cannot write " + c->output);
    }
    std::ostream& os = to_stdout ? std::cout : file;
    const int64_t n = x.dim(0);
    if (mf.info.task == Task::Regression) {
      os << "row,prediction\n";
      for (int64_t i = 0; i < n; ++i) os << i << ',' << out[i] << '\n';
    } else {
      const int64_t k = mf.info.task == Task::Binary ? 2 : out.dim(1);
      os << "row,prediction";
      for (int64_t j = 0; j < k; ++j) os << ",p_" << csv_field(mf.info.class_names.at(static_cast<size_t>(j)));
      os << '\n';
      char buf[32];
      for (int64_t i = 0; i < n; ++i) {
        std::vector<double> p(static_cast<size_t>(k));
        if (mf.info.task == Task::Binary) {
          double pos = out[i];
          if (cal) pos = cal->apply(pos);
          p = {1 - pos, pos};
        } else {
          for (int64_t j = 0; j < k; ++j) p[j] = out[i * k + j];
        }
        const size_t best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
        os << i << ',' << csv_field(mf.info.class_names.at(best));
        for (double v : p) {
          std::snprintf(buf, sizeof buf, ",%.6g", v);
          os << buf;
        }
        os << '\n';
      }
    }
    if (!to_stdout) {
      file.close();
      if (!file || std::rename(tmp.c_str(), c->output.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot write " + c->output);
      }
      std::fprintf(stderr, "%lld predictions written to %s\n", static_cast<long long>(n), c->output.c_str());
    }
    return 0;
  };
}

}  // namespace bp::cli
