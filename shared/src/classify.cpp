#include "hubstats/classify.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace hubstats {

namespace {

// Longer URIs are not downloads from any hub we know; refusing them bounds the work.
constexpr std::size_t kMaxUri = 4096;
constexpr std::size_t kMaxSegments = 64;

// A URI's path segments, kept as 16-bit offsets in a trivial array: an array of 64
// string_views is zeroed on every call (1 KB per classified request); this is not.
class Segments {
 public:
  // Splits "/a/b/c". False on empty segments ("//", trailing "/"), dot segments,
  // control characters, too many segments or a URI over kMaxUri: none of those is a
  // download.
  bool split(std::string_view uri) noexcept {
    if (uri.empty() || uri.front() != '/' || uri.size() > kMaxUri) return false;
    uri_ = uri;
    std::size_t pos = 1;
    while (true) {
      const std::size_t slash = uri.find('/', pos);
      const std::string_view seg =
          uri.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
      if (seg.empty() || seg == "." || seg == "..") return false;
      for (unsigned char c : seg) {
        if (c < 0x20 || c == 0x7f) return false;
      }
      if (n == kMaxSegments) return false;
      seg_[n++] = {static_cast<std::uint16_t>(pos), static_cast<std::uint16_t>(seg.size())};
      if (slash == std::string_view::npos) return true;
      pos = slash + 1;
    }
  }
  std::string_view operator[](std::size_t i) const noexcept {
    return uri_.substr(seg_[i].at, seg_[i].len);
  }
  std::size_t n = 0;

 private:
  static_assert(kMaxUri <= 0xFFFF);
  struct Seg {
    std::uint16_t at, len;
  };
  std::string_view uri_;
  Seg seg_[kMaxSegments];
};

// Namespaces that are routes of the hub itself, never users or organizations.
bool reserved_namespace(std::string_view ns) noexcept {
  return ns == "api" || ns == "models" || ns == "datasets" || ns == "spaces";
}

bool is_oid(std::string_view s) noexcept {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Fills repo from (type, ns, name) segments; false when any part is not a valid repo.
bool make_repo(RepoType type, std::string_view ns, std::string_view name, RepoRef& out) {
  if (reserved_namespace(ns) || !valid_segment(ns) || !valid_segment(name)) return false;
  out.type = type;
  out.ns.assign(ns);
  out.name.assign(name);
  return true;
}

// Matches the tail after "{ns}/{name}" (resolve) or after "{ns}/{name}.git" (git, LFS).
Route match_repo_path(RepoType type, const Segments& s, std::size_t i) {
  Route r;
  if (s.n < i + 2) return r;
  const std::string_view ns = s[i];
  const std::string_view name_seg = s[i + 1];
  const std::size_t rest = i + 2;

  if (ends_with(name_seg, ".git")) {
    const std::string_view name = name_seg.substr(0, name_seg.size() - 4);
    EventKind kind = EventKind::kNone;
    if (s.n == rest + 1 && s[rest] == "git-upload-pack") {
      kind = EventKind::kGitFetch;
    } else if (s.n == rest + 4 && s[rest] == "info" && s[rest + 1] == "lfs" &&
               s[rest + 2] == "objects") {
      if (s[rest + 3] == "batch") {
        kind = EventKind::kLfsBatch;
      } else if (is_oid(s[rest + 3])) {
        kind = EventKind::kLfsObject;
      }
    }
    if (kind != EventKind::kNone && make_repo(type, ns, name, r.repo)) r.kind = kind;
    return r;
  }

  // {ns}/{name}/resolve/{rev}/{path...}: at least one path segment after the revision.
  if (s.n >= rest + 3 && s[rest] == "resolve" && make_repo(type, ns, name_seg, r.repo)) {
    r.kind = EventKind::kFile;
    std::size_t first = rest + 2;
    if (s[rest + 1] == "refs" && s.n >= rest + 5 &&
        (s[rest + 2] == "pr" || s[rest + 2] == "convert")) {
      first = rest + 4;
    }
    const std::string_view seg = s[first];
    const std::string_view last = s[s.n - 1];
    r.path = std::string_view(seg.data(),
                              static_cast<std::size_t>(last.data() + last.size() - seg.data()));
  }
  return r;
}

}  // namespace

std::string_view path_field(const Route& r) noexcept {
  switch (r.kind) {
    case EventKind::kFile:
      return r.path.empty() || r.path.size() > kMaxPathField ? kPathOther : r.path;
    case EventKind::kGitFetch:
      return kPathGit;
    case EventKind::kLfsBatch:
    case EventKind::kLfsObject:
      return kPathLfs;
    case EventKind::kNone:
      break;
  }
  return kPathOther;
}

LfsOperation lfs_operation_of(std::string_view body) noexcept {
  const std::string_view key = "\"operation\"";
  const std::size_t k = body.find(key);
  if (k == std::string_view::npos) return LfsOperation::kUnknown;
  std::size_t i = k + key.size();
  auto skip_ws = [&] {
    while (i < body.size() &&
           (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
      ++i;
  };
  skip_ws();
  if (i >= body.size() || body[i] != ':') return LfsOperation::kUnknown;
  ++i;
  skip_ws();
  if (i >= body.size() || body[i] != '"') return LfsOperation::kUnknown;
  const std::size_t end = body.find('"', i + 1);
  if (end == std::string_view::npos) return LfsOperation::kUnknown;
  const std::string_view op = body.substr(i + 1, end - i - 1);
  if (op == "download") return LfsOperation::kDownload;
  if (op == "upload") return LfsOperation::kUpload;
  return LfsOperation::kUnknown;
}

GitUploadPackCommand git_upload_pack_command(std::string_view body) noexcept {
  // pkt-line: "0014command=ls-refs\n". The length covers its own 4 digits; "0000"
  // (flush), "0001" (delim) and lengths 1..4 carry no payload.
  if (body.size() < 4) return GitUploadPackCommand::kUnknown;
  std::size_t len = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const char c = body[i];
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return GitUploadPackCommand::kUnknown;
    len = len * 16 + static_cast<std::size_t>(v);
  }
  if (len <= 4) return GitUploadPackCommand::kUnknown;
  // The payload as far as the body holds it (a truncated body still names its command).
  std::string_view payload = body.substr(4, len - 4);
  if (!payload.empty() && payload.back() == '\n') payload.remove_suffix(1);
  auto is = [&payload](std::string_view command) {
    return payload.substr(0, command.size()) == command &&
           (payload.size() == command.size() || payload[command.size()] == ' ');
  };
  if (payload == "command=ls-refs") return GitUploadPackCommand::kLsRefs;
  if (payload == "command=fetch" || is("want")) return GitUploadPackCommand::kFetch;
  return GitUploadPackCommand::kUnknown;
}

Route route_of(std::string_view uri) noexcept {
  try {
    Segments s;
    if (!s.split(uri)) return {};
    std::size_t i = 0;
    if (s.n > 0 && s[0] == "api") i = 1;
    if (s.n <= i) return {};
    if (auto type = parse_repo_type_plural(s[i])) {
      Route r = match_repo_path(*type, s, i + 1);
      if (r.kind != EventKind::kNone) return r;
    }
    // The model form without a type prefix: /{ns}/{name}/resolve/..., /{ns}/{name}.git/...
    return match_repo_path(RepoType::kModel, s, i);
  } catch (...) {  // std::bad_alloc from the repo strings: not countable, never fatal
    return {};
  }
}

namespace {

std::string_view trim_ws(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Case-insensitive "bytes" prefix followed by `sep`; returns the rest.
std::optional<std::string_view> after_bytes_unit(std::string_view v, char sep) noexcept {
  const std::string_view unit = "bytes";
  if (v.size() <= unit.size()) return std::nullopt;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != unit[i]) return std::nullopt;
  }
  if (v[unit.size()] != sep) return std::nullopt;
  return v.substr(unit.size() + 1);
}

// A non-negative decimal of at most 18 digits (no overflow).
std::optional<std::int64_t> parse_decimal(std::string_view v) noexcept {
  v = trim_ws(v);
  if (v.empty() || v.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

bool range_starts_at_zero(std::string_view range) noexcept {
  const RangeFromZero r = range_from_zero(range);
  return !r.absent && r.from_zero;
}

RangeFromZero range_from_zero(std::string_view range) noexcept {
  RangeFromZero out;
  const auto specs = after_bytes_unit(trim_ws(range), '=');
  if (!specs) return out;
  bool any = false;
  std::string_view rest = *specs;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view spec = trim_ws(rest.substr(0, comma));
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeFromZero{};  // malformed: no usable Range
    any = true;
    if (dash > 0) {  // "first-[last]"; "-n" is a suffix range: it never starts at 0 here
      const auto first = parse_decimal(spec.substr(0, dash));
      if (!first) return RangeFromZero{};
      const std::string_view last_s = trim_ws(spec.substr(dash + 1));
      std::int64_t last = -1;
      if (!last_s.empty()) {
        const auto l = parse_decimal(last_s);
        if (!l) return RangeFromZero{};
        last = *l;
      }
      if (*first == 0 && !out.from_zero) {
        out.from_zero = true;
        out.last = last;
      }
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  out.absent = !any;
  return out;
}

std::optional<ContentRange> parse_content_range(std::string_view value) noexcept {
  const auto rest = after_bytes_unit(trim_ws(value), ' ');
  if (!rest) return std::nullopt;
  const std::string_view v = trim_ws(*rest);
  const std::size_t dash = v.find('-');
  const std::size_t slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;  // includes "bytes */1000" (an unsatisfied range)
  }
  const auto first = parse_decimal(v.substr(0, dash));
  const auto last = parse_decimal(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange c{*first, *last, -1};
  const std::string_view complete = trim_ws(v.substr(slash + 1));
  if (complete != "*") {
    const auto n = parse_decimal(complete);
    if (!n || *n <= *last) return std::nullopt;
    c.complete = *n;
  }
  return c;
}

bool partial_counts(int status, const RangeFacts& r) noexcept {
  if (status == 206 && !r.content_range.empty()) {
    const auto c = parse_content_range(r.content_range);
    if (!c || c->first != 0) return false;
    return (c->complete >= 0 && c->last + 1 >= c->complete) || c->last + 1 >= r.min_range;
  }
  const RangeFromZero q = range_from_zero(r.request_range);
  if (q.absent) return status != 206;  // a redirect without Range; a 206 needs one
  if (!q.from_zero) return false;
  return q.last < 0 || q.last + 1 >= r.min_range;
}

bool custom_layout_countable(std::string_view method, int status, const RangeFacts& r) noexcept {
  return method == "GET" && countable_download_status(status, r);
}

bool custom_layout_condition(std::string_view value) noexcept {
  return !value.empty() && value != "0";
}

std::optional<RepoRef> custom_layout_repo(std::string_view type, std::string ns, std::string name) {
  auto t = parse_repo_type(type);
  if (!t) t = parse_repo_type_plural(type);
  if (!t || !valid_segment(ns) || !valid_segment(name)) return std::nullopt;
  return RepoRef{*t, std::move(ns), std::move(name)};
}

bool countable_download_status(int status, const RangeFacts& r) noexcept {
  switch (status) {
    case 200:
      return true;
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
    case 206:
      return partial_counts(status, r);
    default:
      return false;
  }
}

Route classify(const RequestFacts& f) noexcept {
  if (f.method == "HEAD") return {};
  Route r = route_of(f.uri);
  bool ok = false;
  switch (r.kind) {
    case EventKind::kFile:
    case EventKind::kLfsObject:
      ok = f.method == "GET" &&
           countable_download_status(f.status, {f.range, f.content_range, f.min_range});
      break;
    case EventKind::kGitFetch:
      // A v2 ls-refs transfers no objects; its clone's fetch POST is the download.
      ok = f.method == "POST" && f.status == 200 && f.git_command != GitUploadPackCommand::kLsRefs;
      break;
    case EventKind::kLfsBatch:
      ok = f.method == "POST" && f.status == 200 && f.lfs_operation == LfsOperation::kDownload;
      break;
    case EventKind::kNone:
      break;
  }
  if (!ok) return {};
  return r;
}

}  // namespace hubstats
