// The log phase: classifies the finished request (shared classify, or an operator's
// hubstats_repo layout), derives the downloader's identity hash and hands the event
// to the worker's sink. Only nginx access here; the rules are in shared/ and record/.
#include <optional>
#include <string>
#include <string_view>

#include "glue/body_filter.h"
#include "glue/conf.h"
#include "glue/handlers.h"
#include "hubstats/classify.h"
#include "hubstats/clients.h"
#include "hubstats/day.h"
#include "hubstats/identity.h"
#include "hubstats/repo.h"
#include "record/event.h"

namespace hubstats::module::glue {

namespace {

constexpr std::size_t kMaxLfsBody = 64 * 1024;  // a batch request is a few hundred bytes
constexpr std::size_t kGitBodyPrefix = 64;      // the first pkt-line names the command

// ---------------------------------------------------------------------------
// Log phase

int final_status(const ngx_http_request_t* r) {
  if (r->err_status) return static_cast<int>(r->err_status);
  return static_cast<int>(r->headers_out.status);
}

// Up to `max` bytes of the request body as far as nginx buffered it in memory: only the
// fallback when the filter kept nothing (an internal redirect clears module contexts).
std::string body_prefix(const ngx_http_request_t* r, std::size_t max) {
  std::string body;
  if (!r->request_body || !r->request_body->bufs) return body;
  for (const ngx_chain_t* cl = r->request_body->bufs; cl && body.size() < max; cl = cl->next) {
    const ngx_buf_t* b = cl->buf;
    if (!ngx_buf_in_memory(b)) break;
    const auto n = std::min(static_cast<std::size_t>(b->last - b->pos), max - body.size());
    body.append(reinterpret_cast<const char*>(b->pos), n);
  }
  return body;
}

// The named cookie across all Cookie fields (HTTP/2 may split them). nginx 1.23 turned
// the request's header arrays into linked lists and changed this call's signature.
bool find_cookie(ngx_http_request_t* r, ngx_str_t* name, ngx_str_t* value) {
#if nginx_version >= 1023000
  return ngx_http_parse_multi_header_lines(r, r->headers_in.cookie, name, value) != nullptr;
#else
  return ngx_http_parse_multi_header_lines(&r->headers_in.cookies, name, value) != NGX_DECLINED;
#endif
}

// The response's Content-Range: nginx's own (range filter, single part) or an upstream's
// (proxied 206). Only looked up for a 206.
std::string_view content_range(const ngx_http_request_t* r) {
  if (r->headers_out.content_range && r->headers_out.content_range->hash) {
    return sv(r->headers_out.content_range->value);
  }
  for (const ngx_list_part_t* part = &r->headers_out.headers.part; part; part = part->next) {
    const auto* h = static_cast<const ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0; i < part->nelts; ++i) {
      if (h[i].hash && h[i].key.len == 13 &&
          ngx_strncasecmp(h[i].key.data, (u_char*)"Content-Range", 13) == 0) {
        return sv(h[i].value);
      }
    }
  }
  return {};
}

std::optional<std::string> eval(ngx_http_request_t* r, ngx_http_complex_value_t* cv) {
  ngx_str_t v;
  if (ngx_http_complex_value(r, cv, &v) != NGX_OK) return std::nullopt;
  return std::string(sv(v));
}

// Operator-defined layout: the repo comes from complex values; the rules (condition,
// method and status, type and segments) are shared and unit-tested.
std::optional<hubstats::RepoRef> custom_repo(ngx_http_request_t* r, const LocConf* lcf, int status,
                                             const hubstats::RangeFacts& range) {
  if (lcf->repo_if) {
    auto cond = eval(r, lcf->repo_if);
    if (!cond || !hubstats::custom_layout_condition(*cond)) return std::nullopt;
  }
  if (!hubstats::custom_layout_countable(sv(r->method_name), status, range)) return std::nullopt;
  auto type_s = eval(r, lcf->repo_type);
  auto ns = eval(r, lcf->repo_ns);
  auto name = eval(r, lcf->repo_name);
  if (!type_s || !ns || !name) return std::nullopt;
  return hubstats::custom_layout_repo(*type_s, std::move(*ns), std::move(*name));
}

}  // namespace

ngx_int_t log_handler(ngx_http_request_t* r) noexcept {
  auto* lcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_hubstats_module));
  // With log_subrequest on, the log phase also runs for subrequests (mirror, slice,
  // SSI, auth_request): only the client's own request can be a download.
  if (!lcf->enable || !g_sink || r != r->main) return NGX_OK;
  try {
    ++g_sink->counters().requests;
    const int status = final_status(r);
    auto* mcf = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_hubstats_module));
    hubstats::RangeFacts range;
    range.request_range = header_value(r->headers_in.range);
    if (status == 206) range.content_range = content_range(r);
    range.min_range = static_cast<std::int64_t>(mcf->min_range);

    std::optional<hubstats::RepoRef> repo;
    std::string_view path = hubstats::kPathOther;  // a custom layout names no file
    if (lcf->repo_set == 1) {
      repo = custom_repo(r, lcf, status, range);
    } else {
      hubstats::RequestFacts facts;
      facts.method = sv(r->method_name);
      facts.status = status;
      facts.uri = sv(r->uri);
      facts.range = range.request_range;
      facts.content_range = range.content_range;
      facts.min_range = range.min_range;
      if (facts.method == "POST") {
        // Only these two routes need the body: look at it for nothing else.
        const auto kind = hubstats::route_of(facts.uri).kind;
        const auto* body =
            static_cast<const BodyCtx*>(ngx_http_get_module_ctx(r, ngx_http_hubstats_module));
        std::string kept;
        if (kind == hubstats::EventKind::kLfsBatch || kind == hubstats::EventKind::kGitFetch) {
          // The filter's capture when it was taken for this route (a rewrite after the
          // body was read could have changed the URI), else what nginx kept in memory.
          const bool captured = body && body->need != hubstats::module::BodyNeed::kNone;
          kept = captured ? std::string(body->capture.bytes())
                          : body_prefix(r, kind == hubstats::EventKind::kLfsBatch ? kMaxLfsBody + 1
                                                                                  : kGitBodyPrefix);
        }
        if (kind == hubstats::EventKind::kLfsBatch) {
          facts.lfs_operation = hubstats::lfs_operation_of(kept);
        } else if (kind == hubstats::EventKind::kGitFetch) {
          facts.git_command = hubstats::git_upload_pack_command(kept);
        }
      }
      auto route = hubstats::classify(facts);
      if (route.kind != hubstats::EventKind::kNone) {
        path = hubstats::path_field(route);
        repo = std::move(route.repo);
      }
    }
    if (!repo) return NGX_OK;
    ++g_sink->counters().counted;
    if (g_sink->full()) {  // Redis down or slow: do not spend time on the identity hash
      g_sink->drop();
      return NGX_OK;
    }

    hubstats::IdentityInput in;
    std::string user;
    if (lcf->user) {
      auto u = eval(r, lcf->user);
      if (u) user = std::move(*u);
      in.user = user;
    }
    in.authorization = header_value(r->headers_in.authorization);
    ngx_str_t cookie_name = lcf->cookie;
    ngx_str_t cookie_value;
    if (find_cookie(r, &cookie_name, &cookie_value)) in.cookie = sv(cookie_value);
    in.client_addr = sv(r->connection->addr_text);
    in.user_agent = header_value(r->headers_in.user_agent);
    hubstats::Identity id = hubstats::derive_identity(mcf->key, in);

    hubstats::module::Event ev;
    ev.repo = std::move(*repo);
    ev.identity_hex = id.hex;
    ev.authenticated = id.authenticated;
    ev.day = hubstats::day_of(static_cast<std::int64_t>(r->start_sec));
    ev.time_ms = static_cast<std::int64_t>(r->start_sec) * 1000 + r->start_msec;
    ev.path.assign(path);
    const hubstats::ClientFamily family = mcf->families->get(in.user_agent);
    set_client(ev, family, mcf->bots_mode == kBotsApart);
    g_sink->submit(std::move(ev));
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "hubstats: could not record a request");
  }
  return NGX_OK;
}

}  // namespace hubstats::module::glue
