#include "record/spool_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "record/batch_id.h"

namespace hubstats::module::spool {

namespace {

constexpr std::string_view kSuffix = ".spool";

bool is_spool_name(std::string_view name) {
  return name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix &&
         name.front() != '.';
}

}  // namespace

std::string file_name(long pid, std::int64_t now_s, std::uint32_t random) {
  return std::to_string(pid) + "-" + stream_id(now_s, random) + std::string(kSuffix);
}

std::uint64_t directory_usage(const std::string& dir) {
  std::uint64_t total = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (const dirent* e = readdir(d)) {
    if (!is_spool_name(e->d_name)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, 0) == 0) total += static_cast<std::uint64_t>(st.st_size);
  }
  closedir(d);
  return total;
}

Writer::~Writer() {
  if (fd_ >= 0) close(fd_);  // releases the lock: the file is free to claim
}

bool Writer::flush() {
  if (buf_.empty()) return true;
  if (fd_ < 0) {
    // Created under a hidden name, locked, then renamed: claimers (which skip hidden
    // names) never see the file unlocked, so none can take or remove it early.
    const std::string hidden = dir_ + "/." + name_;
    const std::string path = dir_ + "/" + name_;
    // Read-write: a sealed file is replayed through the same (locked) descriptor.
    fd_ = open(hidden.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return false;
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0 || rename(hidden.c_str(), path.c_str()) != 0) {
      const int err = errno;
      unlink(hidden.c_str());
      close(fd_);
      fd_ = -1;
      errno = err;
      return false;
    }
    path_ = path;
    written_ = 0;
  }
  std::size_t done = 0;
  while (done < buf_.size()) {
    const ssize_t n = write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      // Cut a partly written record off again (the buffer holds whole records and
      // is kept for the next attempt).
      if (done > 0 && ftruncate(fd_, static_cast<off_t>(written_)) != 0) {
        written_ += done;  // the file keeps a torn record; the reader stops there
        buf_.erase(0, done);
      }
      errno = err;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += done;
  buf_.clear();
  return true;
}

std::optional<Writer::Handle> Writer::seal(std::string next_name) {
  if (fd_ < 0) return std::nullopt;
  Handle h{path_, fd_};
  fd_ = -1;
  path_.clear();
  written_ = 0;
  name_ = std::move(next_name);
  return h;
}

std::optional<Writer::Handle> claim_one(const std::string& dir, const std::string& skip) {
  DIR* d = opendir(dir.c_str());
  if (!d) return std::nullopt;
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) {
    if (is_spool_name(e->d_name)) names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    if (path == skip) continue;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0) {
      close(fd);
      continue;
    }
    if (st.st_size == 0) {
      unlink(path.c_str());
      close(fd);
      continue;
    }
    return Writer::Handle{path, fd};
  }
  return std::nullopt;
}

Reader::~Reader() {
  if (h_.fd >= 0) close(h_.fd);  // not finished: the file stays for a later replay
}

std::vector<SpooledBatch> Reader::next(std::size_t max_bytes) {
  std::vector<SpooledBatch> out;
  if (eof_ || h_.fd < 0) return out;
  std::string chunk(max_bytes, '\0');
  ssize_t n;
  do {
    n = pread(h_.fd, chunk.data(), chunk.size(), static_cast<off_t>(offset_ + pending_.size()));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // End of file: bytes left over are a torn last record.
    eof_ = true;
    if (!pending_.empty()) {
      status_ = ReadStatus::kTorn;
      skipped_ = pending_.size();
    }
    return out;
  }
  pending_.append(chunk.data(), static_cast<std::size_t>(n));
  Decoded d = decode_records(pending_);
  offset_ += d.consumed;
  pending_.erase(0, d.consumed);
  if (d.status == ReadStatus::kCorrupt) {
    eof_ = true;
    status_ = ReadStatus::kCorrupt;
    struct stat st;
    skipped_ = fstat(h_.fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) - offset_ : 0;
  }
  return std::move(d.batches);
}

void Reader::finish() {
  if (h_.fd < 0) return;
  unlink(h_.path.c_str());
  close(h_.fd);
  h_.fd = -1;
}

}  // namespace hubstats::module::spool
