#include "event.h"

#include <gtest/gtest.h>

#include "hubstats/scripts.h"

using namespace hubstats;
using namespace hubstats::module;

namespace {
Event sample() {
  Event e;
  e.repo = RepoRef{RepoType::kDataset, "ns", "data"};
  e.identity_hex = "0123456789abcdef0123456789abcdef";
  e.authenticated = true;
  e.day = days_from_civil(2025, 1, 15);
  return e;
}
}  // namespace

TEST(EventCommands, RecordUsesEvalshaWithSchemaKeysAndArgs) {
  RecordSettings s{120000, 86400};
  const Command c = record_command(sample(), s, ScriptCall::kEvalSha);
  const Command want{"EVALSHA",
                     scripts::sha1_hex(scripts::kRecord),
                     "3",
                     "hs:{dataset/ns/data}:s:0123456789abcdef0123456789abcdef",
                     "hs:{dataset/ns/data}:d:20250115",
                     "hs:{dataset/ns/data}:days",
                     "120000",
                     "1",
                     "86400",
                     "20250115"};
  EXPECT_EQ(c, want);
}

TEST(EventCommands, EvalFallbackCarriesTheScriptBody) {
  Event e = sample();
  e.authenticated = false;
  const Command c = record_command(e, RecordSettings{}, ScriptCall::kEval);
  ASSERT_EQ(c.size(), 10u);
  EXPECT_EQ(c[0], "EVAL");
  EXPECT_EQ(c[1], scripts::kRecord);
  EXPECT_EQ(c[7], "0");
  EXPECT_EQ(c[6], std::to_string(30 * 60 * 1000));
  EXPECT_EQ(c[8], std::to_string(14 * 86400));
}

TEST(EventCommands, IndexAddsTheRepoTagToTheDayIndex) {
  const Command c = index_command(sample(), RecordSettings{1000, 3600}, ScriptCall::kEvalSha);
  const Command want{
      "EVALSHA", scripts::sha1_hex(scripts::kIndex), "1", "hs:idx:20250115", "dataset/ns/data",
      "3600"};
  EXPECT_EQ(c, want);
}

TEST(EventCommands, ScriptLoadsBothScripts) {
  const auto loads = script_load_commands();
  ASSERT_EQ(loads.size(), 2u);
  EXPECT_EQ(loads[0], (Command{"SCRIPT", "LOAD", std::string(scripts::kRecord)}));
  EXPECT_EQ(loads[1], (Command{"SCRIPT", "LOAD", std::string(scripts::kIndex)}));
}

TEST(EventCommands, RespEncodingMatchesTheArgvCommands) {
  const Event e = sample();
  const RecordSettings s{5000, 7200};
  const RecordArgs a(s);
  const RepoDayKeys k = RepoDayKeys::of(e.repo, e.day);
  for (ScriptCall how : {ScriptCall::kEvalSha, ScriptCall::kEval}) {
    EXPECT_EQ(record_resp(k, e, a, how), to_resp(record_command(e, s, how)));
    EXPECT_EQ(index_resp(k, a, how), to_resp(index_command(e, s, how)));
  }
  // The cached keys of a repo/day serve any identity of that repo and day.
  Event other = e;
  other.identity_hex = "ffffffffffffffffffffffffffffffff";
  other.authenticated = false;
  EXPECT_EQ(record_resp(k, other, a, ScriptCall::kEvalSha),
            to_resp(record_command(other, s, ScriptCall::kEvalSha)));
  EXPECT_EQ(to_resp(Command{"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(to_resp(Command{""}), "*1\r\n$0\r\n\r\n");
}
