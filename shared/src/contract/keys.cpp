#include "hubstats/contract/keys.h"

namespace hubstats::keys {

namespace {
void append_repo_tag(std::string& out, const RepoRef& r) {
  out += to_string(r.type);
  out += '/';
  out += r.ns;
  out += '/';
  out += r.name;
}

// "hs:{type/ns/name}" with room for a suffix, built in one allocation (the fold builds
// 18 keys per repo-day).
std::string tagged(const RepoRef& r, std::size_t room = 16) {
  std::string k;
  k.reserve(kPrefix.size() + to_string(r.type).size() + r.ns.size() + r.name.size() + 4 + room);
  k += kPrefix;
  k += '{';
  append_repo_tag(k, r);
  k += '}';
  return k;
}

std::string day_key(const RepoRef& r, std::string_view kind, Day d) {
  std::string k = tagged(r, kind.size() + 8);
  k += kind;
  append_compact(k, d);
  return k;
}
}  // namespace

std::string repo_tag(const RepoRef& r) {
  std::string t;
  append_repo_tag(t, r);
  return t;
}

std::optional<RepoRef> parse_repo_tag(std::string_view tag) {
  const auto a = tag.find('/');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = tag.find('/', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto type = parse_repo_type(tag.substr(0, a));
  auto ns = tag.substr(a + 1, b - a - 1);
  auto name = tag.substr(b + 1);
  if (!type || !valid_segment(ns) || !valid_segment(name)) return std::nullopt;
  return RepoRef{*type, std::string(ns), std::string(name)};
}

std::optional<ClientField> parse_client_field(std::string_view field) noexcept {
  if (field.size() < 3 || field[1] != ':' || (field[0] != 'd' && field[0] != 'f'))
    return std::nullopt;
  return ClientField{field.substr(2), field[0] == 'd'};
}

std::string sessions_prefix(const RepoRef& r) {
  return tagged(r) + ":s:";
}

std::string sessions(const RepoRef& r, std::int64_t window_ms, std::int64_t bucket) {
  return sessions_prefix(r) + std::to_string(window_ms) + ":" + std::to_string(bucket);
}

std::int64_t session_bucket(std::int64_t now_ms, std::int64_t window_ms) noexcept {
  const std::int64_t q = now_ms / window_ms;
  return (now_ms % window_ms < 0) ? q - 1 : q;
}

std::string day(const RepoRef& r, Day d) {
  return day_key(r, ":d:", d);
}

std::string paths(const RepoRef& r, Day d) {
  return day_key(r, ":p:", d);
}

std::string clients(const RepoRef& r, Day d) {
  return day_key(r, ":c:", d);
}

std::string folding(const RepoRef& r, Day d) {
  return day_key(r, ":f:", d);
}

std::string folding_paths(const RepoRef& r, Day d) {
  return day_key(r, ":fp:", d);
}

std::string folding_clients(const RepoRef& r, Day d) {
  return day_key(r, ":fc:", d);
}

std::string breakdown_log(const RepoRef& r, Day d) {
  return day_key(r, ":x:", d);
}

std::string folding_breakdown_log(const RepoRef& r, Day d) {
  return day_key(r, ":fx:", d);
}

std::string days(const RepoRef& r) {
  return tagged(r) + ":days";
}

std::string epoch(const RepoRef& r) {
  return tagged(r) + ":e";
}

std::string batches(const RepoRef& r) {
  return tagged(r) + ":b";
}

std::string index(Day d) {
  return std::string(kPrefix) + "idx:" + format_compact(d);
}

int dirty_shard(std::string_view repo_tag) noexcept {
  std::uint32_t h = 2166136261u;
  for (const unsigned char c : repo_tag) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int>(h % static_cast<std::uint32_t>(kDirtyShards));
}

std::string dirty(int shard) {
  return std::string(kPrefix) + "{dirty:" + std::to_string(shard) + "}";
}

std::string dirty_taken(int shard) {
  return dirty(shard) + ":taken";
}

}  // namespace hubstats::keys
