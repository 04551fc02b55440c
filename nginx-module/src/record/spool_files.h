// The spool's files: one file per writing worker, "<pid>-<stream>.spool" in the
// spool directory, held under an exclusive flock(2) for as long as its writer or
// replayer has it open. A file nobody holds (its worker exited, crashed, or the
// host rebooted: the kernel drops the lock with the process) is free to claim;
// flock makes a claim exclusive, so two workers never replay one file. Pure POSIX:
// no nginx types. Writes go through a user-space buffer like nginx's access log
// (`buffer=`/`flush=`): the caller decides when to write; spool_sync.h syncs without
// blocking the event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "record/spool_format.h"

namespace hubstats::module::spool {

// "<pid>-<stream>.spool": a new file's name, its stream (stream_id) from the time and
// random bits, so a worker's successive files never collide.
std::string file_name(long pid, std::int64_t now_s, std::uint32_t random);

// Total size of the *.spool files in dir (0 when it cannot be read).
std::uint64_t directory_usage(const std::string& dir);

// The worker's current spool file, created on the first write.
class Writer {
 public:
  Writer(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::string& buffer() { return buf_; }  // records waiting to be written
  // Writes the buffer (creating and locking the file first). On error the buffer is
  // kept and errno describes it.
  bool flush();
  bool has_file() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  std::uint64_t written() const { return written_; }  // bytes in the file
  // Gives the file up for replay by this process: returns its path and fd (still
  // locked) and starts a new file, under a new name, on the next write.
  struct Handle {
    std::string path;
    int fd = -1;
  };
  std::optional<Handle> seal(std::string next_name);

 private:
  std::string dir_;
  std::string name_;
  std::string path_;
  std::string buf_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

// Claims one *.spool file in dir that nobody holds (not `skip`): open, flock
// LOCK_EX|LOCK_NB, and check it is still linked (a replayer may have just finished
// and unlinked it). Empty files that are free are removed on the way.
std::optional<Writer::Handle> claim_one(const std::string& dir, const std::string& skip);

// Reads a claimed file's records in order, a chunk at a time.
class Reader {
 public:
  explicit Reader(Writer::Handle h) : h_(std::move(h)) {}
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Up to about max_bytes more of the file, decoded. Sets eof() at the end of the
  // file or at the first torn/corrupt record (status() says which).
  std::vector<SpooledBatch> next(std::size_t max_bytes);
  bool eof() const { return eof_; }
  ReadStatus status() const { return status_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t skipped() const { return skipped_; }  // bytes after a torn/corrupt point
  const std::string& path() const { return h_.path; }
  // Everything was delivered: unlink the file, then release the lock.
  void finish();

 private:
  Writer::Handle h_;
  std::string pending_;  // bytes read but not yet a complete record
  std::uint64_t offset_ = 0;
  std::uint64_t skipped_ = 0;
  bool eof_ = false;
  ReadStatus status_ = ReadStatus::kOk;
};

}  // namespace hubstats::module::spool
