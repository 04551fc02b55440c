// hubstats_status: this worker's counters (plain or Prometheus text, record/counters.h).
#include <string>

#include "glue/conf.h"
#include "glue/handlers.h"
#include "record/counters.h"

namespace hubstats::module::glue {

ngx_int_t status_handler(ngx_http_request_t* r) noexcept {
  if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
  const ngx_int_t rc = ngx_http_discard_request_body(r);
  if (rc != NGX_OK) return rc;
  auto* lcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_hubstats_module));
  bool prometheus = lcf->status_format == kStatusPrometheus;
  ngx_str_t arg;
  if (ngx_http_arg(r, (u_char*)"format", 6, &arg) == NGX_OK) {
    if (sv(arg) == "prometheus") prometheus = true;
    if (sv(arg) == "plain") prometheus = false;
  }
  std::string body;
  try {
    hubstats::module::StatusSnapshot snap;
    if (g_sink) {
      snap = g_sink->snapshot();
    } else {
      snap.pid = static_cast<long>(ngx_pid);
    }
    body = prometheus ? hubstats::module::format_status_prometheus(snap)
                      : hubstats::module::format_status_plain(snap);
  } catch (...) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  if (prometheus) {
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
  } else {
    ngx_str_set(&r->headers_out.content_type, "text/plain");
  }
  r->headers_out.content_type_len = r->headers_out.content_type.len;
  r->headers_out.content_type_lowcase = nullptr;
  r->headers_out.status = NGX_HTTP_OK;
  r->headers_out.content_length_n = static_cast<off_t>(body.size());
  if (r->method == NGX_HTTP_HEAD) return ngx_http_send_header(r);

  ngx_buf_t* b = ngx_create_temp_buf(r->pool, body.size());
  if (!b) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  b->last = ngx_cpymem(b->last, body.data(), body.size());
  b->last_buf = (r == r->main) ? 1 : 0;
  b->last_in_chain = 1;
  ngx_chain_t out{b, nullptr};
  const ngx_int_t sent = ngx_http_send_header(r);
  if (sent == NGX_ERROR || sent > NGX_OK || r->header_only) return sent;
  return ngx_http_output_filter(r, &out);
}

}  // namespace hubstats::module::glue
