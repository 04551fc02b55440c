#include "serve/api/query_validation.h"

#include <limits>

#include "serve/http/json_body.h"

namespace hubstatsd::api {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::optional<std::int64_t> parse_lax_int(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  // "7.0" and "7.000" are whole numbers; "7." and "7.5" are not.
  if (const std::size_t dot = s.find('.'); dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty()) return std::nullopt;
    for (char c : frac) {
      if (c != '0') return std::nullopt;
    }
    s = s.substr(0, dot);
  }
  if (s.empty()) return std::nullopt;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t v = 0;
  bool saturated = false;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (!saturated) {
      const int d = c - '0';
      if (v > (kMax - d) / 10) {
        saturated = true;
        v = kMax;
      } else {
        v = v * 10 + d;
      }
    }
  }
  return negative ? -v : v;
}

void QueryValidator::add(std::string type, std::string_view name, std::string msg,
                         std::string_view input, nlohmann::ordered_json ctx) {
  nlohmann::ordered_json e;
  e["type"] = std::move(type);
  e["loc"] = nlohmann::ordered_json::array({"query", std::string(name)});
  e["msg"] = std::move(msg);
  e["input"] = std::string(input);
  if (!ctx.is_null()) e["ctx"] = std::move(ctx);
  errors_.push_back(std::move(e));
}

std::int64_t QueryValidator::integer(std::string_view name, std::int64_t def, std::int64_t ge,
                                     std::int64_t le) {
  const auto raw = req_.query_param(name);
  if (!raw) return def;
  const auto v = parse_lax_int(*raw);
  if (!v) {
    add("int_parsing", name,
        "Input should be a valid integer, unable to parse string as an integer", *raw, nullptr);
    return def;
  }
  if (*v < ge) {
    add("greater_than_equal", name,
        "Input should be greater than or equal to " + std::to_string(ge), *raw, {{"ge", ge}});
    return def;
  }
  if (*v > le) {
    add("less_than_equal", name, "Input should be less than or equal to " + std::to_string(le),
        *raw, {{"le", le}});
    return def;
  }
  return *v;
}

std::string QueryValidator::one_of(std::string_view name, std::string_view def,
                                   const std::vector<std::string_view>& choices,
                                   std::string_view pattern) {
  const auto raw = req_.query_param(name);
  if (!raw) return std::string(def);
  for (std::string_view c : choices) {
    if (*raw == c) return std::string(c);
  }
  add("string_pattern_mismatch", name, "String should match pattern '" + std::string(pattern) + "'",
      *raw, {{"pattern", std::string(pattern)}});
  return std::string(def);
}

http::Response QueryValidator::error_response() const {
  nlohmann::ordered_json body;
  body["detail"] = errors_;
  return http::json_response(422, http::to_json_body(body));
}

}  // namespace hubstatsd::api
