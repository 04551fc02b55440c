#include "serve/metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace hubstatsd::metrics {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  // Fixed notation ("0.0005", not "5e-04"): what Prometheus clients print for bucket bounds.
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (r.ec != std::errc()) return std::to_string(v);
  return std::string(buf, r.ptr);
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  // HELP text escapes only backslash and newline.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::head(std::string_view name, Labels labels,
                      const std::pair<std::string_view, std::string_view>* extra) {
  out_ += name;
  if (labels.size() == 0 && !extra) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  auto put = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += escape_label_value(v);
    out_ += '"';
  };
  for (const auto& [k, v] : labels) put(k, v);
  if (extra) put(extra->first, extra->second);
  out_ += "} ";
}

void Exposition::sample(std::string_view name, Labels labels, std::uint64_t value) {
  head(name, labels, nullptr);
  out_ += std::to_string(value);
  out_ += '\n';
}

void Exposition::sample(std::string_view name, Labels labels, double value) {
  head(name, labels, nullptr);
  out_ += format_value(value);
  out_ += '\n';
}

void Exposition::sample(std::string_view name, Labels labels,
                        std::pair<std::string_view, std::string_view> extra, std::uint64_t value) {
  head(name, labels, &extra);
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace hubstatsd::metrics
