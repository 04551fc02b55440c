// libFuzzer target for hubstatsd's request path up to the handler: Beast's request
// parser (with the daemon's header and body limits), the framing, Host and target
// checks (http/request_checks.h), the conversion to Request (percent-decoding, query
// pairs, header folding), the credential and cookie accessors, routing over the
// daemon's route patterns (HEAD included) and the CORS answers. Build and run:
// daemon/fuzz/run.sh [seconds].
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/range/iterator_range.hpp>

#include "serve/http/beast_convert.h"
#include "serve/http/cors.h"
#include "serve/http/request_checks.h"
#include "serve/http/router.h"

namespace bhttp = boost::beast::http;
using namespace hubstatsd::http;

namespace {

Response echo(const Request& r, const PathParams& p) {
  std::string body = r.method;
  for (const auto& [k, v] : p) body += " " + k + "=" + v;
  return json_response(200, body);
}

const Router& router() {
  static const Router r = [] {
    Router x;
    x.constrain("type",
                [](std::string_view v) { return v == "model" || v == "dataset" || v == "space"; });
    for (const char* p : {"/{type}s/{ns}/{name}/stats", "/{type}s/{ns}/{name}/stats/recent",
                          "/{type}s/{ns}/{name}/stats/chart.svg",
                          "/{type}s/{ns}/{name}/stats/badge", "/{type}s/{ns}/{name}/like"})
      x.add_with_api_prefix("GET", p, echo);
    x.add_with_api_prefix("POST", "/{type}s/{ns}/{name}/like", echo);
    x.add("GET", "/api/trending", echo);
    x.add("GET", "/health", echo);
    x.add("GET", "/api/admin/repos", echo);
    x.add("DELETE", "/api/admin/tokens/{token_id}", echo);
    for (const char* p :
         {"/{type}s/{ns}/{name}/stats", "/{type}s/{ns}/{name}/stats/recent", "/api/trending"})
      x.allow_cors(p);
    return x;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const CorsPolicy any({"*"});
  static const CorsPolicy listed({"https://a.example", "http://b.example:8080"});

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(false);
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (ec == bhttp::error::need_more) return 0;
  if (ec || !parser.is_header_done()) return 0;

  auto& head = parser.get();
  std::vector<std::string_view> te;
  for (const auto& f :
       boost::make_iterator_range(head.equal_range(bhttp::field::transfer_encoding)))
    te.emplace_back(f.value().data(), f.value().size());
  if (check_framing(te, head.count(bhttp::field::content_length) > 0, head.version())) return 0;
  if (check_host(head.count(bhttp::field::host), head.version())) return 0;
  const std::string_view target(head.target().data(), head.target().size());
  const auto origin = origin_form_target(target);
  if (!origin) return 0;
  if (*origin != target) head.target(*origin);

  // The body, as the session would read it after the checks.
  parser.eager(true);
  while (!parser.is_done() && used < size) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec || n == 0) break;
    used += n;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;

  Request req = from_beast(parser.release());
  (void)req.bearer_token();
  (void)req.cookie("session_id");
  (void)req.query_param("days");
  int route = -1;
  Response res = router().dispatch(req, &route);
  if (req.method == "OPTIONS") {
    if (auto allow = router().cors_allow(req)) res = any.preflight(req, *allow);
  } else if (router().cors(route)) {
    any.decorate(req, res);
    listed.decorate(req, res);
  }
  (void)to_beast(std::move(res), 11, true, req.method == "HEAD");
  return 0;
}
