// Query-parameter validation with FastAPI/pydantic v2's 422 error shape:
//   {"detail":[{"type":"greater_than_equal","loc":["query","days"],
//               "msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}
// Every invalid parameter is reported, in the order the parameters are checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve/http/message.h"

namespace hubstatsd::api {

// pydantic's lax str -> int: optional surrounding whitespace, optional sign, digits,
// optionally followed by ".0…" (a whole number written as a decimal). Values beyond
// the int64 range saturate (they then fail the bounds check, as in pydantic).
std::optional<std::int64_t> parse_lax_int(std::string_view s) noexcept;

class QueryValidator {
 public:
  explicit QueryValidator(const http::Request& req) : req_(req) {}

  // An integer query parameter in [ge, le]; the default when absent.
  std::int64_t integer(std::string_view name, std::int64_t def, std::int64_t ge, std::int64_t le);
  // A string query parameter that must be one of `choices`, reported as a regex
  // pattern mismatch against `pattern` (how FastAPI declares it).
  std::string one_of(std::string_view name, std::string_view def,
                     const std::vector<std::string_view>& choices, std::string_view pattern);

  bool ok() const { return errors_.empty(); }
  // 422 with every error collected so far.
  http::Response error_response() const;

 private:
  void add(std::string type, std::string_view name, std::string msg, std::string_view input,
           nlohmann::ordered_json ctx);

  const http::Request& req_;
  nlohmann::ordered_json errors_ = nlohmann::ordered_json::array();
};

}  // namespace hubstatsd::api
