// The request-body filter: sees every body buffer as nginx reads it (buffered or not,
// after chunked decoding, HTTP/1.1 and HTTP/2), so what a POST asks for does not
// depend on when its bytes arrived. Keeps only the prefix classification reads (the
// pure part: record/body_capture.h); the log handler reads it from the request's
// module context.
#pragma once

#include "glue/ngx_includes.h"
#include "record/body_capture.h"

namespace hubstats::module::glue {

struct BodyCtx {
  hubstats::module::BodyNeed need;
  hubstats::module::PrefixCapture capture;
};

// Installed at the top of nginx's request-body filter chain by postconfiguration.
ngx_int_t request_body_filter(ngx_http_request_t* r, ngx_chain_t* in) noexcept;
extern ngx_http_request_body_filter_pt g_next_request_body_filter;

}  // namespace hubstats::module::glue
