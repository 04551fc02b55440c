#include "record/spool_sync.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

using hubstats::module::spool::Syncer;

namespace {

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& t : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Waits (bounded) for the sync in flight; false if it never finished.
bool finishes(Syncer& s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.busy()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct TempFile {
  std::string path;
  int fd;
  TempFile() {
    char tmpl[] = "/tmp/hubstats-sync-XXXXXX";
    fd = mkstemp(tmpl);
    path = tmpl;
  }
  ~TempFile() { unlink(path.c_str()); }
};

class SpoolSync : public ::testing::TestWithParam<Syncer::Via> {};

}  // namespace

// The point of AIO: a worker that syncs its spool stays single-threaded, so glibc keeps
// its single-threaded fast paths for every system call and malloc of nginx's.
TEST(SpoolSyncAio, TheProcessStaysSingleThreaded) {
  TempFile f;
  ASSERT_GE(f.fd, 0);
  const std::size_t before = threads_of_this_process();
  Syncer s;
  ASSERT_EQ(s.via(), Syncer::Via::kAio) << "this kernel refused an AIO context";
  ASSERT_EQ(write(f.fd, "x", 1), 1);
  EXPECT_TRUE(s.request(f.fd));
  EXPECT_EQ(threads_of_this_process(), before);
  EXPECT_TRUE(finishes(s));
  close(f.fd);
}

TEST_P(SpoolSync, SyncsAndTheCallerMayCloseAtOnce) {
  Syncer s(GetParam());
  EXPECT_EQ(s.via(), GetParam());
  for (int i = 0; i < 3; ++i) {
    TempFile f;
    ASSERT_GE(f.fd, 0);
    ASSERT_EQ(write(f.fd, "record", 6), 6);
    // One sync at a time: a request made while the last one runs is refused.
    while (!s.request(f.fd)) ASSERT_TRUE(finishes(s));
    close(f.fd);  // the kernel (AIO) or the thread's dup() keeps the file
    ASSERT_TRUE(finishes(s));
    EXPECT_EQ(s.take_error(), 0);
  }
}

TEST_P(SpoolSync, AFailedSyncIsReportedOnce) {
  Syncer s(GetParam());
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_TRUE(s.request(p[1]));  // a pipe cannot be synced: EINVAL, as fdatasync says
  ASSERT_TRUE(finishes(s));
  EXPECT_EQ(s.take_error(), EINVAL);
  EXPECT_EQ(s.take_error(), 0);
  close(p[0]);
  close(p[1]);
}

INSTANTIATE_TEST_SUITE_P(Via, SpoolSync, ::testing::Values(Syncer::Via::kAio, Syncer::Via::kThread),
                         [](const auto& info) {
                           return std::string(info.param == Syncer::Via::kAio ? "Aio" : "Thread");
                         });
