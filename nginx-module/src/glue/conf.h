// The module's configuration as nginx holds it (http block and locations), the
// directive table and the configuration callbacks (directives.cpp).
#pragma once

#include <string_view>

#include "glue/ngx_includes.h"
#include "hubstats/clients.h"
#include "hubstats/identity.h"

extern "C" {
extern ngx_module_t ngx_http_hubstats_module;
}

namespace hubstats::module::glue {

struct MainConf {
  ngx_str_t redis;       // validated "ip:port" / "unix:/path"
  ngx_array_t* cluster;  // hubstats_redis_cluster: validated "ip:port" seeds (ngx_str_t)
  hubstats::IdentityKey key;
  ngx_flag_t has_key;
  ngx_msec_t window;
  ngx_msec_t retention;
  ngx_msec_t connect_timeout;
  ngx_msec_t command_timeout;
  ngx_msec_t backoff_min;
  ngx_msec_t backoff_max;
  ngx_msec_t flush_interval;
  ngx_uint_t queue_size;
  ngx_str_t spool;  // absolute directory; empty with "hubstats_spool off"
  off_t spool_max;
  off_t min_range;                        // hubstats_min_range
  ngx_int_t max_paths;                    // hubstats_max_paths
  ssize_t breakdown_log_max;              // hubstats_breakdown_log_max
  ngx_uint_t bots_mode;                   // hubstats_bots: kBotsApart (default) or kBotsCount
  hubstats::BotPatterns* bots;            // built-in + the operator's file; owned by the cycle pool
  hubstats::ClientFamilyCache* families;  // by agent hash, for `bots`; each worker its own copy
  ngx_flag_t spool_set;                   // the directive was given
  ngx_flag_t any_enabled;                 // some location has "hubstats on"
};

enum BotsMode : ngx_uint_t { kBotsUnset = 0, kBotsApart = 1, kBotsCount = 2 };

enum StatusFormat : ngx_uint_t { kStatusOff = 0, kStatusPlain = 1, kStatusPrometheus = 2 };

struct LocConf {
  ngx_flag_t enable;
  ngx_str_t cookie;
  ngx_http_complex_value_t* user;
  // Operator-defined layout (hubstats_repo); repo_type == nullptr: built-in grammar.
  ngx_http_complex_value_t* repo_type;
  ngx_http_complex_value_t* repo_ns;
  ngx_http_complex_value_t* repo_name;
  ngx_http_complex_value_t* repo_if;
  ngx_flag_t repo_set;
  ngx_uint_t status_format;
};

inline std::string_view sv(const ngx_str_t& s) {
  return {reinterpret_cast<const char*>(s.data), s.len};
}

inline std::string_view header_value(const ngx_table_elt_t* h) {
  return h ? sv(h->value) : std::string_view{};
}

// The directives (hubstats, hubstats_redis, ...) and the configuration callbacks.
extern ngx_command_t commands[];
void* create_main_conf(ngx_conf_t* cf) noexcept;
char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept;
void* create_loc_conf(ngx_conf_t* cf) noexcept;
char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept;

}  // namespace hubstats::module::glue
