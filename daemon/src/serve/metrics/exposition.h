// Writing the Prometheus text exposition format, version 0.0.4:
//   # HELP name text
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} 12
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hubstatsd::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A label value with '\\', '"' and newline escaped.
std::string escape_label_value(std::string_view v);
// A sample value: integers exactly, other numbers in the shortest round-trip form,
// and "+Inf"/"-Inf"/"NaN".
std::string format_value(double v);

class Exposition {
 public:
  // "# HELP" and "# TYPE" lines; once per metric family, before its samples.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, std::uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  // Same, with one more label appended (e.g. "le" of a histogram bucket).
  void sample(std::string_view name, Labels labels,
              std::pair<std::string_view, std::string_view> extra, std::uint64_t value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, Labels labels,
            const std::pair<std::string_view, std::string_view>* extra);
  std::string out_;
};

}  // namespace hubstatsd::metrics
