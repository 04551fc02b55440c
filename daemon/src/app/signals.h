// Process signals handled synchronously on the main thread: block them in every
// thread (call before starting any thread), then wait for them one at a time.
#pragma once

namespace hubstatsd::app {

enum class Signal { kTerminate, kReload };

void block_signals();      // SIGTERM, SIGINT, SIGHUP; ignores SIGPIPE
Signal wait_for_signal();  // SIGTERM/SIGINT -> kTerminate, SIGHUP -> kReload

}  // namespace hubstatsd::app
