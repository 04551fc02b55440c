// GET /dashboard: one self-contained HTML page (inline CSS and JS, no external assets)
// showing trending repos per type and per-repo pages (#type/ns/name or ?repo=type/ns/name)
// with the chart.svg image, the daily table and a CSV download. It calls the API with
// URLs relative to where it is served, so it works behind a proxy and under a prefix.
#pragma once

#include <string_view>

#include "serve/http/router.h"

namespace hubstatsd::dashboard {

// The page's HTML.
std::string_view page_html();

// The Content-Security-Policy the page is served with: inline script and style only,
// API calls and images from the same origin.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// Registers GET /dashboard.
void register_dashboard_route(http::Router& router);

}  // namespace hubstatsd::dashboard
