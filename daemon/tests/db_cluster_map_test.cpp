// Redis Cluster routing as pure functions: slot map parsing, redirections, the slot of
// a command, a pipeline split per node.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <string>

#include "db/cluster_map.h"

using namespace hubstatsd;

namespace {

// A reply tree from RESP text, as hiredis parses it off the wire.
struct Parsed {
  explicit Parsed(const std::string& resp) {
    redisReader* rd = redisReaderCreate();
    redisReaderFeed(rd, resp.data(), resp.size());
    void* r = nullptr;
    EXPECT_EQ(redisReaderGetReply(rd, &r), REDIS_OK);
    redisReaderFree(rd);
    reply.reset(static_cast<redisReply*>(r));
  }
  struct Free {
    void operator()(redisReply* r) const { freeReplyObject(r); }
  };
  std::unique_ptr<redisReply, Free> reply;
};

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
std::string node(const std::string& ip, int port, const std::string& id) {
  return "*3\r\n" + bulk(ip) + ":" + std::to_string(port) + "\r\n" + bulk(id);
}

// Three masters (7000, 7001, 7002), each with one replica; 7000 serves two ranges.
std::string three_masters() {
  return "*4\r\n"
         "*4\r\n:0\r\n:5460\r\n" +
         node("127.0.0.1", 7000, "a") + node("127.0.0.1", 7003, "d") + "*4\r\n:5461\r\n:10922\r\n" +
         node("127.0.0.1", 7001, "b") + node("127.0.0.1", 7004, "e") +
         "*4\r\n:10923\r\n:16000\r\n" + node("127.0.0.1", 7002, "c") +
         node("127.0.0.1", 7005, "f") + "*3\r\n:16001\r\n:16383\r\n" + node("127.0.0.1", 7000, "a");
}

}  // namespace

TEST(ClusterMap, ParsesClusterSlots) {
  Parsed p(three_masters());
  std::string why;
  auto m = parse_cluster_slots(p.reply.get(), "127.0.0.1", &why);
  ASSERT_TRUE(m) << why;
  ASSERT_EQ(m->masters.size(), 3u);
  EXPECT_EQ(m->masters[0].address, "127.0.0.1:7000");
  EXPECT_EQ(m->masters[0].replicas, 1);  // the most any of its ranges lists
  EXPECT_EQ(m->master_of(0)->address, "127.0.0.1:7000");
  EXPECT_EQ(m->master_of(5460)->address, "127.0.0.1:7000");
  EXPECT_EQ(m->master_of(5461)->address, "127.0.0.1:7001");
  EXPECT_EQ(m->master_of(16000)->address, "127.0.0.1:7002");
  EXPECT_EQ(m->master_of(16383)->address, "127.0.0.1:7000");
  EXPECT_EQ(m->master_of(16384), nullptr);
  EXPECT_EQ(m->nodes,
            (std::vector<std::string>{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002",
                                      "127.0.0.1:7003", "127.0.0.1:7004", "127.0.0.1:7005"}));
}

TEST(ClusterMap, UncoveredSlotsHaveNoMaster) {
  Parsed p("*1\r\n*3\r\n:100\r\n:200\r\n" + node("10.0.0.1", 6379, "a"));
  auto m = parse_cluster_slots(p.reply.get(), "127.0.0.1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->master_of(99), nullptr);
  EXPECT_EQ(m->master_of(150)->address, "10.0.0.1:6379");
  EXPECT_EQ(m->masters[0].replicas, 0);
}

TEST(ClusterMap, EmptyIpIsTheNodeAskedAndIpv6GetsBrackets) {
  Parsed p("*1\r\n*4\r\n:0\r\n:16383\r\n" + node("", 7000, "a") + node("::1", 7001, "b"));
  auto m = parse_cluster_slots(p.reply.get(), "10.1.2.3");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->masters[0].address, "10.1.2.3:7000");
  EXPECT_EQ(m->nodes.back(), "[::1]:7001");
}

TEST(ClusterMap, MalformedClusterSlotsIsRejectedWithAReason) {
  std::string why;
  Parsed err("-ERR This instance has cluster support disabled\r\n");
  EXPECT_FALSE(parse_cluster_slots(err.reply.get(), "127.0.0.1", &why));
  EXPECT_NE(why.find("not an array"), std::string::npos);
  Parsed empty("*0\r\n");
  EXPECT_FALSE(parse_cluster_slots(empty.reply.get(), "127.0.0.1", &why));
  Parsed bad_range("*1\r\n*3\r\n:9\r\n:3\r\n" + node("127.0.0.1", 7000, "a"));
  EXPECT_FALSE(parse_cluster_slots(bad_range.reply.get(), "127.0.0.1", &why));
  Parsed past_end("*1\r\n*3\r\n:0\r\n:16384\r\n" + node("127.0.0.1", 7000, "a"));
  EXPECT_FALSE(parse_cluster_slots(past_end.reply.get(), "127.0.0.1", &why));
  Parsed bad_port("*1\r\n*3\r\n:0\r\n:5\r\n" + node("127.0.0.1", 0, "a"));
  EXPECT_FALSE(parse_cluster_slots(bad_port.reply.get(), "127.0.0.1", &why));
}

TEST(ClusterMap, ParsesRedirections) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381", "127.0.0.1");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->address, "127.0.0.1:6381");
  auto ask = parse_redirect("ASK 12182 10.0.0.2:7002", "127.0.0.1");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->slot, 12182);
  EXPECT_EQ(ask->address, "10.0.0.2:7002");
  EXPECT_EQ(parse_redirect("MOVED 1 :7005", "10.9.9.9")->address, "10.9.9.9:7005");
  EXPECT_EQ(parse_redirect("MOVED 1 ::1:7005", "x")->address, "[::1]:7005");
  EXPECT_FALSE(parse_redirect("ERR wrong number of arguments", "x"));
  EXPECT_FALSE(parse_redirect("NOSCRIPT No matching script", "x"));
  EXPECT_FALSE(parse_redirect("MOVED 99999 127.0.0.1:1", "x"));
  EXPECT_FALSE(parse_redirect("MOVED 1 127.0.0.1", "x"));
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:1", "x"));
  EXPECT_TRUE(is_transient_cluster_error("TRYAGAIN Multiple keys request during rehashing"));
  EXPECT_TRUE(is_transient_cluster_error("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(is_transient_cluster_error("MOVED 1 127.0.0.1:1"));
}

TEST(ClusterMap, CommandSlotFollowsTheKeys) {
  using hubstats::contract::key_slot;
  const int repo = key_slot("model/a/b");
  EXPECT_EQ(command_slot({"HGETALL", "hs:{model/a/b}:d:20250101"}), repo);
  EXPECT_EQ(command_slot({"evalsha", "sha", "2", "hs:{model/a/b}:days", "hs:{model/a/b}:e", "x"}),
            repo);
  EXPECT_EQ(command_slot({"EVALSHA", "sha", "0", "arg"}), -1);
  EXPECT_EQ(command_slot({"PING"}), -1);
  EXPECT_EQ(command_slot({"SCRIPT", "LOAD", "return 1"}), -1);
  EXPECT_EQ(command_slot({"SCAN", "0", "MATCH", "hs:*"}), -1);
  EXPECT_EQ(command_slot({"DEL", "hs:{dirty:3}", "hs:{dirty:3}:taken"}), key_slot("dirty:3"));
  EXPECT_EQ(command_slot({"SADD", "hs:{dirty:3}", "model/a/b"}), key_slot("dirty:3"));
}

TEST(ClusterMap, KeysOfOneCallInTwoSlotsFailLoudly) {
  EXPECT_THROW(command_slot({"EVALSHA", "sha", "2", "hs:{model/a/b}:d:1", "hs:{model/a/c}:d:1"}),
               CrossSlot);
  EXPECT_THROW(command_slot({"DEL", "hs:{dirty:1}", "hs:{dirty:2}"}), CrossSlot);
  EXPECT_THROW(command_slot({"RENAME", "hs:{dirty:1}", "hs:{dirty:2}:taken"}), CrossSlot);
  EXPECT_THROW(command_slot({"EVALSHA", "sha", "3", "hs:{model/a/b}:d:1"}), CrossSlot);
}

TEST(ClusterMap, PipelineSplitsPerNodeInCallerOrder) {
  Parsed p(three_masters());
  auto m = parse_cluster_slots(p.reply.get(), "127.0.0.1");
  ASSERT_TRUE(m);
  // slots: 7000, 7001, 7000 (its second range), keyless (first master), 7002, 7001,
  // and one redirected by MOVED/ASK to a node the map does not know yet.
  const std::vector<int> slots = {10, 6000, 16100, -1, 12000, 5461, 10};
  std::vector<std::string> redirected(slots.size());
  redirected[6] = "127.0.0.1:7009";
  std::vector<std::string> node_of(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) node_of[i] = node_for(slots[i], redirected[i], *m);
  auto groups = split_by_node({0, 1, 2, 3, 4, 5, 6}, node_of);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].node, "127.0.0.1:7000");
  EXPECT_EQ(groups[0].commands, (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(groups[1].node, "127.0.0.1:7001");
  EXPECT_EQ(groups[1].commands, (std::vector<std::size_t>{1, 5}));
  EXPECT_EQ(groups[2].node, "127.0.0.1:7002");
  EXPECT_EQ(groups[2].commands, (std::vector<std::size_t>{4}));
  EXPECT_EQ(groups[3].node, "127.0.0.1:7009");
  // A retry round: only the pending commands, still in the caller's order.
  auto retry = split_by_node({2, 5}, node_of);
  ASSERT_EQ(retry.size(), 2u);
  EXPECT_EQ(retry[0].commands, (std::vector<std::size_t>{2}));

  Parsed partial("*1\r\n*3\r\n:0\r\n:100\r\n" + node("127.0.0.1", 7000, "a"));
  auto pm = parse_cluster_slots(partial.reply.get(), "127.0.0.1");
  EXPECT_EQ(node_for(5, "", *pm), "127.0.0.1:7000");
  EXPECT_EQ(node_for(500, "", *pm), "");  // served by nobody: refresh and retry
}
