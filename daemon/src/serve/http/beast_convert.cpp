#include "serve/http/beast_convert.h"

#include <cctype>

namespace hubstatsd::http {

namespace beast_http = boost::beast::http;

Request from_beast(BeastRequest&& in) {
  Request r;
  r.method = std::string(in.method_string());
  const std::string_view target(in.target().data(), in.target().size());
  const std::size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  auto decoded = percent_decode(raw_path, false);
  r.path = decoded ? std::move(*decoded) : std::string(raw_path);
  if (q != std::string_view::npos) r.query = parse_query(target.substr(q + 1));
  for (const auto& field : in) {
    std::string name(field.name_string().data(), field.name_string().size());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value(field.value().data(), field.value().size());
    auto [it, inserted] = r.headers.emplace(std::move(name), value);
    if (!inserted) it->second += (it->first == "cookie" ? "; " : ", ") + value;
  }
  r.body = std::move(in.body());
  return r;
}

BeastResponse to_beast(Response&& in, unsigned version, bool keep_alive, bool head_request) {
  BeastResponse out;
  out.version(version);
  out.result(static_cast<unsigned>(in.status));
  out.set(beast_http::field::server, "hubstatsd");
  if (!in.content_type.empty()) out.set(beast_http::field::content_type, in.content_type);
  for (auto& [k, v] : in.headers) out.insert(k, v);
  // Not cacheable unless the handler chose its own policy (chart.svg, badge, openapi.json).
  if (out.find(beast_http::field::cache_control) == out.end())
    out.set(beast_http::field::cache_control, "no-store");
  out.keep_alive(keep_alive);
  const std::size_t length = in.body.size();
  // HEAD: the headers GET would send, Content-Length included, without the body.
  if (!head_request) out.body() = std::move(in.body);
  out.prepare_payload();
  if (head_request && out.has_content_length()) out.content_length(length);
  return out;
}

}  // namespace hubstatsd::http
