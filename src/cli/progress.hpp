// Progress of long work: a live bar on a terminal, plain log lines otherwise (a file, a pipe, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "backprop/train/fit.hpp"

namespace bp::cli {

class Progress {
 public:
  // `enabled` false silences everything (--quiet). Writes to stderr.
  Progress(int epochs, bool enabled);
  // During an epoch: examples done of total, running loss.
  void batch(int64_t done, int64_t total, double loss);
  // After an epoch; prints the epoch's line (ends the bar on a terminal).
  void epoch(const train::EpochStats& s);
  // A free-form line (keeps the bar tidy).
  void line(const std::string& text);
  bool is_terminal() const { return tty_; }

 private:
  int epochs_;
  int current_ = 1;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

}  // namespace bp::cli
