#include "record/body_capture.h"

#include <algorithm>
#include <cstring>

#include "hubstats/classify.h"

namespace hubstats::module {

namespace {
// An LFS batch request is a few hundred bytes; "operation" within the first 64 KiB or
// the operation is unknown (classify then does not count it).
constexpr std::size_t kLfsBatchPrefix = 64 * 1024 + 1;
// The first pkt-line: 4 hex digits then "command=ls-refs" / "want <oid>".
constexpr std::size_t kGitCmdPrefix = 64;
}  // namespace

BodyNeed body_need(std::string_view method, std::string_view uri) noexcept {
  if (method != "POST") return BodyNeed::kNone;
  switch (route_of(uri).kind) {
    case EventKind::kGitFetch:
      return BodyNeed::kGitCmd;
    case EventKind::kLfsBatch:
      return BodyNeed::kLfsBatch;
    default:
      return BodyNeed::kNone;
  }
}

std::size_t body_capture_size(BodyNeed need, long long content_length) noexcept {
  std::size_t max = 0;
  if (need == BodyNeed::kGitCmd) max = kGitCmdPrefix;
  if (need == BodyNeed::kLfsBatch) max = kLfsBatchPrefix;
  if (content_length >= 0 && static_cast<unsigned long long>(content_length) < max)
    max = static_cast<std::size_t>(content_length);
  return max;
}

void PrefixCapture::append(const char* data, std::size_t size) noexcept {
  seen_ += size;
  const std::size_t n = std::min(size, cap_ - len_);
  if (n > 0) std::memcpy(buf_ + len_, data, n);
  len_ += n;
}

}  // namespace hubstats::module
