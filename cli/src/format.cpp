#include "format.h"

#include <cstdio>

#include <algorithm>

namespace hubstats::cli {
namespace {

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  return n;
}

std::string pad(const std::string& s, std::size_t width, Align a) {
  std::size_t w = display_width(s);
  std::string fill(width > w ? width - w : 0, ' ');
  return a == Align::kRight ? fill + s : s + fill;
}

void rstrip(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

std::string num(std::int64_t n) {
  return group_thousands(n);
}

}  // namespace

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<Align>& align) {
  std::size_t cols = headers.size();
  for (const auto& r : rows) cols = std::max(cols, r.size());
  std::vector<std::size_t> width(cols, 0);
  auto cell = [](const std::vector<std::string>& r, std::size_t i) -> const std::string& {
    static const std::string empty;
    return i < r.size() ? r[i] : empty;
  };
  for (std::size_t i = 0; i < cols; ++i) {
    width[i] = display_width(cell(headers, i));
    for (const auto& r : rows) width[i] = std::max(width[i], display_width(cell(r, i)));
  }
  auto alignment = [&](std::size_t i) { return i < align.size() ? align[i] : Align::kLeft; };
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t i = 0; i < cols; ++i) {
      if (i) out += "  ";
      out += pad(cell(r, i), width[i], alignment(i));
    }
    rstrip(out);
    return out + "\n";
  };
  std::string out = line(headers);
  std::string rule;
  for (std::size_t i = 0; i < cols; ++i) {
    if (i) rule += "  ";
    rule += std::string(width[i], '-');
  }
  rstrip(rule);
  out += rule + "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string group_thousands(std::int64_t n) {
  std::string digits = std::to_string(n);
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string sparkline(const std::vector<std::int64_t>& values) {
  static constexpr const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::int64_t max = 0;
  for (auto v : values) max = std::max(max, v);
  std::string out;
  for (auto v : values) {
    int level = 0;
    if (v > 0 && max > 0) {
      // ceil(v * 7 / max) in 1..7, computed in floating point to avoid overflow.
      double scaled = static_cast<double>(v) * 7.0 / static_cast<double>(max);
      level = std::clamp(static_cast<int>(scaled + 0.999999), 1, 7);
    }
    out += kBlocks[level];
  }
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string recent_csv(const RecentStats& stats) {
  std::string out = "date,downloads,authenticated,anonymous,files\n";
  for (const auto& d : stats.days) {
    out += csv_field(d.date) + "," + std::to_string(d.downloads) + "," +
           std::to_string(d.authenticated) + "," + std::to_string(d.anonymous) + "," +
           std::to_string(d.files) + "\n";
  }
  return out;
}

std::string format_repo_stats(const RepoRef& ref, const RepoStats& stats) {
  return render_table(
      {"repository", "type", "downloads", "likes"},
      {{ref.id(), std::string(to_string(ref.type)), num(stats.downloads), num(stats.likes)}},
      {Align::kLeft, Align::kLeft, Align::kRight, Align::kRight});
}

std::string format_recent(const RepoRef& ref, const RecentStats& stats) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::int64_t> series;
  DayRow total;
  total.date = "total";
  for (const auto& d : stats.days) {
    rows.push_back(
        {d.date, num(d.downloads), num(d.authenticated), num(d.anonymous), num(d.files)});
    series.push_back(d.downloads);
    total.downloads += d.downloads;
    total.authenticated += d.authenticated;
    total.anonymous += d.anonymous;
    total.files += d.files;
  }
  rows.push_back({total.date, num(total.downloads), num(total.authenticated), num(total.anonymous),
                  num(total.files)});
  std::string out = std::string(to_string(ref.type)) + " " + ref.id() + ": " +
                    std::to_string(stats.period.days) + " days, " + stats.period.start + " to " +
                    stats.period.end + "\n\n";
  out += render_table({"date", "downloads", "authenticated", "anonymous", "files"}, rows,
                      {Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kRight});
  out += "\ndownloads/day  " + sparkline(series) + "  (max " +
         num(series.empty() ? 0 : *std::max_element(series.begin(), series.end())) + ")\n";
  return out;
}

std::string format_trending(RepoType type, const Trending& trending) {
  std::string out = "trending " + std::string(to_string(type)) +
                    "s: " + std::to_string(trending.period.days) + " days, " +
                    trending.period.start + " to " + trending.period.end + "\n\n";
  if (trending.entries.empty()) return out + "no downloads in this period\n";
  std::vector<std::vector<std::string>> rows;
  int rank = 0;
  for (const auto& e : trending.entries) {
    rows.push_back({std::to_string(++rank), e.id, num(e.recent_downloads), num(e.downloads),
                    num(e.likes), e.is_private ? "yes" : ""});
  }
  out += render_table(
      {"#", "repository", "recent", "downloads", "likes", "private"}, rows,
      {Align::kRight, Align::kLeft, Align::kRight, Align::kRight, Align::kRight, Align::kLeft});
  return out;
}

std::string files_csv(const FileStats& stats) {
  std::string out = "path,files\n";
  for (const auto& f : stats.files) out += csv_field(f.path) + "," + std::to_string(f.files) + "\n";
  return out;
}

std::string clients_csv(const ClientStats& stats) {
  std::string out = "client,downloads,files\n";
  for (const auto& c : stats.clients)
    out += csv_field(c.client) + "," + std::to_string(c.downloads) + "," + std::to_string(c.files) +
           "\n";
  return out;
}

namespace {
std::string period_line(const RepoRef& ref, const Period& p) {
  return std::string(to_string(ref.type)) + " " + ref.id() + ": " + std::to_string(p.days) +
         " days, " + p.start + " to " + p.end + "\n\n";
}
}  // namespace

std::string format_files(const RepoRef& ref, const FileStats& stats) {
  std::string out = period_line(ref, stats.period);
  if (stats.files.empty()) return out + "no files fetched in this period\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : stats.files) rows.push_back({f.path, num(f.files)});
  return out + render_table({"path", "files"}, rows, {Align::kLeft, Align::kRight});
}

std::string format_clients(const RepoRef& ref, const ClientStats& stats) {
  std::string out = period_line(ref, stats.period);
  if (stats.clients.empty()) return out + "no downloads in this period\n";
  std::int64_t total = 0;
  for (const auto& c : stats.clients) total += c.downloads;
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : stats.clients) {
    char share[16];
    std::snprintf(
        share, sizeof share, "%.1f%%",
        total > 0 ? 100.0 * static_cast<double>(c.downloads) / static_cast<double>(total) : 0.0);
    rows.push_back({c.client, num(c.downloads), share, num(c.files)});
  }
  return out + render_table({"client", "downloads", "share", "files"}, rows,
                            {Align::kLeft, Align::kRight, Align::kRight, Align::kRight});
}

}  // namespace hubstats::cli
