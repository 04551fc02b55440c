#include "record/spool_sync.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace hubstats::module::spool {

Syncer::Syncer(Via via) : via_(via) {
  if (via_ == Via::kAio && syscall(SYS_io_setup, 1, &ctx_) == 0) return;
  via_ = Via::kThread;
  thread_ = std::thread([this] { run(); });
}

Syncer::~Syncer() {
  if (via_ == Via::kAio) {
    syscall(SYS_io_destroy, ctx_);  // waits for the sync in flight
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Syncer::reap() {
  if (!in_flight_) return;
  io_event ev{};
  timespec zero{0, 0};
  if (syscall(SYS_io_getevents, ctx_, 0, 1, &ev, &zero) == 1) {
    in_flight_ = false;
    if (ev.res < 0) error_ = static_cast<int>(-ev.res);
  }
}

bool Syncer::request(int fd) {
  if (via_ == Via::kThread) {
    const int copy = dup(fd);
    if (copy < 0) {
      error_ = errno;
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(copy);
    }
    cv_.notify_one();
    return true;
  }
  reap();
  if (in_flight_) return false;
  iocb cb{};
  cb.aio_lio_opcode = IOCB_CMD_FDSYNC;
  cb.aio_fildes = static_cast<std::uint32_t>(fd);
  iocb* list[] = {&cb};
  if (syscall(SYS_io_submit, ctx_, 1, list) == 1) {
    in_flight_ = true;
  } else {
    error_ = errno;  // e.g. EINVAL: a file system without fsync, as fdatasync would say
  }
  return true;
}

bool Syncer::busy() {
  if (via_ == Via::kAio) {
    reap();
    return in_flight_;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return running_ || !fds_.empty();
}

void Syncer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !fds_.empty(); });
    if (fds_.empty()) return;  // stop_ and nothing left
    const int fd = fds_.front();
    fds_.pop_front();
    running_ = true;
    lock.unlock();
    if (fdatasync(fd) != 0) error_ = errno;
    close(fd);
    lock.lock();
    running_ = false;
  }
}

}  // namespace hubstats::module::spool
