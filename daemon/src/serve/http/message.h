// The daemon's own request/response types: handlers see these, never Beast types,
// so they can be unit-tested without sockets.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstatsd::http {

struct Request {
  std::string method;                                      // "GET", "POST", ...
  std::string path;                                        // decoded path, no query string
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // names lower-cased
  std::string body;
  std::string request_id;

  // Value of a query parameter, if present. When repeated, the last one wins (as in
  // Starlette, whose behaviour the API mirrors).
  std::optional<std::string_view> query_param(std::string_view name) const;
  // Header value by lower-case name, empty when absent.
  std::string_view header(std::string_view lower_name) const;
  // Value of a cookie from the Cookie header, empty when absent.
  std::string_view cookie(std::string_view name) const;
  // The token of an "Authorization: Bearer <token>" header, empty when absent.
  std::string_view bearer_token() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  // First value of an extra header (exact name), empty when absent.
  std::string_view header(std::string_view name) const;
};

// A JSON response with the given status and serialized body.
Response json_response(int status, std::string body);
// {"detail": "<detail>"} with the given status (FastAPI's HTTPException shape).
Response detail_response(int status, std::string_view detail);

// Path parameters captured by the router, e.g. {"ns": "demo", "name": "tiny-model"}.
using PathParams = std::map<std::string, std::string, std::less<>>;

// Percent-decoding; '+' becomes a space only when plus_as_space (query strings).
// Returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space);

// Splits "a=1&b=x%20y" into decoded pairs; malformed pieces are kept verbatim.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view qs);

}  // namespace hubstatsd::http
