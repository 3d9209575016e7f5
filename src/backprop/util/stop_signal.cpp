#include "backprop/util/stop_signal.hpp"

#include <signal.h>

#include <atomic>
#include <stdexcept>

#include "backprop/util/atomic_file.hpp"

namespace bp::util {

namespace {
constexpr int kSignals[2] = {SIGINT, SIGTERM};
std::atomic<int> g_signal{0};
std::atomic<bool> g_active{false};
struct sigaction g_previous[2];
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

extern "C" void ask_to_stop(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) return;
  // The second signal: the previous handler (the atomic writer's clean-up) or the default.
  for (int i = 0; i < 2; ++i)
    if (kSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  ::raise(sig);
}
}  // namespace

StopSignals::StopSignals() {
  if (g_active.exchange(true)) throw std::logic_error("StopSignals: one at a time");
  install_cleanup_handlers();  // so that a second signal still removes temporaries
  g_signal.store(0);
  for (int i = 0; i < 2; ++i) {
    ::sigaction(kSignals[i], nullptr, &g_previous[i]);
    // An ignored signal stays ignored (nohup, a background job's SIGINT).
    if (!(g_previous[i].sa_flags & SA_SIGINFO) && g_previous[i].sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_handler = ask_to_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(kSignals[i], &sa, nullptr);
  }
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 2; ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
  g_active.store(false);
}

bool StopSignals::requested() { return g_signal.load() != 0; }
int StopSignals::signal_number() { return g_signal.load(); }

}  // namespace bp::util
