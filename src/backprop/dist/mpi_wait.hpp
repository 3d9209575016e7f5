// Internal to src/backprop/dist/ (includes mpi.h; not installed: CMakeLists.txt,
// BACKPROP_INTERNAL_HEADERS). How the library waits for MPI.
#pragma once

#include <mpi.h>

#include <chrono>
#include <thread>

namespace bp::dist::detail {

// Waits for a non-blocking call: MPI_Test in a loop for 0.5 ms, then with 50 µs sleeps between
// the tests. A blocking MPI call would spin the whole time (Open MPI polls), taking the CPU
// from the rank being waited for when ranks share cores: measured on a loaded 2-core machine,
// docs/distributed.md ("Measured": 13× the CPU per sample, 12× slower). A 50 µs spin phase made
// the bare all-reduce slow (5 ms) under that load; 0.5 ms keeps it at its unloaded cost.
inline void wait_for(MPI_Request& req, MPI_Status* status = MPI_STATUS_IGNORE) {
  int done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (!done) {
    MPI_Test(&req, &done, status);
    if (!done && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(500))
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace bp::dist::detail
