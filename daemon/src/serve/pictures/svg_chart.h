// Draws daily downloads as a standalone SVG bar chart: title, y axis with gridlines
// and short counts, date labels, bars stacked authenticated (bottom) + anonymous (top),
// a legend, and a tooltip (<title>) per day. No scripts, no external references, all
// text escaped, so it can be embedded in a README as an image.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/stats_reader.h"

namespace hubstatsd::pictures {

// Escapes & < > " ' for XML text and attribute values.
std::string xml_escape(std::string_view s);

// Axis scale: ticks 0, step, 2*step, ... up to top >= max, step = 1, 2 or 5 x 10^k.
struct Scale {
  std::int64_t step = 1;
  std::int64_t top = 1;
};
Scale nice_scale(std::int64_t max, int target_ticks = 4);

struct ChartInput {
  std::string title;            // e.g. "model demo/tiny-model"
  std::string subtitle;         // e.g. "Daily downloads, 2025-01-01 to 2025-01-30: 1,234"
  std::vector<DayCounts> days;  // one per day, ascending
};

inline constexpr int kChartWidth = 800;
inline constexpr int kChartHeight = 320;

std::string render_chart_svg(const ChartInput& in);

}  // namespace hubstatsd::pictures
