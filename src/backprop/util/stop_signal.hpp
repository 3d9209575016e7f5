// A polite stop: while a StopSignals is alive, SIGINT and SIGTERM only ask the program to stop
// (requested() turns true) instead of ending it, so that a long computation can finish its
// current step, save its state and exit (`backprop train --checkpoint`, docs/checkpoints.md).
// A second such signal ends the program as before: the atomic writer's clean-up of temporary
// files (util/atomic_file.hpp), then the signal's default action. The handler only stores the
// signal's number in a lock-free atomic (async-signal-safe); the destructor puts back the
// handlers that were there before. An ignored signal (nohup) stays ignored. One StopSignals at
// a time.
#pragma once

namespace bp::util {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // A stop was asked for (since this object was made).
  static bool requested();
  // The signal that asked (SIGINT or SIGTERM), 0 if none.
  static int signal_number();
};

}  // namespace bp::util
