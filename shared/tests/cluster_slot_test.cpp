#include "hubstats/contract/cluster_slot.h"

#include <gtest/gtest.h>

#include "hubstats/contract/keys.h"

using hubstats::contract::crc16_xmodem;
using hubstats::contract::hash_tag;
using hubstats::contract::key_slot;

TEST(ClusterSlot, Crc16IsXmodem) {
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);  // the CRC catalogue's check value
  EXPECT_EQ(crc16_xmodem(""), 0);
}

TEST(ClusterSlot, KnownSlotsFromRedis) {
  // As CLUSTER KEYSLOT answers.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 & 16383);
}

TEST(ClusterSlot, HashTagRules) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: the whole key
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");     // up to the first "}"
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");      // the first tag only
  EXPECT_EQ(hash_tag("no tag"), "no tag");
  EXPECT_EQ(hash_tag("open{only"), "open{only");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
}

TEST(ClusterSlot, EveryKeyOfARepoSharesOneSlot) {
  const auto repo = *hubstats::keys::parse_repo_tag("model/ns/name");
  const int slot = key_slot("model/ns/name");
  EXPECT_EQ(key_slot(hubstats::keys::day(repo, 20000)), slot);
  EXPECT_EQ(key_slot(hubstats::keys::folding(repo, 20000)), slot);
  EXPECT_EQ(key_slot(hubstats::keys::days(repo)), slot);
  EXPECT_EQ(key_slot(hubstats::keys::epoch(repo)), slot);
  EXPECT_EQ(key_slot(hubstats::keys::batches(repo)), slot);
  EXPECT_EQ(key_slot(hubstats::keys::dirty(3)), key_slot(hubstats::keys::dirty_taken(3)));
}

TEST(ClusterSlot, InRange) {
  for (const char* k : {"a", "hs:{dirty:0}", "hs:idx:20250101", "\xff\xfe"}) {
    EXPECT_GE(key_slot(k), 0);
    EXPECT_LT(key_slot(k), 16384);
  }
}
