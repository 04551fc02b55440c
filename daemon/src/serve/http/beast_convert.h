// The boundary between Beast's message types and the daemon's own Request/Response.
#pragma once

#include <boost/beast/http.hpp>

#include "serve/http/message.h"

namespace hubstatsd::http {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Splits the target into a percent-decoded path and decoded query pairs; lower-cases
// header names. A path with a malformed escape is kept verbatim (it then matches no route).
Request from_beast(BeastRequest&& in);
// An empty content_type sends no Content-Type (204). head_request: the body is dropped
// and Content-Length stays the body's length.
BeastResponse to_beast(Response&& in, unsigned version, bool keep_alive, bool head_request);

}  // namespace hubstatsd::http
