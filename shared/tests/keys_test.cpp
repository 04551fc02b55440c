#include "hubstats/contract/keys.h"
#include "hubstats/contract/scripts.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hubstats {
namespace {

const RepoRef kRepo{RepoType::kDataset, "org", "data.v2"};

// The part between the first '{' and the next '}', which decides the Cluster slot.
std::string_view hash_tag(std::string_view key) {
  auto a = key.find('{');
  auto b = key.find('}', a);
  return key.substr(a + 1, b - a - 1);
}

TEST(Keys, Layout) {
  const Day d = *parse_iso("2026-11-26");
  EXPECT_EQ(keys::repo_tag(kRepo), "dataset/org/data.v2");
  EXPECT_EQ(keys::sessions(kRepo, 1800000, 983333), "hs:{dataset/org/data.v2}:s:1800000:983333");
  EXPECT_EQ(keys::sessions_prefix(kRepo), "hs:{dataset/org/data.v2}:s:");
  EXPECT_EQ(keys::day(kRepo, d), "hs:{dataset/org/data.v2}:d:20261126");
  EXPECT_EQ(keys::paths(kRepo, d), "hs:{dataset/org/data.v2}:p:20261126");
  EXPECT_EQ(keys::clients(kRepo, d), "hs:{dataset/org/data.v2}:c:20261126");
  EXPECT_EQ(keys::folding(kRepo, d), "hs:{dataset/org/data.v2}:f:20261126");
  EXPECT_EQ(keys::folding_paths(kRepo, d), "hs:{dataset/org/data.v2}:fp:20261126");
  EXPECT_EQ(keys::folding_clients(kRepo, d), "hs:{dataset/org/data.v2}:fc:20261126");
  EXPECT_EQ(keys::days(kRepo), "hs:{dataset/org/data.v2}:days");
  EXPECT_EQ(keys::epoch(kRepo), "hs:{dataset/org/data.v2}:e");
  EXPECT_EQ(keys::index(d), "hs:idx:20261126");
}

TEST(Keys, EveryRepoKeySharesOneHashTag) {
  const Day d = 20000;
  const auto tag = keys::repo_tag(kRepo);
  for (const auto& k :
       {keys::sessions(kRepo, 1000, 7), keys::day(kRepo, d), keys::paths(kRepo, d),
        keys::clients(kRepo, d), keys::folding(kRepo, d), keys::days(kRepo), keys::epoch(kRepo),
        keys::folding_paths(kRepo, d), keys::folding_clients(kRepo, d)}) {
    EXPECT_EQ(hash_tag(k), tag) << k;
  }
}

TEST(Keys, DirtyShardsAreStableAndEachHasItsOwnHashTag) {
  // FNV-1a 32 is fixed by the contract: writers and folders of any version agree.
  EXPECT_EQ(keys::dirty_shard(""), static_cast<int>(2166136261u % keys::kDirtyShards));
  EXPECT_EQ(keys::dirty_shard("dataset/org/data.v2"), keys::dirty_shard("dataset/org/data.v2"));
  EXPECT_EQ(keys::dirty(3), "hs:{dirty:3}");
  EXPECT_EQ(keys::dirty_taken(3), "hs:{dirty:3}:taken");
  EXPECT_EQ(hash_tag(keys::dirty_taken(3)), hash_tag(keys::dirty(3)));
  std::vector<int> seen(keys::kDirtyShards, 0);
  for (int i = 0; i < 1000; ++i) {
    const int s = keys::dirty_shard("model/ns/repo-" + std::to_string(i));
    ASSERT_GE(s, 0);
    ASSERT_LT(s, keys::kDirtyShards);
    ++seen[s];
  }
  for (int n : seen) EXPECT_GT(n, 20);  // 1000 tags spread over every shard
}

TEST(Keys, SessionBucketsAreWindowLongAndFloor) {
  EXPECT_EQ(keys::session_bucket(0, 1000), 0);
  EXPECT_EQ(keys::session_bucket(999, 1000), 0);
  EXPECT_EQ(keys::session_bucket(1000, 1000), 1);
  EXPECT_EQ(keys::session_bucket(1790000000000, 1800000), 994444);
  EXPECT_EQ(keys::session_bucket(-1, 1000), -1);
  EXPECT_EQ(keys::session_bucket(-1000, 1000), -1);
  EXPECT_EQ(keys::session_bucket(-1001, 1000), -2);
}

TEST(Keys, RepoTagRoundTrip) {
  for (auto t : {RepoType::kModel, RepoType::kDataset, RepoType::kSpace}) {
    RepoRef r{t, "Org-1", "my_model.v2"};
    EXPECT_EQ(keys::parse_repo_tag(keys::repo_tag(r)), r);
  }
  for (const char* bad : {"", "model", "model/a", "models/a/b", "model/a/b/c", "model//b",
                          "model/a/", "model/{a}/b", "space/a/.."}) {
    EXPECT_FALSE(keys::parse_repo_tag(bad).has_value()) << bad;
  }
}

TEST(Keys, ValidSegment) {
  EXPECT_TRUE(valid_segment("a"));
  EXPECT_TRUE(valid_segment("A-b_c.9"));
  EXPECT_TRUE(valid_segment(std::string(96, 'x')));
  EXPECT_FALSE(valid_segment(std::string(97, 'x')));
  for (const char* bad : {"", ".", "..", "a/b", "a{", "a}", "a:b", "a b", "a%2F", "é"}) {
    EXPECT_FALSE(valid_segment(bad)) << bad;
  }
}

TEST(Keys, RepoTypeNames) {
  EXPECT_EQ(parse_repo_type("model"), RepoType::kModel);
  EXPECT_EQ(parse_repo_type_plural("datasets"), RepoType::kDataset);
  EXPECT_EQ(parse_repo_type_plural("spaces"), RepoType::kSpace);
  EXPECT_FALSE(parse_repo_type("models").has_value());
  EXPECT_FALSE(parse_repo_type_plural("model").has_value());
  EXPECT_FALSE(parse_repo_type_plural("s").has_value());
  EXPECT_EQ(to_string(RepoType::kSpace), "space");
}

TEST(Scripts, Sha1MatchesKnownVector) {
  EXPECT_EQ(scripts::sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(scripts::sha1_hex(scripts::kRecordBatch).size(), 40u);
  EXPECT_NE(scripts::sha1_hex(scripts::kRecordBatch), scripts::sha1_hex(scripts::kIndex));
}

// The writer sums a batch per family and per path: each once, in order of first
// event, bots in their family but in no path; each event's letter names its family's
// index and its kind (96 + k anonymous, 64 + k authenticated, 32 + k bot).
TEST(Scripts, BatchBreakdownSumsFamiliesAndPathsOnce) {
  scripts::BatchBreakdown b;
  b.add('b', "config.json", false, false);  // transformers
  b.add('b', "config.json", false, true);
  b.add('h', "model.safetensors", false, false);  // curl
  b.add('m', "model.safetensors", true, false);   // bot: family only
  b.add('b', "model.safetensors", false, false);
  b.add('z', "config.json", false, true);  // unknown letter: other
  EXPECT_EQ(b.letters(), "aAb#aD");
  EXPECT_EQ(b.bots(), 1);
  using Counts = std::vector<std::pair<std::string_view, std::int64_t>>;
  EXPECT_EQ(b.families(), (Counts{{"transformers", 3}, {"curl", 1}, {"bot", 1}, {"other", 1}}));
  EXPECT_EQ(b.paths(), (Counts{{"config.json", 3}, {"model.safetensors", 2}}));
  EXPECT_EQ(b.record(),
            "ftransformers\t3\nfcurl\t1\nfbot\t1\nfother\t1\n"
            "pconfig.json\t3\npmodel.safetensors\t2\n");
  // The log's separators never reach it inside a path.
  scripts::BatchBreakdown odd;
  odd.add('b', "a\tb", false, false);
  odd.add('b', "c\nd", false, false);
  EXPECT_EQ(odd.paths(), (Counts{{"(other)", 2}}));
}

// What the fold and the readers make of a breakdown log: records summed, each d line
// naming its own record's families by position (shorter than the list: the rest opened
// none; a bare "d": none did), bad lines skipped.
TEST(Scripts, ParseBreakdownLogSumsRecords) {
  const auto f = scripts::parse_breakdown_log(
      "ftransformers\t3\nfcurl\t1\npconfig.json\t3\npa.bin\t1\nd2,0\n"
      "fcurl\t2\npa.bin\t2\nd1\n"
      "fgit\t1\nfcurl\t1\nd\n"
      "garbage\npno-tab\nfgit\tx\nfbot\t1\nd1,7\n");
  using Fields = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(f.paths, (Fields{{"config.json", 3}, {"a.bin", 3}}));
  EXPECT_EQ(f.clients, (Fields{{"f:transformers", 3},
                               {"f:curl", 4},
                               {"d:transformers", 2},
                               {"d:curl", 1},
                               {"f:git", 1},
                               {"f:bot", 1},
                               {"d:bot", 1}}));
  EXPECT_TRUE(scripts::parse_breakdown_log("").paths.empty());
}

}  // namespace
}  // namespace hubstats

TEST(Keys, ClientFieldsOfAClientsHash) {
  auto d = hubstats::keys::parse_client_field("d:git");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->family, "git");
  EXPECT_TRUE(d->sessions);
  auto f = hubstats::keys::parse_client_field("f:huggingface_hub");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->family, "huggingface_hub");
  EXPECT_FALSE(f->sessions);
  for (const char* bad : {"", "d:", "x:git", "dgit", "d-git"})
    EXPECT_FALSE(hubstats::keys::parse_client_field(bad)) << bad;
}
