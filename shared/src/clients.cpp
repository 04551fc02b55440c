#include "hubstats/clients.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <functional>

namespace hubstats {

namespace {

// Only the agent's start is read: bounds the work, and every family names itself early.
constexpr std::size_t kMaxAgent = 512;

constexpr std::array<std::string_view, kClientFamilies> kNames = {
    "huggingface_hub",
    "transformers",
    "diffusers",
    "datasets",
    "sentence-transformers",
    "git",
    "git-lfs",
    "curl",
    "wget",
    "aria2",
    "python-requests",
    "browser",
    "bot",
    "other",
};

// Built-in bot patterns, lower case, matched as substrings.
const std::vector<std::string_view> kBuiltinBots = {
    // search engines
    "googlebot",
    "google-inspectiontool",
    "googleother",
    "adsbot-google",
    "mediapartners-google",
    "bingbot",
    "bingpreview",
    "msnbot",
    "slurp",
    "duckduckbot",
    "baiduspider",
    "yandexbot",
    "yandex.com/bots",
    "applebot",
    "seznambot",
    "yeti/",
    "sogou",
    "exabot",
    "qwantify",
    "petalbot",
    "mojeekbot",
    // link previewers
    "facebookexternalhit",
    "facebookcatalog",
    "facebot",
    "twitterbot",
    "linkedinbot",
    "slackbot",
    "slack-imgproxy",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "skypeuripreview",
    "redditbot",
    "pinterestbot",
    "embedly",
    "iframely",
    "vkshare",
    "mastodon/",
    "bitlybot",
    // uptime checkers and monitoring
    "uptimerobot",
    "pingdom",
    "statuscake",
    "site24x7",
    "betteruptime",
    "better stack",
    "uptime-kuma",
    "updown.io",
    "hetrixtools",
    "freshping",
    "checkly",
    "datadogsynthetics",
    "newrelicpinger",
    "nagios",
    "zabbix",
    "monitis",
    "uptime.com",
    // known scrapers and AI crawlers
    "ahrefsbot",
    "semrushbot",
    "mj12bot",
    "dotbot",
    "blexbot",
    "dataforseobot",
    "serpstatbot",
    "bytespider",
    "gptbot",
    "chatgpt-user",
    "oai-searchbot",
    "ccbot",
    "claudebot",
    "claude-web",
    "anthropic-ai",
    "perplexitybot",
    "amazonbot",
    "meta-externalagent",
    "imagesiftbot",
    "diffbot",
    "scrapy",
    "httrack",
    "heritrix",
    "archive.org_bot",
    "ia_archiver",
    "commoncrawl",
    // generic words crawlers use in their names
    "crawler",
    "spider",
    "+http://",
    "+https://",
};

bool boundary_before(std::string_view s, std::size_t at) {
  if (at == 0) return true;
  const char c = s[at - 1];
  return c == ' ' || c == ';' || c == '(' || c == ',' || c == '\t';
}

constexpr std::size_t kStartBuckets = 1024;

std::size_t pair_of(char a, char b) {
  return static_cast<std::size_t>(static_cast<unsigned char>(a)) << 8 |
         static_cast<unsigned char>(b);
}

std::size_t start_bucket(char a, char b) {
  return (static_cast<unsigned char>(a) * 31u + static_cast<unsigned char>(b)) % kStartBuckets;
}

// One table lookup per character instead of seven comparisons: an agent is scanned
// once per counted request, and real ones run to 100-200 characters.
constexpr std::array<bool, 256> kDelimiters = [] {
  std::array<bool, 256> t{};
  for (const unsigned char c : std::string_view(" ;(),/\t")) t[c] = true;
  return t;
}();

bool is_delimiter(char c) {
  return kDelimiters[static_cast<unsigned char>(c)];
}

}  // namespace

std::string_view family_name(ClientFamily f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < kNames.size() ? kNames[i] : kNames.back();
}

BotPatterns::BotPatterns() : by_start_(kStartBuckets) {
  for (std::string_view p : kBuiltinBots) index(p);
}

void BotPatterns::index(std::string_view p) {
  all_.emplace_back(p);
  const std::size_t pair = pair_of(p[0], p[1]);
  pairs_[pair / 64] |= std::uint64_t{1} << (pair % 64);
  by_start_[start_bucket(p[0], p[1])].push_back(static_cast<std::uint16_t>(all_.size() - 1));
}

const std::vector<std::string_view>& BotPatterns::builtin() noexcept {
  return kBuiltinBots;
}

bool BotPatterns::add_lines(std::string_view text, int* bad_line) {
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.size() < 3) {
      if (bad_line) *bad_line = line_no;
      return false;
    }
    std::string p(line);
    for (char& c : p) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (all_.size() >= 0xFFFF) return true;  // far more than any list needs
    index(p);
    extra_.push_back(std::move(p));
  }
  return true;
}

bool BotPatterns::matches(std::string_view ua) const noexcept {
  for (std::size_t i = 0; i + 1 < ua.size(); ++i) {
    const std::size_t pair = pair_of(ua[i], ua[i + 1]);
    if (!(pairs_[pair / 64] >> (pair % 64) & 1)) continue;  // most positions start nothing
    for (const std::uint16_t k : by_start_[start_bucket(ua[i], ua[i + 1])]) {
      const std::string& p = all_[k];
      // Patterns have at least 3 characters: the third rejects most candidates
      // before a call to memcmp.
      if (ua.size() - i >= p.size() && ua[i + 2] == p[2] &&
          std::memcmp(ua.data() + i, p.data(), p.size()) == 0) {
        return true;
      }
    }
  }
  return false;
}

ClientFamily ClientFamilyCache::get(std::string_view user_agent) noexcept {
  const std::uint64_t hash = std::hash<std::string_view>{}(user_agent);
  Entry& e = entries_[hash % entries_.size()];
  if (!e.used || e.hash != hash) {
    e.hash = hash;
    e.family = client_family(user_agent, bots_);
    e.used = true;
  }
  return e.family;
}

ClientFamily client_family(std::string_view user_agent, const BotPatterns* bots) noexcept {
  if (user_agent.empty()) return ClientFamily::kOther;
  char buf[kMaxAgent];
  const std::size_t n = user_agent.size() < kMaxAgent ? user_agent.size() : kMaxAgent;
  for (std::size_t i = 0; i < n; ++i) {  // branchless: the compiler vectorizes it
    const auto c = static_cast<unsigned char>(user_agent[i]);
    buf[i] = static_cast<char>(c + (static_cast<unsigned char>(c - 'A') < 26 ? 32 : 0));
  }
  const std::string_view ua(buf, n);
  static const BotPatterns kBuiltinOnly;
  if ((bots ? bots : &kBuiltinOnly)->matches(ua)) return ClientFamily::kBot;
  // One pass over the agent's products ("name/..." at a token start), then the
  // libraries on huggingface_hub, most specific first.
  enum : std::uint32_t {
    kSt = 1u << 0,
    kDif = 1u << 1,
    kDs = 1u << 2,
    kTr = 1u << 3,
    kHub = 1u << 4,
    kLfs = 1u << 5,
    kGit = 1u << 6,
    kCurl = 1u << 7,
    kWget = 1u << 8,
    kAria = 1u << 9,
    kReq = 1u << 10,
    kMoz = 1u << 11,
    kEngine = 1u << 12,
  };
  struct Product {
    std::string_view name;
    std::uint32_t bit;
  };
  static constexpr Product kProducts[] = {
      {"sentence-transformers", kSt},
      {"sentence_transformers", kSt},
      {"diffusers", kDif},
      {"datasets", kDs},
      {"transformers", kTr},
      {"hf_hub", kHub},
      {"huggingface_hub", kHub},
      {"huggingface.js", kHub},
      {"git-lfs", kLfs},
      {"git", kGit},
      {"jgit", kGit},
      {"curl", kCurl},
      {"wget", kWget},
      {"aria2", kAria},
      {"python-requests", kReq},
      {"mozilla", kMoz},
      {"chrome", kEngine},
      {"headlesschrome", kEngine},
      {"firefox", kEngine},
      {"safari", kEngine},
      {"edg", kEngine},
      {"opr", kEngine},
  };
  std::uint32_t seen = 0;
  // Tokens end at a delimiter; a token ended by '/' is a product name.
  for (std::size_t i = 0; i < ua.size();) {
    std::size_t j = i;
    while (j < ua.size() && !is_delimiter(ua[j])) ++j;
    if (j < ua.size() && ua[j] == '/' && j > i && j - i <= 21 && boundary_before(ua, i)) {
      const std::string_view name = ua.substr(i, j - i);
      for (const Product& p : kProducts) {
        if (p.name.size() == name.size() && p.name == name) seen |= p.bit;
      }
    }
    i = j + 1;
  }
  if (seen & kSt) return ClientFamily::kSentenceTransformers;
  if (seen & kDif) return ClientFamily::kDiffusers;
  if (seen & kDs) return ClientFamily::kDatasets;
  if (seen & kTr) return ClientFamily::kTransformers;
  if (seen & kHub) return ClientFamily::kHuggingfaceHub;
  if (seen & kLfs) return ClientFamily::kGitLfs;
  if (seen & kGit) return ClientFamily::kGit;
  if (seen & kCurl) return ClientFamily::kCurl;
  if (seen & kWget) return ClientFamily::kWget;
  if (seen & kAria) return ClientFamily::kAria2;
  if (seen & kReq) return ClientFamily::kPythonRequests;
  if ((seen & kMoz) && (seen & kEngine)) return ClientFamily::kBrowser;
  return ClientFamily::kOther;
}

}  // namespace hubstats
