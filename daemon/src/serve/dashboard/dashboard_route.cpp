#include "serve/dashboard/dashboard_page.h"

namespace hubstatsd::dashboard {

void register_dashboard_route(http::Router& router) {
  router.add("GET", "/dashboard", [](const http::Request&, const http::PathParams&) {
    http::Response res;
    res.content_type = "text/html; charset=utf-8";
    res.body = std::string(page_html());
    res.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
    res.headers.emplace_back("Cache-Control", "no-cache");
    return res;
  });
}

}  // namespace hubstatsd::dashboard
