#include "serve/pictures/svg_chart.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "hubstats/day.h"
#include "serve/pictures/human_count.h"

namespace hubstatsd::pictures {

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 documents.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

Scale nice_scale(std::int64_t max, int target_ticks) {
  if (target_ticks < 1) target_ticks = 1;
  if (max <= 0) return Scale{1, target_ticks};
  const std::int64_t raw = (max + target_ticks - 1) / target_ticks;  // step >= this
  std::int64_t mag = 1;
  while (mag <= raw / 10) mag *= 10;
  std::int64_t step = mag;
  for (std::int64_t m : {1, 2, 5, 10}) {
    if (mag * m >= raw) {
      step = mag * m;
      break;
    }
  }
  const std::int64_t ticks = (max + step - 1) / step;
  return Scale{step, step * ticks};
}

namespace {

constexpr double kLeft = 60, kRight = 784, kTop = 64, kBottom = 272;
constexpr std::string_view kAuthColor = "#1d4ed8";
constexpr std::string_view kAnonColor = "#93c5fd";
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string short_date(hubstats::Day d) {
  int y = 0;
  unsigned m = 0, day = 0;
  hubstats::civil_from_days(d, y, m, day);
  return std::string(kMonths[(m - 1) % 12]) + " " + std::to_string(day);
}

}  // namespace

std::string render_chart_svg(const ChartInput& in) {
  const std::size_t n = in.days.size();
  std::int64_t max = 0;
  for (const DayCounts& d : in.days)
    max = std::max({max, d.downloads, d.authenticated + d.anonymous});
  const Scale scale = nice_scale(max);
  const double plot_h = kBottom - kTop;
  const auto y_of = [&](std::int64_t v) {
    return kBottom - plot_h * static_cast<double>(v) / static_cast<double>(scale.top);
  };

  std::string s;
  s.reserve(2048 + n * 360);
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kChartWidth) +
       "\" height=\"" + std::to_string(kChartHeight) + "\" viewBox=\"0 0 " +
       std::to_string(kChartWidth) + " " + std::to_string(kChartHeight) +
       "\" role=\"img\" aria-labelledby=\"t d\" font-family=\"system-ui,-apple-system,Segoe "
       "UI,Roboto,Helvetica,Arial,sans-serif\">\n";
  s += "<title id=\"t\">" + xml_escape(in.title) + "</title>\n";
  s += "<desc id=\"d\">" + xml_escape(in.subtitle) + "</desc>\n";
  s += "<rect x=\"0.5\" y=\"0.5\" width=\"" + std::to_string(kChartWidth - 1) + "\" height=\"" +
       std::to_string(kChartHeight - 1) + "\" rx=\"6\" fill=\"#ffffff\" stroke=\"#d1d5db\"/>\n";
  s += "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"600\" fill=\"#111827\">" +
       xml_escape(in.title) + "</text>\n";
  s += "<text x=\"16\" y=\"46\" font-size=\"12\" fill=\"#4b5563\">" + xml_escape(in.subtitle) +
       "</text>\n";

  // Legend, top right.
  s += "<g font-size=\"12\" fill=\"#374151\">";
  s += "<rect x=\"580\" y=\"16\" width=\"12\" height=\"12\" fill=\"" + std::string(kAuthColor) +
       "\"/><text x=\"597\" y=\"26\">authenticated</text>";
  s += "<rect x=\"690\" y=\"16\" width=\"12\" height=\"12\" fill=\"" + std::string(kAnonColor) +
       "\"/><text x=\"707\" y=\"26\">anonymous</text></g>\n";

  // Gridlines and y labels.
  s += "<g font-size=\"11\" fill=\"#6b7280\" text-anchor=\"end\">";
  for (std::int64_t v = 0; v <= scale.top; v += scale.step) {
    const std::string y = num(y_of(v));
    s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kRight) + "\" y1=\"" + y + "\" y2=\"" + y +
         "\" stroke=\"" + (v == 0 ? "#9ca3af" : "#e5e7eb") + "\"/>";
    s += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(y_of(v) + 4) + "\">" + human_count(v) +
         "</text>";
  }
  s += "</g>\n";
  s += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" y2=\"" +
       num(kBottom) + "\" stroke=\"#9ca3af\"/>\n";

  // Bars: authenticated at the bottom, anonymous stacked on top.
  const double band = n ? (kRight - kLeft) / static_cast<double>(n) : 0;
  const double bar_w = std::max(1.0, band * 0.78);
  s += "<g>";
  for (std::size_t i = 0; i < n; ++i) {
    const DayCounts& d = in.days[i];
    const double x = kLeft + band * static_cast<double>(i) + (band - bar_w) / 2;
    s += "<g><title>" + xml_escape(hubstats::format_iso(d.day)) + ": " +
         grouped_count(d.downloads) + " downloads (" + grouped_count(d.authenticated) +
         " authenticated, " + grouped_count(d.anonymous) + " anonymous)</title>";
    const double y_auth = y_of(d.authenticated);
    const double y_all = y_of(d.authenticated + d.anonymous);
    if (d.authenticated > 0)
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(y_auth) + "\" width=\"" + num(bar_w) +
           "\" height=\"" + num(kBottom - y_auth) + "\" fill=\"" + std::string(kAuthColor) + "\"/>";
    if (d.anonymous > 0)
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(y_all) + "\" width=\"" + num(bar_w) +
           "\" height=\"" + num(y_auth - y_all) + "\" fill=\"" + std::string(kAnonColor) + "\"/>";
    // An invisible full-height target so the tooltip also shows on empty days.
    s += "<rect x=\"" + num(kLeft + band * static_cast<double>(i)) + "\" y=\"" + num(kTop) +
         "\" width=\"" + num(band) + "\" height=\"" + num(plot_h) + "\" fill=\"transparent\"/>";
    s += "</g>";
  }
  s += "</g>\n";

  // Date labels: up to 8, evenly spread, always the first and the last day.
  if (n > 0) {
    const std::size_t labels = std::min<std::size_t>(n, 8);
    s += "<g font-size=\"11\" fill=\"#6b7280\" text-anchor=\"middle\">";
    std::size_t prev = n;
    for (std::size_t j = 0; j < labels; ++j) {
      const std::size_t i = labels == 1 ? 0 : (j * (n - 1) + (labels - 1) / 2) / (labels - 1);
      if (i == prev) continue;
      prev = i;
      const double cx = kLeft + band * (static_cast<double>(i) + 0.5);
      s += "<line x1=\"" + num(cx) + "\" x2=\"" + num(cx) + "\" y1=\"" + num(kBottom) + "\" y2=\"" +
           num(kBottom + 4) + "\" stroke=\"#9ca3af\"/>";
      s += "<text x=\"" + num(cx) + "\" y=\"" + num(kBottom + 18) + "\">" +
           xml_escape(short_date(in.days[i].day)) + "</text>";
    }
    s += "</g>\n";
  }
  s += "<text x=\"" + num(kRight) + "\" y=\"" + std::to_string(kChartHeight - 8) +
       "\" font-size=\"10\" fill=\"#9ca3af\" text-anchor=\"end\">UTC days, hubstats</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace hubstatsd::pictures
