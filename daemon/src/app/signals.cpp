#include "app/signals.h"

#include <csignal>

namespace hubstatsd::app {

namespace {

sigset_t handled() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void block_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  const sigset_t set = handled();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Signal wait_for_signal() {
  const sigset_t set = handled();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) return Signal::kReload;
    return Signal::kTerminate;
  }
}

}  // namespace hubstatsd::app
