// The one atomic file writer: every file the program writes (model files, reports,
// predictions, study tables, plots) goes through write_atomic().
//
// How: the content goes to a temporary file with a unique name beside the target
//   "<target>.tmp.<pid>.<counter>.<random>"  (created with O_EXCL, so no two writers — threads or
//   processes — ever share one), which is fsynced, closed and renamed over the target; then the
//   directory is fsynced so the rename itself is durable. A reader sees the old file or the new
//   one, never a partial or mixed one; of two concurrent writers, the last rename wins whole.
//
// Clean-up: the temporary is removed on any failure (a failed system call, an exception from
// `fill`) and on SIGINT, SIGTERM and SIGHUP: live temporaries are kept in a registry whose
// signal handler unlinks them with async-signal-safe calls and then re-raises the signal with
// its default action (so the exit status still says "killed by SIGTERM"). The handler is
// installed on first use, and only for signals whose disposition is the default one. Only
// SIGKILL (kill -9) or a power cut can leave a "<target>.tmp.*" file behind; the target itself
// is never partial.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bp::util {

// A file could not be written. what(): "cannot write '<path>': <reason>", where the reason
// names the step and the system's explanation ("No space left on device").
class FileWriteError : public std::runtime_error {
 public:
  FileWriteError(const std::filesystem::path& path, const std::string& reason);
  const std::filesystem::path& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::filesystem::path path_;
  std::string reason_;
};

// Appends bytes to the temporary file (throws FileWriteError when the system refuses).
using ByteSink = std::function<void(const void* data, size_t size)>;

// Atomic replacement of `path`: `fill(put)` writes the content through `put`. On failure the
// temporary is removed and an existing `path` is left as it was; a failed system call throws
// FileWriteError, an exception from `fill` propagates unchanged.
void write_atomic(const std::filesystem::path& path, const std::function<void(const ByteSink& put)>& fill);

// write_atomic() of a string.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Installs the clean-up handlers now (write_atomic does on first use), so that a handler
// installed later for the same signals (util/stop_signal.hpp) can pass a signal on to them.
void install_cleanup_handlers();

namespace detail {
// For tests: how many temporaries are registered for removal on a signal right now.
int live_temporaries();
}  // namespace detail

}  // namespace bp::util
