// Serializes a JSON body compactly (as FastAPI does); invalid UTF-8 in echoed input is
// replaced rather than failing the response.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hubstatsd::http {

inline std::string to_json_body(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace hubstatsd::http
