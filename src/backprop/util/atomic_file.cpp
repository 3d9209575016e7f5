#include "backprop/util/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>

namespace bp::util {

namespace fs = std::filesystem;

FileWriteError::FileWriteError(const fs::path& path, const std::string& reason)
    : std::runtime_error("cannot write '" + path.string() + "': " + reason), path_(path), reason_(reason) {}

namespace {

// ---- the registry of live temporaries, read by the signal handler ----
// Fixed storage (no allocation, no locks) because a signal handler may read it at any moment.
// A slot's state goes free -> claimed (its path being copied in) -> live -> free; the handler
// unlinks only live slots. More than kSlots files written at once lose only the clean-up on a
// signal, never the atomicity.
constexpr int kFree = 0, kClaimed = 1, kLive = 2;
constexpr int kSlots = 64;
constexpr size_t kPathMax = 4096;
struct Slot {
  std::atomic<int> state{kFree};
  char path[kPathMax];
};
Slot g_slots[kSlots];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temporaries_and_die(int sig) {
  // Only async-signal-safe calls here: unlink, then the default action of the same signal
  // (SA_RESETHAND restored it; the signal is delivered again as soon as this handler returns).
  for (Slot& s : g_slots)
    if (s.state.load(std::memory_order_acquire) == kLive) ::unlink(s.path);
  ::raise(sig);
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kSignals) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      // Leave alone a signal someone else handles or ignores (nohup, a host program).
      if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
      struct sigaction sa {};
      sa.sa_handler = remove_temporaries_and_die;
      sigemptyset(&sa.sa_mask);
      for (int other : kSignals) sigaddset(&sa.sa_mask, other);
      sa.sa_flags = SA_RESETHAND;
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

}  // namespace

void install_cleanup_handlers() { install_handlers_once(); }

namespace {

// Registers `path` for removal on a signal; returns the slot, or -1 when none is free.
int register_temporary(const std::string& path) {
  install_handlers_once();
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    if (g_slots[i].state.compare_exchange_strong(expected, kClaimed, std::memory_order_acq_rel)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].state.store(kLive, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0) g_slots[slot].state.store(kFree, std::memory_order_release);
}

// "<path>.tmp.<pid>.<counter>.<random>": pid and counter separate writers of this machine's
// processes and threads; the random part separates processes in different pid namespaces
// sharing a directory (containers, NFS).
fs::path unique_temporary(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = [] {
    uint64_t s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    try {
      std::random_device rd;
      s ^= (static_cast<uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
      // no entropy source: the clock alone
    }
    return s;
  }();
  const uint64_t n = counter++;
  std::mt19937_64 mix(salt + n);
  char tail[80];
  std::snprintf(tail, sizeof tail, ".tmp.%ld.%llu.%08llx", static_cast<long>(::getpid()), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(mix() & 0xffffffffu));
  fs::path tmp = path;
  tmp += tail;
  return tmp;
}

std::string quoted(const fs::path& p) {
  std::string s = p.string();  // built in place: GCC 12 warns on "'" + s
  s.insert(s.begin(), '\'');
  s.push_back('\'');
  return s;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

namespace detail {
int live_temporaries() {
  int n = 0;
  for (const Slot& s : g_slots) n += s.state.load() == kLive;
  return n;
}
}  // namespace detail

void write_atomic(const fs::path& path, const std::function<void(const ByteSink& put)>& fill) {
  if (path.empty()) throw FileWriteError(path, "the file name is empty");
  if (!path.has_filename()) throw FileWriteError(path, "the name ends in a directory separator, not a file name");

  // Removes the temporary unless the rename happened, and takes it off the signal registry.
  struct Temp {
    fs::path name;
    int fd = -1, slot = -1;
    bool created = false, renamed = false;
    ~Temp() {
      if (fd >= 0) ::close(fd);
      if (created && !renamed) ::unlink(name.c_str());
      unregister_temporary(slot);
    }
  } t;

  for (int attempt = 0;; ++attempt) {
    t.name = unique_temporary(path);
    // Registered before it exists, so a signal between open() and the registry never leaves it.
    t.slot = register_temporary(t.name.string());
    t.fd = ::open(t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (t.fd >= 0) break;
    const int e = errno;
    unregister_temporary(t.slot);
    t.slot = -1;
    if (e == EEXIST && attempt < 8) continue;  // a stale temporary of an earlier process with our pid
    throw FileWriteError(path, "cannot create the temporary file " + quoted(t.name) + ": " + errno_text(e));
  }
  t.created = true;
  ByteSink put = [&](const void* data, size_t size) {
    auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
      const ssize_t w = ::write(t.fd, p, size);
      if (w < 0) {
        const int e = errno;
        if (e == EINTR) continue;
        throw FileWriteError(path, errno_text(e) + " (while writing its temporary " + quoted(t.name) + ")");
      }
      p += w;
      size -= static_cast<size_t>(w);
    }
  };
  fill(put);
  if (::fsync(t.fd) != 0) {
    const int e = errno;
    throw FileWriteError(path, "cannot flush " + quoted(t.name) + " to disk: " + errno_text(e));
  }
  const int fd = t.fd;
  t.fd = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    throw FileWriteError(path, "cannot close " + quoted(t.name) + ": " + errno_text(e));
  }
  if (::rename(t.name.c_str(), path.c_str()) != 0) {
    const int e = errno;
    throw FileWriteError(path, "cannot rename " + quoted(t.name) + " over it: " + errno_text(e));
  }
  t.renamed = true;
  // Make the rename itself durable. Best effort: the new file is complete either way.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  write_atomic(path, [&](const ByteSink& put) { put(content.data(), content.size()); });
}

}  // namespace bp::util
