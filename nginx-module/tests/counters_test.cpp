#include "record/counters.h"

#include <gtest/gtest.h>

using namespace hubstats::module;

namespace {
StatusSnapshot sample() {
  StatusSnapshot s;
  s.pid = 42;
  s.counters = Counters{10, 7, 3, 5, 1, 1, 4, 6};
  s.queued = 2;
  s.redis_connected = true;
  return s;
}
}  // namespace

TEST(StatusFormat, PlainListsEveryField) {
  EXPECT_EQ(format_status_plain(sample()),
            "pid: 42\nrequests: 10\ncounted: 7\nnew_sessions: 3\nsent: 5\nfailed: 1\n"
            "dropped: 1\nspooled: 4\nreplayed: 6\nqueued: 2\nredis_connected: 1\n");
}

TEST(StatusFormat, PrometheusHasTypedSamplesLabelledWithPid) {
  const std::string p = format_status_prometheus(sample());
  EXPECT_NE(p.find("# TYPE hubstats_requests_total counter\n"
                   "hubstats_requests_total{pid=\"42\"} 10\n"),
            std::string::npos);
  EXPECT_NE(p.find("# TYPE hubstats_queued gauge\nhubstats_queued{pid=\"42\"} 2\n"),
            std::string::npos);
  EXPECT_NE(p.find("hubstats_redis_connected{pid=\"42\"} 1\n"), std::string::npos);
  EXPECT_NE(p.find("hubstats_dropped_total{pid=\"42\"} 1\n"), std::string::npos);
  // Every sample has HELP and TYPE lines.
  std::size_t samples = 0, types = 0, helps = 0;
  for (std::size_t i = 0, j; i < p.size(); i = j + 1) {
    j = p.find('\n', i);
    const std::string line = p.substr(i, j - i);
    if (line.rfind("# TYPE", 0) == 0)
      ++types;
    else if (line.rfind("# HELP", 0) == 0)
      ++helps;
    else
      ++samples;
  }
  EXPECT_EQ(samples, 10u);
  EXPECT_EQ(types, 10u);
  EXPECT_EQ(helps, 10u);
  EXPECT_NE(p.find("hubstats_spooled_total{pid=\"42\"} 4\n"), std::string::npos);
}
