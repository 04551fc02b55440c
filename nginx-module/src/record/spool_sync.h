// fdatasync of spool files in the background, so the event loop never waits on the
// disk. Linux AIO (IOCB_CMD_FDSYNC: the kernel's workqueue runs the fdatasync) keeps
// the worker single-threaded: a second thread would switch glibc to its multi-threaded
// paths for every system call (asynchronous-cancellation bookkeeping) and every malloc
// (locked arenas) of the worker. glibc took 8.7 % of a profile of the worker with the
// thread, 5.8 % without (docs/benchmarks.md, "Tenth round"). Where io_setup is
// refused (fs.aio-max-nr used up) a helper thread runs fdatasync instead. Pure
// POSIX/Linux: no nginx types.
#pragma once

#include <linux/aio_abi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace hubstats::module::spool {

class Syncer {
 public:
  enum class Via { kAio, kThread };
  // kAio falls back to kThread when the kernel refuses an AIO context.
  explicit Syncer(Via via = Via::kAio);
  ~Syncer();  // waits for the sync in flight
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  Via via() const noexcept { return via_; }
  // Starts an fdatasync of fd. The caller may close fd at once (the kernel, or the
  // thread's dup(), holds the file). False when the previous sync is still running:
  // ask again later (one at a time; a later sync covers the earlier writes too).
  bool request(int fd);
  // True while a requested sync has not finished.
  bool busy();
  // The errno of a sync that failed since the last call, else 0.
  int take_error() noexcept { return error_.exchange(0); }

 private:
  void reap();  // AIO: collects a finished sync without waiting
  void run();   // the thread's loop

  Via via_;
  std::atomic<int> error_{0};
  // AIO
  aio_context_t ctx_ = 0;
  bool in_flight_ = false;
  // thread
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> fds_;
  bool running_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hubstats::module::spool
