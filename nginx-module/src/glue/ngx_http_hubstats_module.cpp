// ngx_http_hubstats_module: the module's table and its hooks. Directives and their
// configuration are in directives.cpp, the log phase in log_handler.cpp, the status in
// status_handler.cpp, the request-body filter in body_filter.cpp, the Redis writer on
// nginx's event loop in redis_sink.cpp; classification, identity hashing, keys and
// scripts live in shared/ (hubstats_core), events, batches and the spool in record/.
#include <string>

#include "glue/body_filter.h"
#include "glue/conf.h"
#include "glue/handlers.h"
#include "hubstats/contract/redis_address.h"

namespace hubstats::module::glue {

RedisSink* g_sink = nullptr;

namespace {

ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
  auto* cmcf = static_cast<ngx_http_core_main_conf_t*>(
      ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  auto* h =
      static_cast<ngx_http_handler_pt*>(ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers));
  if (!h) return NGX_ERROR;
  *h = log_handler;
  g_next_request_body_filter = ngx_http_top_request_body_filter;
  ngx_http_top_request_body_filter = request_body_filter;
  // The spool directory is created (and given to the worker user) by nginx at
  // startup, like its temp paths.
  auto* mcf =
      static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_hubstats_module));
  if (mcf->any_enabled && mcf->spool.len) {
    auto* path = static_cast<ngx_path_t*>(ngx_pcalloc(cf->pool, sizeof(ngx_path_t)));
    if (!path) return NGX_ERROR;
    path->name = mcf->spool;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;
    if (ngx_add_path(cf, &path) != NGX_OK) return NGX_ERROR;
  }
  return NGX_OK;
}

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
  auto* mcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hubstats_module));
  if (!mcf || !mcf->any_enabled) return NGX_OK;
  // Cache manager/loader processes run init_process too but serve no requests.
  if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) return NGX_OK;
  try {
    hubstats::module::SinkSettings s;
    if (mcf->cluster) {
      const auto* seeds = static_cast<const ngx_str_t*>(mcf->cluster->elts);
      for (ngx_uint_t i = 0; i < mcf->cluster->nelts; ++i) {
        auto seed = hubstats::contract::parse_redis_address(sv(seeds[i]));
        if (!seed) return NGX_ERROR;  // validated at config time
        s.cluster_seeds.push_back(std::move(*seed));
      }
    } else {
      auto addr = hubstats::contract::parse_redis_address(sv(mcf->redis));
      if (!addr) return NGX_ERROR;  // validated at config time
      s.address = std::move(*addr);
    }
    s.record.window_ms = static_cast<std::int64_t>(mcf->window);
    s.record.retention_s = static_cast<std::int64_t>(mcf->retention / 1000);
    s.record.max_paths = static_cast<std::int64_t>(mcf->max_paths);
    s.record.compact_bytes = static_cast<std::int64_t>(mcf->breakdown_log_max);
    s.connect_timeout = mcf->connect_timeout;
    s.command_timeout = mcf->command_timeout;
    s.backoff_min = mcf->backoff_min;
    s.backoff_max = mcf->backoff_max;
    s.flush_interval = mcf->flush_interval;
    s.queue_cap = mcf->queue_size;
    s.spool_dir = std::string(sv(mcf->spool));
    s.spool_max = static_cast<std::uint64_t>(mcf->spool_max);
    g_sink = new RedisSink(std::move(s), cycle->log);
    g_sink->start();
  } catch (...) {
    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "hubstats: cannot initialise the worker");
    return NGX_ERROR;
  }
  return NGX_OK;
}

void exit_process(ngx_cycle_t*) noexcept {
  if (!g_sink) return;
  g_sink->shutdown();
  delete g_sink;
  g_sink = nullptr;
}

ngx_http_module_t module_ctx = {
    nullptr,            // preconfiguration
    postconfiguration,  // postconfiguration
    create_main_conf,   // create main configuration
    init_main_conf,     // init main configuration
    nullptr,            // create server configuration
    nullptr,            // merge server configuration
    create_loc_conf,    // create location configuration
    merge_loc_conf,     // merge location configuration
};

}  // namespace

}  // namespace hubstats::module::glue

extern "C" {
ngx_module_t ngx_http_hubstats_module = {NGX_MODULE_V1,
                                         &hubstats::module::glue::module_ctx,   // module context
                                         hubstats::module::glue::commands,      // module directives
                                         NGX_HTTP_MODULE,                       // module type
                                         nullptr,                               // init master
                                         nullptr,                               // init module
                                         hubstats::module::glue::init_process,  // init process
                                         nullptr,                               // init thread
                                         nullptr,                               // exit thread
                                         hubstats::module::glue::exit_process,  // exit process
                                         nullptr,                               // exit master
                                         NGX_MODULE_V1_PADDING};
}
