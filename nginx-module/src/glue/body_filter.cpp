#include "glue/body_filter.h"

#include <new>

#include "glue/conf.h"

namespace hubstats::module::glue {

ngx_http_request_body_filter_pt g_next_request_body_filter = nullptr;

namespace {

void capture_body(ngx_http_request_t* r, const ngx_chain_t* in) {
  auto* ctx = static_cast<BodyCtx*>(ngx_http_get_module_ctx(r, ngx_http_hubstats_module));
  if (!ctx) {
    auto* lcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_hubstats_module));
    if (!lcf->enable || r != r->main || lcf->repo_set == 1) return;
    const auto need = hubstats::module::body_need(sv(r->method_name), sv(r->uri));
    // The declared Content-Length only: nginx rewrites content_length_n as it decodes a
    // chunked body (it holds the bytes seen so far) and HTTP/2 may have none.
    const ngx_table_elt_t* cl = r->headers_in.content_length;
    const off_t declared =
        cl && !r->headers_in.chunked ? ngx_atoof(cl->value.data, cl->value.len) : -1;
    const std::size_t size = hubstats::module::body_capture_size(need, declared);
    void* mem = ngx_palloc(r->pool, sizeof(BodyCtx));
    char* storage = size > 0 ? static_cast<char*>(ngx_pnalloc(r->pool, size)) : nullptr;
    if (!mem || (size > 0 && !storage)) return;  // the log phase falls back to body_prefix
    ctx = new (mem) BodyCtx{need, hubstats::module::PrefixCapture(storage, size)};
    ngx_http_set_ctx(r, ctx, ngx_http_hubstats_module);
  }
  if (ctx->need == hubstats::module::BodyNeed::kNone) return;
  for (const ngx_chain_t* cl = in; cl && !ctx->capture.full(); cl = cl->next) {
    const ngx_buf_t* b = cl->buf;
    if (!ngx_buf_in_memory(b)) continue;
    ctx->capture.append(reinterpret_cast<const char*>(b->pos),
                        static_cast<std::size_t>(b->last - b->pos));
  }
}

}  // namespace

ngx_int_t request_body_filter(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
  try {
    capture_body(r, in);
  } catch (...) {
    // Never stands in the body's way; classification then reads what nginx kept.
  }
  return g_next_request_body_filter(r, in);
}

}  // namespace hubstats::module::glue
