#include "serve/http/request_checks.h"

#include "serve/http/header_text.h"

namespace hubstatsd::http {

namespace {

constexpr HeadError kBadFraming{400, "Bad Request"};

}  // namespace

std::optional<HeadError> check_framing(const std::vector<std::string_view>& transfer_encodings,
                                       bool has_content_length, unsigned version) {
  if (transfer_encodings.empty()) return std::nullopt;
  if (version < 11 || has_content_length) return kBadFraming;
  // The codings in the order they were applied; empty list elements are allowed by
  // the list syntax (RFC 9110 §5.6.1) and ignored.
  std::vector<std::string_view> codings;
  for (std::string_view field : transfer_encodings) {
    while (true) {
      const std::size_t comma = field.find(',');
      std::string_view item = trim_ows(field.substr(0, comma));
      // A coding's parameters (";q=...") do not change its name.
      item = trim_ows(item.substr(0, item.find(';')));
      if (!item.empty()) codings.push_back(item);
      if (comma == std::string_view::npos) break;
      field.remove_prefix(comma + 1);
    }
  }
  if (codings.empty() || !iequals(codings.back(), "chunked")) return kBadFraming;
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) return kBadFraming;  // chunked twice
  }
  // Another coding before chunked (gzip, deflate, ...): the daemon decodes none, so the
  // body cannot be read; 400 and close like any framing it does not understand.
  if (codings.size() > 1) return kBadFraming;
  return std::nullopt;
}

std::optional<std::string> origin_form_target(std::string_view target) {
  if (target.find('#') != std::string_view::npos) return std::nullopt;
  if (!target.empty() && target.front() == '/') return std::string(target);
  // absolute-form: scheme "://" authority [path-abempty] ["?" query]
  std::size_t scheme_len = 0;
  if (target.size() > 7 && iequals(target.substr(0, 7), "http://")) {
    scheme_len = 7;
  } else if (target.size() > 8 && iequals(target.substr(0, 8), "https://")) {
    scheme_len = 8;
  } else {
    return std::nullopt;
  }
  const std::string_view rest = target.substr(scheme_len);
  const std::size_t end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.front() == ':' ||
      authority.find('@') != std::string_view::npos)
    return std::nullopt;
  if (end == std::string_view::npos) return std::string("/");
  std::string out(rest.substr(end));
  if (out.front() == '?') out.insert(out.begin(), '/');
  return out;
}

std::optional<HeadError> check_host(std::size_t host_fields, unsigned version) {
  if (host_fields > 1) return HeadError{400, "Bad Request"};
  if (host_fields == 0 && version >= 11) return HeadError{400, "Bad Request"};
  return std::nullopt;
}

}  // namespace hubstatsd::http
