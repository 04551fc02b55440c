#include "serve/api/caller.h"

namespace hubstatsd {

Caller caller_of(Catalog& catalog, const http::Request& req) {
  const std::string_view token = req.bearer_token();
  const std::string_view name = catalog.session_cookie_name();
  const std::string_view cookie = name.empty() ? std::string_view{} : req.cookie(name);
  if (token.empty() && cookie.empty()) return Caller{};
  return catalog.authenticate(token, cookie);
}

}  // namespace hubstatsd
