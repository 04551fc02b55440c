#include "hubstats/contract/cluster_slot.h"

#include <gtest/gtest.h>

#include "hubstats/contract/keys.h"

using namespace hubstats::contract;

TEST(ClusterSlot, Crc16XmodemCheckValue) {
  // The CRC-16/XMODEM check value and the cluster specification's example.
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);
  EXPECT_EQ(crc16_xmodem(""), 0);
}

TEST(ClusterSlot, KnownSlots) {
  // Values as `CLUSTER KEYSLOT` answers them (Redis 7).
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 & 16383);
}

TEST(ClusterSlot, HashTagRules) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: whole key
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");     // first '{' to first '}' after it
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");      // only the first pair
  EXPECT_EQ(hash_tag("foo{bar"), "foo{bar");        // no closing brace
  EXPECT_EQ(hash_tag("foo}bar{"), "foo}bar{");
}

TEST(ClusterSlot, RepoKeysShareTheirTagsSlot) {
  const int tag_slot = key_slot("model/ns/name");
  EXPECT_EQ(key_slot("hs:{model/ns/name}:d:20260101"), tag_slot);
  EXPECT_EQ(key_slot("hs:{model/ns/name}:b"), tag_slot);
  EXPECT_EQ(key_slot(hubstats::keys::dirty(3)), key_slot("dirty:3"));
}
