// Who is asking: the one place a request's credentials become a catalog Caller, for
// every handler (Statistics API, pictures, likes, admin).
#pragma once

#include "catalog/catalog.h"
#include "serve/http/message.h"

namespace hubstatsd {

// The caller of a request: Bearer token, else the backend's session cookie.
// Invalid credentials give anonymous; no credentials skip the catalog.
Caller caller_of(Catalog& catalog, const http::Request& req);

}  // namespace hubstatsd
