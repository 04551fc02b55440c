#include "hubstats/clients.h"

#include <gtest/gtest.h>

#include <string>

namespace hubstats {
namespace {

using F = ClientFamily;

// Real agent strings of each family (as the clients send them).
struct Case {
  const char* ua;
  F family;
};
const Case kCases[] = {
    // huggingface_hub: "<library>/<version>; hf_hub/<v>; python/<v>; torch/<v>; ..."
    {"unknown/None; hf_hub/0.21.4; python/3.10.12; torch/2.2.1", F::kHuggingfaceHub},
    {"huggingface_hub/0.10.1; python/3.8.10; torch/1.12.1", F::kHuggingfaceHub},
    {"unknown/None; hf_hub/0.19.4; python/3.11.7; session_id/5d3c7a1e", F::kHuggingfaceHub},
    // A library on huggingface_hub: the most specific wins.
    {"transformers/4.38.2; python/3.10.12; session_id/3b1c0f9d2e; torch/2.2.1; "
     "file_type/model; framework/pytorch; from_auto_class/False",
     F::kTransformers},
    {"huggingface_hub/0.16.4; python/3.10.12; torch/2.0.1; transformers/4.31.0; "
     "session_id/9a8b; file_type/config; from_auto_class/True",
     F::kTransformers},
    {"diffusers/0.26.3; python/3.10.12; session_id/e1f2a3; torch/2.2.1; file_type/model; "
     "framework/pytorch",
     F::kDiffusers},
    {"unknown/None; hf_hub/0.21.4; python/3.10.12; torch/2.2.1; datasets/2.18.0; "
     "pyarrow/15.0.0",
     F::kDatasets},
    {"datasets/2.18.0; python/3.10.12; huggingface_hub/0.21.4; pyarrow/15.0.0", F::kDatasets},
    {"sentence-transformers/2.5.1; hf_hub/0.21.4; python/3.10.12; torch/2.2.1",
     F::kSentenceTransformers},
    {"transformers/4.38.2; hf_hub/0.21.4; python/3.10.12; sentence_transformers/2.5.1",
     F::kSentenceTransformers},
    {"git/2.39.5", F::kGit},
    {"git/2.43.0.windows.1", F::kGit},
    {"git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)", F::kGitLfs},
    {"curl/7.88.1", F::kCurl},
    {"Wget/1.21.3", F::kWget},
    {"aria2/1.36.0", F::kAria2},
    {"python-requests/2.28.1", F::kPythonRequests},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36",
     F::kBrowser},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.6099.224 Safari/537.36",
     F::kBrowser},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", F::kBrowser},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.2 Safari/605.1.15",
     F::kBrowser},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
     F::kBrowser},
    // Bots: crawlers, link previewers, uptime checkers, scrapers.
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", F::kBot},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html) Chrome/120.0.6099.216 Safari/537.36",
     F::kBot},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", F::kBot},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", F::kBot},
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", F::kBot},
    {"Twitterbot/1.0", F::kBot},
    {"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", F::kBot},
    {"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", F::kBot},
    {"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", F::kBot},
    {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; "
     "+https://openai.com/gptbot)",
     F::kBot},
    {"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", F::kBot},
    {"Scrapy/2.11.0 (+https://scrapy.org)", F::kBot},
    // Other.
    {"", F::kOther},
    {"Go-http-client/1.1", F::kOther},
    {"Python-urllib/3.11", F::kOther},
    {"my-downloader", F::kOther},
};

TEST(Clients, EveryFamilyFromRealAgents) {
  bool seen[kClientFamilies] = {};
  for (const Case& c : kCases) {
    EXPECT_EQ(client_family(c.ua), c.family) << c.ua;
    seen[static_cast<int>(c.family)] = true;
  }
  for (int f = 0; f < kClientFamilies; ++f) {
    EXPECT_TRUE(seen[f]) << family_name(static_cast<F>(f)) << " has no real agent case";
  }
}

TEST(Clients, Names) {
  EXPECT_EQ(family_name(F::kHuggingfaceHub), "huggingface_hub");
  EXPECT_EQ(family_name(F::kSentenceTransformers), "sentence-transformers");
  EXPECT_EQ(family_name(F::kGitLfs), "git-lfs");
  EXPECT_EQ(family_name(F::kPythonRequests), "python-requests");
  EXPECT_EQ(family_name(F::kOther), "other");
}

TEST(Clients, ProductsMatchAtTokenStarts) {
  // "git/" inside another product name is not git.
  EXPECT_EQ(client_family("digit/1.0"), F::kOther);
  EXPECT_EQ(client_family("mycurl/1.0"), F::kOther);
  EXPECT_EQ(client_family("Mozilla/5.0 (Windows NT 10.0)"), F::kOther);  // no engine named
}

TEST(Clients, OperatorBotPatterns) {
  BotPatterns p;
  int bad = 0;
  ASSERT_TRUE(p.add_lines("# our monitor\n  Internal-Probe  \n\nFooFetcher # a scraper\r\n", &bad));
  EXPECT_EQ(p.extra().size(), 2u);
  EXPECT_EQ(client_family("internal-probe/1.0", &p), F::kBot);
  EXPECT_EQ(client_family("curl/7.88.1 FooFetcher", &p), F::kBot);
  EXPECT_EQ(client_family("curl/7.88.1"), F::kCurl);
  EXPECT_EQ(client_family("Twitterbot/1.0", &p), F::kBot);  // built-ins stay
  BotPatterns q;
  EXPECT_FALSE(q.add_lines("okbot\nab\n", &bad));
  EXPECT_EQ(bad, 2);
}

// The cache answers what client_family answers, for its own pattern set, also after
// its slots have been overwritten many times.
TEST(Clients, CacheAnswersAsClientFamily) {
  BotPatterns p;
  int bad = 0;
  ASSERT_TRUE(p.add_lines("internal-probe\n", &bad));
  ClientFamilyCache builtin(nullptr);
  ClientFamilyCache custom(&p);
  for (int round = 0; round < 3; ++round) {
    for (const Case& c : kCases) {
      EXPECT_EQ(builtin.get(c.ua), c.family) << c.ua;
      EXPECT_EQ(custom.get(c.ua), client_family(c.ua, &p)) << c.ua;
    }
    for (int i = 0; i < 2000; ++i) {  // many more agents than slots
      const std::string ua = (i % 3 == 0   ? "curl/8."
                              : i % 3 == 1 ? "Internal-Probe/"
                                           : "git/2.") +
                             std::to_string(i);
      const F want = i % 3 == 0 ? F::kCurl : i % 3 == 1 ? F::kOther : F::kGit;
      ASSERT_EQ(builtin.get(ua), want) << ua;
      ASSERT_EQ(custom.get(ua), i % 3 == 1 ? F::kBot : want) << ua;
    }
  }
  EXPECT_EQ(builtin.get(""), F::kOther);
}

TEST(Clients, LongAgentsAreReadFromTheirStart) {
  std::string ua = "curl/8.0";
  ua.append(4000, 'x');
  ua += " Googlebot";
  EXPECT_EQ(client_family(ua), F::kCurl);
}

}  // namespace
}  // namespace hubstats
