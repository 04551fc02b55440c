#include "store/stats_reader.h"

namespace hubstatsd {

using hubstats::Day;

std::vector<DayCounts> zero_fill(const hubstats::Period& period,
                                 const std::vector<DayCounts>& rows) {
  std::vector<DayCounts> out;
  if (period.end < period.start) return out;
  out.reserve(static_cast<std::size_t>(period.end - period.start + 1));
  for (Day d = period.start; d <= period.end; ++d) out.push_back(DayCounts{d, 0, 0, 0, 0});
  for (const auto& r : rows) {
    if (r.day < period.start || r.day > period.end) continue;
    auto& o = out[static_cast<std::size_t>(r.day - period.start)];
    o.downloads += r.downloads;
    o.authenticated += r.authenticated;
    o.anonymous += r.anonymous;
    o.files += r.files;
  }
  return out;
}

}  // namespace hubstatsd
