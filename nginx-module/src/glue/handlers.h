// What the glue's files share at run time: the worker's sink and the request
// handlers postconfiguration and the directives install.
#pragma once

#include "glue/ngx_includes.h"
#include "glue/redis_sink.h"

namespace hubstats::module::glue {

// The worker's sink; created in init_process, destroyed in exit_process.
extern RedisSink* g_sink;

// Log phase: turns a finished request into a download event (log_handler.cpp).
ngx_int_t log_handler(ngx_http_request_t* r) noexcept;
// hubstats_status's content handler (status_handler.cpp).
ngx_int_t status_handler(ngx_http_request_t* r) noexcept;

}  // namespace hubstats::module::glue
