// The OpenAPI 3.0 description of every endpoint hubstatsd can serve, served at
// GET /openapi.json. Written by hand here (not derived from the router), so the
// unit and integration tests that compare it with Router::routes() catch a route
// added without documentation, or documentation of a route that does not exist.
#pragma once

#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "serve/http/router.h"

namespace hubstatsd::openapi {

// The document (info.version is the daemon's version).
const nlohmann::ordered_json& document();

// (METHOD, path template) of every operation in document().
std::set<std::pair<std::string, std::string>> documented_operations();

// A router pattern as an OpenAPI path template. The router's patterns already use
// "{name}" captures, possibly inside a segment ("{type}s"), which OpenAPI 3.0 allows;
// only a trailing "/" is dropped.
std::string to_openapi_path(const std::string& pattern);

// Registers GET /openapi.json.
void register_openapi_route(http::Router& router);

}  // namespace hubstatsd::openapi
