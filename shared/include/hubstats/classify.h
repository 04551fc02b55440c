// Decides whether a finished request is a countable download, and of which repo.
// Pure: no nginx types. The nginx module fills RequestFacts from ngx_http_request_t.
#pragma once

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
};
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

struct RequestFacts {
  std::string_view method;                              // "GET", "POST", "HEAD", ...
  int status = 0;                                       // final response status
  std::string_view uri;                                 // r->uri
  std::string_view range;                               // Range request header, empty when absent
  LfsOperation lfs_operation = LfsOperation::kUnknown;  // for LFS batch requests
  // For git-upload-pack POSTs: kUnknown (body not read) counts as a fetch.
  GitUploadPackCommand git_command = GitUploadPackCommand::kUnknown;
};

// Status rule shared by the built-in grammar and operator-defined routes:
// 200; a redirect to storage (301/302/303/307/308); or 206 whose range starts at 0.
bool countable_download_status(int status, std::string_view range) noexcept;

// Status and method rule of an operator-defined layout (hubstats_repo): a file download
// is a GET answered by countable_download_status. Any other method (HEAD, PUT, POST,
// DELETE, OPTIONS, ...) is never a download, whatever it was answered.
bool custom_layout_countable(std::string_view method, int status, std::string_view range) noexcept;

// Full decision for the built-in grammar. kNone when not countable.
Route classify(const RequestFacts& f) noexcept;

}  // namespace hubstats
