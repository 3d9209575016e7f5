// What a workflow tells its caller while it runs. Every hook is optional; the command line
// turns them into its progress display (cli/progress.hpp), a test may leave them all empty.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "backprop/train/fit.hpp"

namespace bp::pipeline {

struct Observer {
  // The data has been read and prepared: its description for logs
  // ("fashion-mnist: 60000 train, 10000 test, 784 features, 10 classes").
  std::function<void(const std::string& description)> data_ready;
  // Inside the fit loop: examples done this epoch, examples per epoch, running loss.
  std::function<void(int64_t done, int64_t total, double loss)> batch;
  // After each epoch of the model being trained.
  std::function<void(const train::EpochStats&)> epoch;
  // A free-form progress line (the study's finished trials).
  std::function<void(const std::string& line)> line;
};

}  // namespace bp::pipeline
