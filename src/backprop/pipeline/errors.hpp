// The failures a workflow reports, by type, so that no caller ever matches message text.
// The command line maps each to its own exit code (README, "Exit codes"):
//   pipeline::UsageError     an option's value, or a combination of options, that cannot work
//   data::DataError          the input data is malformed (data/error.hpp)
//   io::ModelFileError       a model file cannot be read, or is not a valid model (io/safetensors.hpp)
//   util::FileWriteError     an output file cannot be written (util/atomic_file.hpp)
//   train::DivergenceError   training diverged: a non-finite loss (train/fit.hpp)
// Anything else (std::invalid_argument from deeper layers, std::bad_alloc) is a runtime failure.
#pragma once

#include <stdexcept>

namespace bp::pipeline {

// Derives from std::invalid_argument: a bad value the caller passed in.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

}  // namespace bp::pipeline
