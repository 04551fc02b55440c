// Decides whether a finished request is a countable download, and of which repo.
// Pure: no nginx types. The nginx module fills RequestFacts from ngx_http_request_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hubstats/repo.h"

namespace hubstats {

enum class EventKind {
  kNone,       // not countable
  kFile,       // GET .../resolve/{rev}/{path}
  kGitFetch,   // POST .../{name}.git/git-upload-pack
  kLfsBatch,   // POST .../{name}.git/info/lfs/objects/batch with operation "download"
  kLfsObject,  // GET  .../{name}.git/info/lfs/objects/{oid}
};

// What the LFS batch request body asks for.
enum class LfsOperation { kUnknown, kDownload, kUpload };

// Tolerant scan of a (possibly truncated) LFS batch JSON body for "operation".
LfsOperation lfs_operation_of(std::string_view body) noexcept;

// What a git-upload-pack POST asks for. Protocol v2 splits a clone into two POSTs,
// "command=ls-refs" (ref advertisement, transfers no objects) and "command=fetch";
// v0/v1 POSTs are fetches ("want ..." lines).
enum class GitUploadPackCommand { kUnknown, kFetch, kLsRefs };

// Reads the first pkt-line of an upload-pack request body (4 hex digits of length,
// then the payload). kLsRefs only for a v2 "command=ls-refs"; kFetch for a v2
// "command=fetch" or a v0/v1 "want"; kUnknown for anything else (empty, truncated,
// compressed, malformed), which classify() counts as a fetch.
GitUploadPackCommand git_upload_pack_command(std::string_view body) noexcept;

// The route of a URI alone, before method/status/range checks.
struct Route {
  EventKind kind = EventKind::kNone;
  RepoRef repo;
  // kFile: the file's path inside the repo as the hub resolves it (a view into the
  // URI): the segments after the revision, which is one segment, or three for the
  // hub's "refs/pr/N" and "refs/convert/X" (their %2F is decoded in r->uri).
  std::string_view path;
};

// Special path fields of the per-file hash (docs/redis-keys.md).
inline constexpr std::string_view kPathGit = "(git)";
inline constexpr std::string_view kPathLfs = "(lfs)";
inline constexpr std::string_view kPathOther = "(other)";
// Longer paths are counted under (other).
inline constexpr std::size_t kMaxPathField = 1024;

// The per-file field of a counted route: the path for kFile, (git) for a clone or
// fetch, (lfs) for LFS batches and objects, (other) for anything else.
std::string_view path_field(const Route& r) noexcept;
// uri is the decoded, normalized path without query string (nginx's r->uri).
// Recognized layouts (each also under an "/api" prefix):
//   /{models|datasets|spaces}/{ns}/{name}/resolve/{rev}/{path...}
//   /{ns}/{name}/resolve/{rev}/{path...}                          (model)
//   /{models|datasets|spaces}/{ns}/{name}.git/git-upload-pack
//   /{ns}/{name}.git/git-upload-pack                              (model)
//   .../{name}.git/info/lfs/objects/batch
//   .../{name}.git/info/lfs/objects/{oid}    (oid: 64 lowercase hex)
// Any malformed, hostile or unrecognized path yields kNone.
Route route_of(std::string_view uri) noexcept;

// True when a Range header value asks for bytes starting at offset 0
// ("bytes=0-", "bytes=0-99", "bytes=0-99,200-"). Empty or absent range: false.
bool range_starts_at_zero(std::string_view range) noexcept;

// Default of hubstats_min_range: a ranged request from byte 0 shorter than this (and
// not reaching the end of the file) is a probe, not a download.
inline constexpr std::int64_t kDefaultMinRange = 1 << 20;

// A response's "Content-Range: bytes first-last/complete" (complete -1 for "*").
struct ContentRange {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::int64_t complete = -1;
};
std::optional<ContentRange> parse_content_range(std::string_view value) noexcept;

// What a request asked for from byte 0: nullopt when no byte-range spec of a valid
// "bytes=" Range starts at 0 (suffix ranges "-500" never do); last -1 when open ("0-").
// Range absent, not "bytes" or malformed: `absent` is true.
struct RangeFromZero {
  bool absent = true;      // no usable Range header at all
  bool from_zero = false;  // some spec starts at byte 0
  std::int64_t last = -1;  // its last byte, -1 when open-ended
};
RangeFromZero range_from_zero(std::string_view range) noexcept;

// The answer facts the range rule reads.
struct RangeFacts {
  std::string_view request_range;  // the Range request header, empty when absent
  std::string_view content_range;  // the response's Content-Range, empty when absent
  std::int64_t min_range = kDefaultMinRange;
};

// The probe rule (docs/module.md, "Ranged requests"): a ranged fetch is a download only
// when it starts at byte 0 and either reaches the end of the file or covers at least
// min_range bytes. A 206 is judged by its Content-Range (the complete length tells
// where the file ends; a suffix range covering the whole file counts), or, without
// one (multipart/byteranges), by the request's spec that starts at 0. A redirect
// carrying a Range is judged by the request alone (an open "0-" reaches the end).
bool partial_counts(int status, const RangeFacts& r) noexcept;

struct RequestFacts {
  std::string_view method;                              // "GET", "POST", "HEAD", ...
  int status = 0;                                       // final response status
  std::string_view uri;                                 // r->uri
  std::string_view range;                               // Range request header, empty when absent
  std::string_view content_range;                       // response Content-Range, empty when absent
  std::int64_t min_range = kDefaultMinRange;            // hubstats_min_range
  LfsOperation lfs_operation = LfsOperation::kUnknown;  // for LFS batch requests
  // For git-upload-pack POSTs: kUnknown (body not read) counts as a fetch.
  GitUploadPackCommand git_command = GitUploadPackCommand::kUnknown;
};

// Status rule shared by the built-in grammar and operator-defined routes:
// 200 (a server that ignored Range, or an If-Range that no longer matched, sent the
// whole file); a redirect to storage (301/302/303/307/308) unless its Range is a
// probe; or 206 passing partial_counts.
bool countable_download_status(int status, const RangeFacts& r) noexcept;

// Status and method rule of an operator-defined layout (hubstats_repo): a file download
// is a GET answered by countable_download_status. Any other method (HEAD, PUT, POST,
// DELETE, OPTIONS, ...) is never a download, whatever it was answered.
bool custom_layout_countable(std::string_view method, int status, const RangeFacts& r) noexcept;

// hubstats_repo_if of an operator-defined layout: the request counts unless the
// condition's value is empty or "0" (nginx's if-style truth).
bool custom_layout_condition(std::string_view value) noexcept;

// The repo an operator-defined layout names from its evaluated type, namespace and name:
// the type singular or plural ("model", "models"), both segments valid; else nothing.
std::optional<RepoRef> custom_layout_repo(std::string_view type, std::string ns, std::string name);

// Full decision for the built-in grammar. kNone when not countable.
Route classify(const RequestFacts& f) noexcept;

}  // namespace hubstats
