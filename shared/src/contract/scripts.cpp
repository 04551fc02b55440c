#include "hubstats/contract/scripts.h"

#include <openssl/sha.h>

#include "hubstats/contract/keys.h"

namespace hubstats::scripts {

ScriptArgs record_batch_args(const RepoRef& repo, Day day, std::int64_t window_ms,
                             std::int64_t retention_s, std::int64_t now_ms,
                             const std::vector<RecordedFile>& files, std::string_view stream,
                             std::uint64_t seq, std::int64_t max_paths) {
  const std::int64_t bucket = keys::session_bucket(now_ms, window_ms);
  ScriptArgs a;
  a.keys = {keys::day(repo, day),
            keys::days(repo),
            keys::sessions(repo, window_ms, bucket),
            keys::sessions(repo, window_ms, bucket - 1),
            keys::batches(repo),
            keys::paths(repo, day),
            keys::clients(repo, day)};
  std::string flags, families;
  for (const auto& f : files) {
    flags += f.bot ? '2' : f.authenticated ? '1' : '0';
    families += f.family;
  }
  a.argv = {std::to_string(window_ms), std::to_string(retention_s), format_compact(day),
            std::string(stream),       std::to_string(seq),         std::move(flags),
            std::move(families),       std::to_string(max_paths)};
  for (const auto& f : files) a.argv.emplace_back(f.identity);
  for (const auto& f : files) a.argv.push_back(std::to_string(f.time_ms ? f.time_ms : now_ms));
  for (const auto& f : files) a.argv.emplace_back(f.path);
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
