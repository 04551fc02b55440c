#include "serve/http/message.h"

#include "serve/http/header_text.h"
#include "serve/http/json_body.h"

namespace hubstatsd::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : query) {
    if (k == name) found = v;
  }
  return found;
}

std::string_view Request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

std::string_view Request::cookie(std::string_view name) const {
  std::string_view rest = header("cookie");
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view pair = trim_ows(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim_ows(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim_ows(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

std::string_view Request::bearer_token() const {
  std::string_view auth = trim_ows(header("authorization"));
  if (auth.size() < 7 || !iequals(auth.substr(0, 6), "bearer") || auth[6] != ' ') return {};
  return trim_ows(auth.substr(7));
}

std::string_view Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response detail_response(int status, std::string_view detail) {
  nlohmann::ordered_json j;
  j["detail"] = detail;
  return json_response(status, to_json_body(j));
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view qs) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!qs.empty()) {
    std::size_t amp = qs.find('&');
    std::string_view piece = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    std::string_view k = piece.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    auto dk = percent_decode(k, true);
    auto dv = percent_decode(v, true);
    out.emplace_back(dk ? *dk : std::string(k), dv ? *dv : std::string(v));
  }
  return out;
}

}  // namespace hubstatsd::http
