// libFuzzer target for the request classifier's hostile inputs: URIs, Range headers,
// LFS batch and git upload-pack bodies. Build and run: shared/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hubstats/classify.h"
#include "hubstats/repo.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // One input feeds every parser; split at the first NUL into URI and the rest so
  // the fuzzer can steer the URI and a body/Range independently.
  const std::size_t nul = in.find('\0');
  const std::string_view uri = in.substr(0, nul);
  const std::string_view rest = nul == std::string_view::npos ? in : in.substr(nul + 1);

  (void)hubstats::route_of(uri);
  (void)hubstats::range_starts_at_zero(rest);
  (void)hubstats::parse_content_range(rest);
  (void)hubstats::partial_counts(206, {rest, rest, 1024});
  (void)hubstats::lfs_operation_of(rest);
  (void)hubstats::git_upload_pack_command(rest);

  for (const char* method : {"GET", "POST"}) {
    for (int status : {200, 206, 302}) {
      hubstats::RequestFacts f;
      f.method = method;
      f.status = status;
      f.uri = uri;
      f.range = rest;
      f.lfs_operation = hubstats::lfs_operation_of(rest);
      f.git_command = hubstats::git_upload_pack_command(rest);
      const hubstats::Route r = hubstats::classify(f);
      if (r.kind != hubstats::EventKind::kNone) {
        // A counted route always names a valid repository.
        if (!hubstats::valid_segment(r.repo.ns) || !hubstats::valid_segment(r.repo.name)) {
          __builtin_trap();
        }
      }
    }
  }
  return 0;
}
