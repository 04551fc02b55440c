#include "event.h"

#include "hubstats/keys.h"
#include "hubstats/scripts.h"

namespace hubstats::module {

namespace {

const std::string& record_sha() {
  static const std::string sha = scripts::sha1_hex(scripts::kRecord);
  return sha;
}

const std::string& index_sha() {
  static const std::string sha = scripts::sha1_hex(scripts::kIndex);
  return sha;
}

Command script_head(ScriptCall how, std::string_view body, const std::string& sha, int nkeys) {
  Command c;
  c.reserve(10);
  if (how == ScriptCall::kEvalSha) {
    c.emplace_back("EVALSHA");
    c.push_back(sha);
  } else {
    c.emplace_back("EVAL");
    c.emplace_back(body);
  }
  c.push_back(std::to_string(nkeys));
  return c;
}

}  // namespace

Command record_command(const Event& e, const RecordSettings& s, ScriptCall how) {
  Command c = script_head(how, scripts::kRecord, record_sha(), 3);
  c.push_back(keys::session(e.repo, e.identity_hex));
  c.push_back(keys::day(e.repo, e.day));
  c.push_back(keys::days(e.repo));
  c.push_back(std::to_string(s.window_ms));
  c.emplace_back(e.authenticated ? "1" : "0");
  c.push_back(std::to_string(s.retention_s));
  c.push_back(format_compact(e.day));
  return c;
}

Command index_command(const Event& e, const RecordSettings& s, ScriptCall how) {
  Command c = script_head(how, scripts::kIndex, index_sha(), 1);
  c.push_back(keys::index(e.day));
  c.push_back(keys::repo_tag(e.repo));
  c.push_back(std::to_string(s.retention_s));
  return c;
}

namespace {

void append_bulk(std::string& out, std::string_view arg) {
  out += '$';
  out += std::to_string(arg.size());
  out += "\r\n";
  out.append(arg.data(), arg.size());
  out += "\r\n";
}

std::string resp(std::initializer_list<std::string_view> args) {
  std::size_t size = 16;
  for (auto a : args) size += a.size() + 16;
  std::string out;
  out.reserve(size);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto a : args) append_bulk(out, a);
  return out;
}

}  // namespace

std::string to_resp(const Command& c) {
  std::string out = "*" + std::to_string(c.size()) + "\r\n";
  for (const auto& a : c) append_bulk(out, a);
  return out;
}

RepoDayKeys RepoDayKeys::of(const RepoRef& repo, Day d) {
  RepoDayKeys k;
  k.tag = keys::repo_tag(repo);
  k.session_prefix = keys::session(repo, "");
  k.day = keys::day(repo, d);
  k.days = keys::days(repo);
  k.index = keys::index(d);
  k.compact_day = format_compact(d);
  k.day_number = d;
  return k;
}

RecordArgs::RecordArgs(const RecordSettings& s)
    : window_ms(std::to_string(s.window_ms)), retention_s(std::to_string(s.retention_s)) {}

std::string record_resp(const RepoDayKeys& k, const Event& e, const RecordArgs& a, ScriptCall how) {
  const bool sha = how == ScriptCall::kEvalSha;
  std::string session;
  session.reserve(k.session_prefix.size() + e.identity_hex.size());
  session += k.session_prefix;
  session += e.identity_hex;
  return resp({sha ? std::string_view("EVALSHA") : std::string_view("EVAL"),
               sha ? std::string_view(record_sha()) : scripts::kRecord, "3", session, k.day, k.days,
               a.window_ms, e.authenticated ? "1" : "0", a.retention_s, k.compact_day});
}

std::string index_resp(const RepoDayKeys& k, const RecordArgs& a, ScriptCall how) {
  const bool sha = how == ScriptCall::kEvalSha;
  return resp({sha ? std::string_view("EVALSHA") : std::string_view("EVAL"),
               sha ? std::string_view(index_sha()) : scripts::kIndex, "1", k.index, k.tag,
               a.retention_s});
}

std::vector<Command> script_load_commands() {
  return {
      Command{"SCRIPT", "LOAD", std::string(scripts::kRecord)},
      Command{"SCRIPT", "LOAD", std::string(scripts::kIndex)},
  };
}

}  // namespace hubstats::module
