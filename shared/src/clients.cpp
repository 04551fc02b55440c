#include "hubstats/clients.h"

#include <array>
#include <cstddef>

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

// True when `ua` names `product` as "product/..." at a token start.
bool has_product(std::string_view ua, std::string_view product) {
  for (std::size_t at = ua.find(product); at != std::string_view::npos;
       at = ua.find(product, at + 1)) {
    const std::size_t end = at + product.size();
    if (boundary_before(ua, at) && end < ua.size() && ua[end] == '/') return true;
  }
  return false;
}

bool contains(std::string_view ua, std::string_view s) {
  return ua.find(s) != std::string_view::npos;
}

}  // namespace

std::string_view family_name(ClientFamily f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < kNames.size() ? kNames[i] : kNames.back();
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
    extra_.push_back(std::move(p));
  }
  return true;
}

bool BotPatterns::matches(std::string_view ua) const noexcept {
  for (std::string_view p : kBuiltinBots) {
    if (contains(ua, p)) return true;
  }
  for (const std::string& p : extra_) {
    if (contains(ua, p)) return true;
  }
  return false;
}

ClientFamily client_family(std::string_view user_agent, const BotPatterns* bots) noexcept {
  if (user_agent.empty()) return ClientFamily::kOther;
  char buf[kMaxAgent];
  const std::size_t n = user_agent.size() < kMaxAgent ? user_agent.size() : kMaxAgent;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = user_agent[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view ua(buf, n);
  static const BotPatterns kBuiltinOnly;
  if ((bots ? bots : &kBuiltinOnly)->matches(ua)) return ClientFamily::kBot;
  // Libraries on huggingface_hub, most specific first.
  if (has_product(ua, "sentence-transformers") || has_product(ua, "sentence_transformers"))
    return ClientFamily::kSentenceTransformers;
  if (has_product(ua, "diffusers")) return ClientFamily::kDiffusers;
  if (has_product(ua, "datasets")) return ClientFamily::kDatasets;
  if (has_product(ua, "transformers")) return ClientFamily::kTransformers;
  if (has_product(ua, "hf_hub") || has_product(ua, "huggingface_hub") ||
      has_product(ua, "huggingface.js"))
    return ClientFamily::kHuggingfaceHub;
  if (has_product(ua, "git-lfs")) return ClientFamily::kGitLfs;
  if (has_product(ua, "git") || has_product(ua, "jgit")) return ClientFamily::kGit;
  if (has_product(ua, "curl")) return ClientFamily::kCurl;
  if (has_product(ua, "wget")) return ClientFamily::kWget;
  if (has_product(ua, "aria2")) return ClientFamily::kAria2;
  if (has_product(ua, "python-requests")) return ClientFamily::kPythonRequests;
  if (has_product(ua, "mozilla") &&
      (contains(ua, "chrome/") || contains(ua, "firefox/") || contains(ua, "safari/") ||
       contains(ua, "edg/") || contains(ua, "opr/")))
    return ClientFamily::kBrowser;
  return ClientFamily::kOther;
}

}  // namespace hubstats
