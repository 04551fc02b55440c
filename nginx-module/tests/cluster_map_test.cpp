#include "record/cluster_map.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

using namespace hubstats::module;

namespace {

// A reply as hiredis parses it from the wire.
std::unique_ptr<redisReply, void (*)(void*)> read_reply(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  return {static_cast<redisReply*>(reply), freeReplyObject};
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string node(const std::string& host, int port) {
  return "*3\r\n" + bulk(host) + ":" + std::to_string(port) + "\r\n" + bulk("0123abcd");
}

std::string range(int a, int b, const std::string& master, const std::string& replicas,
                  int n_replicas) {
  return "*" + std::to_string(3 + n_replicas) + "\r\n:" + std::to_string(a) +
         "\r\n:" + std::to_string(b) + "\r\n" + master + replicas;
}

}  // namespace

TEST(ClusterMap, ParsesThreeMastersWithReplicas) {
  const std::string resp =
      "*4\r\n" + range(0, 5460, node("127.0.0.1", 7000), node("127.0.0.1", 7003), 1) +
      range(5461, 10922, node("127.0.0.1", 7001), "", 0) +
      range(10923, 16000, node("127.0.0.1", 7002), node("127.0.0.1", 7005), 1) +
      range(16001, 16383, node("127.0.0.1", 7002), "", 0);
  auto reply = read_reply(resp);
  std::string why;
  auto map = parse_cluster_slots(reply.get(), "127.0.0.1", &why);
  ASSERT_TRUE(map) << why;
  ASSERT_EQ(map->masters.size(), 3u);  // 7002 listed once for its two ranges
  EXPECT_EQ(map->uncovered(), 0);
  EXPECT_EQ(map->master_of(0)->name(), "127.0.0.1:7000");
  EXPECT_EQ(map->master_of(5460)->name(), "127.0.0.1:7000");
  EXPECT_EQ(map->master_of(5461)->name(), "127.0.0.1:7001");
  EXPECT_EQ(map->master_of(16383)->name(), "127.0.0.1:7002");
  EXPECT_TRUE(map->master_of(0)->has_replica);
  EXPECT_FALSE(map->master_of(6000)->has_replica);  // a master whose replica failed
  EXPECT_TRUE(map->master_of(16383)->has_replica);  // any range listing one counts
}

TEST(ClusterMap, EmptyHostIsTheAskedNode) {
  auto reply = read_reply("*1\r\n" + range(0, 16383, node("", 7000), "", 0));
  auto map = parse_cluster_slots(reply.get(), "127.0.0.9");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->master_of(42)->name(), "127.0.0.9:7000");
}

TEST(ClusterMap, UncoveredSlots) {
  auto reply = read_reply("*1\r\n" + range(0, 99, node("10.0.0.1", 6379), "", 0));
  auto map = parse_cluster_slots(reply.get(), "");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->uncovered(), 16384 - 100);
  EXPECT_EQ(map->master_of(100), nullptr);
}

TEST(ClusterMap, RejectsMalformedReplies) {
  EXPECT_FALSE(parse_cluster_slots(nullptr, "h"));
  EXPECT_FALSE(parse_cluster_slots(
      read_reply("-ERR This instance has cluster support disabled\r\n").get(), "h"));
  EXPECT_FALSE(parse_cluster_slots(read_reply("+OK\r\n").get(), "h"));
  EXPECT_FALSE(
      parse_cluster_slots(read_reply("*1\r\n*3\r\n:5\r\n:2\r\n" + node("h", 1)).get(), "h"));
  EXPECT_FALSE(
      parse_cluster_slots(read_reply("*1\r\n*3\r\n:0\r\n:16384\r\n" + node("h", 1)).get(), "h"));
  EXPECT_FALSE(
      parse_cluster_slots(read_reply("*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n" + bulk("h")).get(), "h"));
  EXPECT_FALSE(parse_cluster_slots(read_reply("*1\r\n*2\r\n:0\r\n:1\r\n").get(), "h"));
}

TEST(ClusterMap, ParsesRedirects) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->name(), "127.0.0.1:6381");
  auto a = parse_redirect("ASK 12182 [::1]:7002");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7002);
  EXPECT_FALSE(parse_redirect("MOVED 3999"));
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:1"));
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:1"));
  EXPECT_FALSE(parse_redirect("ASK 1 127.0.0.1:"));
  EXPECT_FALSE(parse_redirect("ASK 1 127.0.0.1:70000"));
  EXPECT_FALSE(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(parse_redirect("ERR unknown"));
}

TEST(ClusterMap, ParsesRole) {
  auto master = read_reply("*3\r\n" + bulk("master") + ":3129659\r\n*2\r\n*3\r\n" +
                           bulk("127.0.0.1") + bulk("9001") + bulk("3129242") + "*3\r\n" +
                           bulk("127.0.0.1") + bulk("9002") + bulk("3129543"));
  EXPECT_EQ(parse_role_replicas(master.get()), 2);
  auto alone = read_reply("*3\r\n" + bulk("master") + ":0\r\n*0\r\n");
  EXPECT_EQ(parse_role_replicas(alone.get()), 0);
  auto replica = read_reply("*5\r\n" + bulk("slave") + bulk("127.0.0.1") + ":9000\r\n" +
                            bulk("connected") + ":3167038\r\n");
  EXPECT_FALSE(parse_role_replicas(replica.get()));
  EXPECT_FALSE(parse_role_replicas(read_reply("-ERR\r\n").get()));
}
