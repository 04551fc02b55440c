// Who fetched a file: the client family of a User-Agent, from a fixed table, and
// whether it is a bot. Only the family's name is ever stored, never the agent.
// The tables are documented in docs/module.md ("Bots" and "Client families").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hubstats {

// In storage order: the module sends a family as one letter, 'a' + its value.
enum class ClientFamily : std::uint8_t {
  kHuggingfaceHub,
  kTransformers,
  kDiffusers,
  kDatasets,
  kSentenceTransformers,
  kGit,
  kGitLfs,
  kCurl,
  kWget,
  kAria2,
  kPythonRequests,
  kBrowser,
  kBot,
  kOther,
};
inline constexpr int kClientFamilies = 14;

// "huggingface_hub", "transformers", ..., "bot", "other".
std::string_view family_name(ClientFamily f) noexcept;

// Bot patterns: the built-in table (search-engine crawlers, link previewers, uptime
// checkers, known scrapers) plus an operator's extra patterns; each a case-insensitive
// substring of the User-Agent.
class BotPatterns {
 public:
  BotPatterns();
  // Adds lower-cased patterns from a file's text: one per line, '#' starts a comment,
  // blank lines ignored. Returns false (and the 1-based line in *bad_line) for a
  // pattern shorter than 3 characters (it would match nearly everything).
  bool add_lines(std::string_view text, int* bad_line);
  bool matches(std::string_view ua_lower) const noexcept;
  static const std::vector<std::string_view>& builtin() noexcept;
  const std::vector<std::string>& extra() const noexcept { return extra_; }

 private:
  void index(std::string_view p);
  std::vector<std::string> extra_;
  // Every pattern (built-in and extra), and for each hash of a pattern's first two
  // characters the patterns starting so: matching reads each agent position once and
  // compares only the few patterns that can start there.
  std::vector<std::string> all_;
  std::vector<std::vector<std::uint16_t>> by_start_;
  // One bit per two-character start of any pattern (8 KiB): a position whose pair
  // starts none is skipped without touching the buckets.
  std::array<std::uint64_t, 65536 / 64> pairs_{};
};

// The family of a User-Agent. A bot (by `bots`, or by the built-in table when null)
// is kBot; then the most specific library named (sentence-transformers, diffusers,
// datasets, transformers before huggingface_hub: huggingface_hub puts the calling
// library first and itself second); then git-lfs, git, curl, wget, aria2,
// python-requests; browsers (Mozilla/... with Chrome, Firefox, Safari, Edge); else
// kOther. Empty agent: kOther.
ClientFamily client_family(std::string_view user_agent, const BotPatterns* bots = nullptr) noexcept;

// client_family() of recent agents, by a 64-bit hash of the agent (the agent itself is
// not kept): a client sends one User-Agent for every file it fetches, and a real agent
// (100-200 characters through the bot table and the products) takes ~0.3 µs to
// classify. Direct-mapped, 256 entries; a later agent with the same slot replaces the
// earlier one. Answers depend on `bots`: use one cache per pattern set.
class ClientFamilyCache {
 public:
  explicit ClientFamilyCache(const BotPatterns* bots) noexcept : bots_(bots) {}
  ClientFamily get(std::string_view user_agent) noexcept;

 private:
  struct Entry {
    std::uint64_t hash = 0;
    ClientFamily family = ClientFamily::kOther;
    bool used = false;
  };
  const BotPatterns* bots_;
  std::array<Entry, 256> entries_{};
};

}  // namespace hubstats
