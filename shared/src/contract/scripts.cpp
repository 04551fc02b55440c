#include "hubstats/contract/scripts.h"

#include <openssl/sha.h>

#include <charconv>
#include <optional>
#include <unordered_map>

#include "hubstats/clients.h"
#include "hubstats/contract/keys.h"

namespace hubstats::scripts {

void BatchBreakdown::add(char family, std::string_view path, bool bot, bool authenticated) {
  const auto slot = static_cast<std::size_t>(static_cast<unsigned char>(family - 'a')) % 32;
  std::uint8_t& index = index_of_[slot];
  if (!index) {
    const auto f = static_cast<ClientFamily>(family - 'a');
    families_.emplace_back(
        family - 'a' < kClientFamilies ? family_name(f) : family_name(ClientFamily::kOther), 0);
    index = static_cast<std::uint8_t>(families_.size());
  }
  letters_ += static_cast<char>((bot ? 32 : authenticated ? 64 : 96) + index);
  ++families_[index - 1u].second;
  bots_ += bot;
  if (bot) return;
  if (path.find_first_of("\t\r\n") != std::string_view::npos) path = "(other)";
  if (last_path_ < paths_.size() && paths_[last_path_].first == path) {
    ++paths_[last_path_].second;
    return;
  }
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    if (paths_[i].first == path) {
      ++paths_[i].second;
      last_path_ = i;
      return;
    }
  }
  last_path_ = paths_.size();
  paths_.emplace_back(path, 1);
}

std::string BatchBreakdown::record() const {
  std::string out;
  for (const auto* list : {&families_, &paths_}) {
    const char kind = list == &families_ ? 'f' : 'p';
    for (const auto& [name, n] : *list) {
      out += kind;
      out += name;
      out += '\t';
      out += std::to_string(n);
      out += '\n';
    }
  }
  return out;
}

namespace {

void add_field(std::vector<std::pair<std::string, std::int64_t>>& v,
               std::unordered_map<std::string, std::size_t>& at, std::string field,
               std::int64_t n) {
  auto [it, fresh] = at.try_emplace(std::move(field), v.size());
  if (fresh)
    v.emplace_back(it->first, n);
  else
    v[it->second].second += n;
}

std::optional<std::int64_t> count_of(std::string_view digits) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 0) return std::nullopt;
  return n;
}

}  // namespace

BreakdownFields parse_breakdown_log(std::string_view log) {
  BreakdownFields out;
  std::unordered_map<std::string, std::size_t> path_at, client_at;
  std::vector<std::string_view> names;  // the current record's families, in order
  while (!log.empty()) {
    const std::size_t nl = log.find('\n');
    const std::string_view line = log.substr(0, nl);
    log.remove_prefix(nl == std::string_view::npos ? log.size() : nl + 1);
    if (line.empty()) continue;
    if (line[0] == 'd') {
      std::string_view rest = line.substr(1);
      for (std::size_t k = 0;; ++k) {
        const std::size_t comma = rest.find(',');
        const auto n = count_of(rest.substr(0, comma));
        if (n && *n > 0 && k < names.size())
          add_field(out.clients, client_at, "d:" + std::string(names[k]), *n);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      names.clear();
      continue;
    }
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos || (line[0] != 'f' && line[0] != 'p')) continue;
    const std::string_view name = line.substr(1, tab - 1);
    const auto n = count_of(line.substr(tab + 1));
    if (!n) continue;
    if (line[0] == 'f') {
      names.push_back(name);
      add_field(out.clients, client_at, "f:" + std::string(name), *n);
    } else {
      add_field(out.paths, path_at, std::string(name), *n);
    }
  }
  return out;
}

ScriptArgs record_batch_args(const RepoRef& repo, Day day, std::int64_t window_ms,
                             std::int64_t retention_s, std::int64_t now_ms,
                             const std::vector<RecordedFile>& files, std::string_view stream,
                             std::uint64_t seq, std::int64_t max_paths,
                             std::int64_t compact_bytes) {
  const std::int64_t bucket = keys::session_bucket(now_ms, window_ms);
  ScriptArgs a;
  a.keys = {keys::day(repo, day),
            keys::days(repo),
            keys::sessions(repo, window_ms, bucket),
            keys::sessions(repo, window_ms, bucket - 1),
            keys::batches(repo),
            keys::paths(repo, day),
            keys::clients(repo, day),
            keys::breakdown_log(repo, day)};
  BatchBreakdown parts;
  for (const auto& f : files) parts.add(f.family, f.path, f.bot, f.authenticated);
  a.argv = {
      std::to_string(window_ms),    std::to_string(retention_s), format_compact(day),
      std::string(stream),          std::to_string(seq),         parts.letters(),
      std::to_string(parts.bots()), std::to_string(max_paths),   std::to_string(compact_bytes)};
  for (const auto& f : files) a.argv.emplace_back(f.identity);
  for (const auto& f : files) a.argv.push_back(std::to_string(f.time_ms ? f.time_ms : now_ms));
  a.argv.push_back(parts.record());
  return a;
}

std::string sha1_hex(std::string_view script) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char c : md) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace hubstats::scripts
