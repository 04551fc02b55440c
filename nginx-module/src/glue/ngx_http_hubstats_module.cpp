// ngx_http_hubstats_module: nginx glue only. Directives and their configuration,
// the log-phase handler that turns a finished request into a download event, the
// status content handler, the request-body filter that keeps the few body bytes
// classification needs, and the per-worker process hooks. Classification,
// identity hashing, keys and scripts live in shared/ (hubstats_core); Redis I/O
// lives in redis_sink.cpp.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "record/body_capture.h"
#include "record/counters.h"
#include "record/event.h"
#include "hubstats/classify.h"
#include "hubstats/clients.h"
#include "hubstats/contract/redis_address.h"
#include "hubstats/day.h"
#include "hubstats/duration.h"
#include "hubstats/identity.h"
#include "hubstats/repo.h"
#include "hubstats/contract/scripts.h"
#include "glue/ngx_includes.h"
#include "glue/redis_sink.h"

extern "C" {
extern ngx_module_t ngx_http_hubstats_module;
}

namespace {

using hubstats::module::RedisSink;

constexpr std::size_t kMaxLfsBody = 64 * 1024;  // a batch request is a few hundred bytes
constexpr std::size_t kGitBodyPrefix = 64;      // the first pkt-line names the command

ngx_http_request_body_filter_pt g_next_request_body_filter = nullptr;

struct MainConf {
  ngx_str_t redis;  // validated "ip:port" / "unix:/path"
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
  off_t min_range;              // hubstats_min_range
  ngx_int_t max_paths;          // hubstats_max_paths
  ssize_t breakdown_log_max;    // hubstats_breakdown_log_max
  ngx_uint_t bots_mode;         // hubstats_bots: kBotsApart (default) or kBotsCount
  hubstats::BotPatterns* bots;  // built-in + the operator's file; owned by the cycle pool
  ngx_flag_t spool_set;         // the directive was given
  ngx_flag_t any_enabled;       // some location has "hubstats on"
};

constexpr off_t kDefaultSpoolMax = 1LL << 30;
enum BotsMode : ngx_uint_t { kBotsUnset = 0, kBotsApart = 1, kBotsCount = 2 };
constexpr char kDefaultSpool[] = "hubstats_spool";  // under the prefix, like *_temp_path

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

// The worker's sink; created in init_process, destroyed in exit_process.
RedisSink* g_sink = nullptr;

std::string_view sv(const ngx_str_t& s) {
  return {reinterpret_cast<const char*>(s.data), s.len};
}

std::string_view header_value(const ngx_table_elt_t* h) {
  return h ? sv(h->value) : std::string_view{};
}

// ---------------------------------------------------------------------------
// Directive handlers

char* set_duration(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* field = reinterpret_cast<ngx_msec_t*>(static_cast<char*>(conf) + cmd->offset);
  if (*field != NGX_CONF_UNSET_MSEC) return const_cast<char*>("is duplicate");
  const ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const auto d = hubstats::parse_duration(sv(value[1]));
  if (!d || d->count() <= 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid duration \"%V\" (expected e.g. 500ms, 30s, 30m, 2h, 14d)",
                       &cmd->name, &value[1]);
    return ngx_conf_error_ptr();
  }
  *field = static_cast<ngx_msec_t>(d->count());
  return NGX_CONF_OK;
}

char* set_backoff(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->backoff_min != NGX_CONF_UNSET_MSEC) return const_cast<char*>("is duplicate");
  const ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const auto lo = hubstats::parse_duration(sv(value[1]));
  const auto hi = hubstats::parse_duration(sv(value[2]));
  if (!lo || !hi || lo->count() <= 0 || hi->count() < lo->count()) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid backoff \"%V %V\" (expected <min> <max> durations, "
                       "0 < min <= max)",
                       &cmd->name, &value[1], &value[2]);
    return ngx_conf_error_ptr();
  }
  mcf->backoff_min = static_cast<ngx_msec_t>(lo->count());
  mcf->backoff_max = static_cast<ngx_msec_t>(hi->count());
  return NGX_CONF_OK;
}

char* set_queue_size(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->queue_size != NGX_CONF_UNSET_UINT) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const ngx_int_t n = ngx_atoi(value[1].data, value[1].len);
  if (n == NGX_ERROR || n < 1 || n > 10'000'000) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid queue size \"%V\" (expected 1..10000000 events)", &cmd->name,
                       &value[1]);
    return ngx_conf_error_ptr();
  }
  mcf->queue_size = static_cast<ngx_uint_t>(n);
  return NGX_CONF_OK;
}

// hubstats_min_range <size>: the least a ranged fetch from byte 0 must ask for (unless
// it reaches the end of the file) to be a download; 0 counts every range from byte 0.
char* set_min_range(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->min_range != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const off_t n = ngx_parse_offset(&value[1]);
  if (n < 0) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid size \"%V\" (expected e.g. 0, 4096, 512k, 1m)", &cmd->name,
                       &value[1]);
    return ngx_conf_error_ptr();
  }
  mcf->min_range = n;
  return NGX_CONF_OK;
}

char* set_max_paths(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->max_paths != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const ngx_int_t n = ngx_atoi(value[1].data, value[1].len);
  if (n == NGX_ERROR || n < 0 || n > 1'000'000) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid number \"%V\" (expected 0..1000000 distinct paths per repo "
                       "and day)",
                       &cmd->name, &value[1]);
    return ngx_conf_error_ptr();
  }
  mcf->max_paths = n;
  return NGX_CONF_OK;
}

char* set_breakdown_log_max(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->breakdown_log_max != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  const ssize_t n = ngx_parse_size(&value[1]);
  if (n == NGX_ERROR || n < 1 || n > 512 * 1024 * 1024) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid size \"%V\" (expected 1..512m bytes of breakdown log per "
                       "repo and day)",
                       &cmd->name, &value[1]);
    return ngx_conf_error_ptr();
  }
  mcf->breakdown_log_max = n;
  return NGX_CONF_OK;
}

void delete_bot_patterns(void* data) noexcept {
  delete static_cast<hubstats::BotPatterns*>(data);
}

// hubstats_bots on | count | <file>: bots apart by the built-in table (on), bots
// counted as people (count), or bots apart by the built-in table plus a file of
// patterns (one case-insensitive substring per line, # comments).
char* set_bots(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->bots_mode != kBotsUnset) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  if (sv(value[1]) == "on") {
    mcf->bots_mode = kBotsApart;
    return NGX_CONF_OK;
  }
  if (sv(value[1]) == "count") {
    mcf->bots_mode = kBotsCount;
    return NGX_CONF_OK;
  }
  ngx_str_t path = value[1];
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return ngx_conf_error_ptr();
  try {
    std::ifstream in(std::string(sv(path)), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                         "%V: cannot read bot patterns file \"%V\" (expected on, count or a "
                         "file)",
                         &cmd->name, &path);
      return ngx_conf_error_ptr();
    }
    ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (!cln) return ngx_conf_error_ptr();
    auto* patterns = new hubstats::BotPatterns();
    cln->handler = delete_bot_patterns;
    cln->data = patterns;
    int bad = 0;
    if (!patterns->add_lines(text, &bad)) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "%V: \"%V\" line %d: a pattern must have at least 3 characters",
                         &cmd->name, &path, bad);
      return ngx_conf_error_ptr();
    }
    mcf->bots = patterns;
    mcf->bots_mode = kBotsApart;
  } catch (...) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: cannot load \"%V\"", &cmd->name, &path);
    return ngx_conf_error_ptr();
  }
  return NGX_CONF_OK;
}

// hubstats_spool off | <path> [max_size=<size>]
char* set_spool(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->spool_set) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  mcf->spool_set = 1;
  if (sv(value[1]) == "off") {
    if (cf->args->nelts != 2) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: \"off\" takes no parameters", &cmd->name);
      return ngx_conf_error_ptr();
    }
    mcf->spool.len = 0;
    mcf->spool.data = nullptr;
    return NGX_CONF_OK;
  }
  ngx_str_t path = value[1];
  while (path.len > 1 && path.data[path.len - 1] == '/') --path.len;
  if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) return ngx_conf_error_ptr();
  mcf->spool = path;
  if (cf->args->nelts == 3) {
    constexpr std::string_view kMax = "max_size=";
    ngx_str_t size{value[2].len - std::min(value[2].len, kMax.size()), value[2].data + kMax.size()};
    const off_t max = sv(value[2]).substr(0, kMax.size()) == kMax ? ngx_parse_offset(&size) : -1;
    if (max <= 0) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "%V: invalid parameter \"%V\" (expected max_size=<size>, e.g. "
                         "max_size=1g)",
                         &cmd->name, &value[2]);
      return ngx_conf_error_ptr();
    }
    mcf->spool_max = max;
  }
  return NGX_CONF_OK;
}

char* set_redis(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->redis.data) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  try {
    if (!hubstats::contract::parse_redis_address(sv(value[1]))) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "%V: invalid address \"%V\": use an IP address with a port "
                         "(127.0.0.1:6379, [::1]:6379) or unix:/path; host names are not "
                         "resolved because resolving would block the worker",
                         &cmd->name, &value[1]);
      return ngx_conf_error_ptr();
    }
  } catch (...) {
    return ngx_conf_error_ptr();
  }
  mcf->redis = value[1];
  return NGX_CONF_OK;
}

char* set_secret_file(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->has_key) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  ngx_str_t path = value[1];
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return ngx_conf_error_ptr();
  try {
    std::ifstream in(std::string(sv(path)), std::ios::binary);
    if (!in) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "%V: cannot read secret file \"%V\"",
                         &cmd->name, &path);
      return ngx_conf_error_ptr();
    }
    std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "%V: cannot read secret file \"%V\"",
                         &cmd->name, &path);
      return ngx_conf_error_ptr();
    }
    auto key = hubstats::identity_key_from_secret(contents);
    if (!key) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "%V: secret file \"%V\" is too short (at least 16 bytes of secret "
                         "are required)",
                         &cmd->name, &path);
      return ngx_conf_error_ptr();
    }
    // The secret keys every identity hash: anyone who reads it can test guesses of
    // IPs and tokens against the stored hashes.
    ngx_file_info_t fi;
    if (ngx_file_info(path.data, &fi) == 0 && (ngx_file_access(&fi) & (S_IROTH | S_IWOTH))) {
      ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                         "%V: secret file \"%V\" is readable by other users (chmod o-rw)",
                         &cmd->name, &path);
    }
    mcf->key = *key;
    mcf->has_key = 1;
  } catch (...) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: cannot load secret file \"%V\"", &cmd->name,
                       &path);
    return ngx_conf_error_ptr();
  }
  return NGX_CONF_OK;
}

ngx_http_complex_value_t* compile_cv(ngx_conf_t* cf, ngx_str_t* source) {
  auto* cv = static_cast<ngx_http_complex_value_t*>(
      ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t)));
  if (!cv) return nullptr;
  ngx_http_compile_complex_value_t ccv;
  ngx_memzero(&ccv, sizeof(ccv));
  ccv.cf = cf;
  ccv.value = source;
  ccv.complex_value = cv;
  if (ngx_http_compile_complex_value(&ccv) != NGX_OK) return nullptr;
  return cv;
}

// hubstats_repo <type> <namespace> <name> [if=<condition>]
char* set_repo(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* lcf = static_cast<LocConf*>(conf);
  if (lcf->repo_set != NGX_CONF_UNSET) return const_cast<char*>("is duplicate");
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  lcf->repo_type = compile_cv(cf, &value[1]);
  lcf->repo_ns = compile_cv(cf, &value[2]);
  lcf->repo_name = compile_cv(cf, &value[3]);
  if (!lcf->repo_type || !lcf->repo_ns || !lcf->repo_name) return ngx_conf_error_ptr();
  if (cf->args->nelts == 5) {
    constexpr std::string_view kIf = "if=";
    if (sv(value[4]).substr(0, kIf.size()) != kIf || value[4].len == kIf.size()) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V: invalid parameter \"%V\" (expected if=...)",
                         &cmd->name, &value[4]);
      return ngx_conf_error_ptr();
    }
    ngx_str_t cond{value[4].len - kIf.size(), value[4].data + kIf.size()};
    lcf->repo_if = compile_cv(cf, &cond);
    if (!lcf->repo_if) return ngx_conf_error_ptr();
  }
  lcf->repo_set = 1;
  return NGX_CONF_OK;
}

ngx_int_t status_handler(ngx_http_request_t* r) noexcept;

// hubstats_status [plain|prometheus]
char* set_status(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* lcf = static_cast<LocConf*>(conf);
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  lcf->status_format = kStatusPlain;
  if (cf->args->nelts == 2) {
    if (sv(value[1]) == "prometheus") {
      lcf->status_format = kStatusPrometheus;
    } else if (sv(value[1]) != "plain") {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "%V: invalid format \"%V\" (expected plain or prometheus)", &cmd->name,
                         &value[1]);
      return ngx_conf_error_ptr();
    }
  }
  auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
      ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  clcf->handler = status_handler;
  return NGX_CONF_OK;
}

// ---------------------------------------------------------------------------
// Configuration objects

void* create_main_conf(ngx_conf_t* cf) noexcept {
  auto* mcf = static_cast<MainConf*>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
  if (!mcf) return nullptr;
  mcf->window = NGX_CONF_UNSET_MSEC;
  mcf->retention = NGX_CONF_UNSET_MSEC;
  mcf->connect_timeout = NGX_CONF_UNSET_MSEC;
  mcf->command_timeout = NGX_CONF_UNSET_MSEC;
  mcf->backoff_min = NGX_CONF_UNSET_MSEC;
  mcf->backoff_max = NGX_CONF_UNSET_MSEC;
  mcf->flush_interval = NGX_CONF_UNSET_MSEC;
  mcf->queue_size = NGX_CONF_UNSET_UINT;
  mcf->spool_max = NGX_CONF_UNSET;
  mcf->min_range = NGX_CONF_UNSET;
  mcf->max_paths = NGX_CONF_UNSET;
  mcf->breakdown_log_max = NGX_CONF_UNSET;
  return mcf;
}

char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  ngx_conf_init_msec_value(mcf->window, 30 * 60 * 1000);
  ngx_conf_init_msec_value(mcf->retention, 14 * 86400 * 1000ULL);
  ngx_conf_init_msec_value(mcf->connect_timeout, 1000);
  ngx_conf_init_msec_value(mcf->command_timeout, 1000);
  ngx_conf_init_msec_value(mcf->backoff_min, 100);
  ngx_conf_init_msec_value(mcf->backoff_max, 5000);
  ngx_conf_init_msec_value(mcf->flush_interval, 5);
  ngx_conf_init_uint_value(mcf->queue_size, 10000);
  if (mcf->spool_max == NGX_CONF_UNSET) mcf->spool_max = kDefaultSpoolMax;
  if (mcf->min_range == NGX_CONF_UNSET) mcf->min_range = hubstats::kDefaultMinRange;
  ngx_conf_init_value(mcf->max_paths, 1000);
  ngx_conf_init_value(mcf->breakdown_log_max, hubstats::scripts::kCompactLogBytes);
  if (mcf->bots_mode == kBotsUnset) mcf->bots_mode = kBotsApart;
  if (!mcf->spool_set) {
    mcf->spool.data = reinterpret_cast<u_char*>(const_cast<char*>(kDefaultSpool));
    mcf->spool.len = sizeof(kDefaultSpool) - 1;
    if (ngx_conf_full_name(cf->cycle, &mcf->spool, 0) != NGX_OK) return ngx_conf_error_ptr();
  }
  if (mcf->retention < 1000) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "hubstats_retention must be at least 1s");
    return ngx_conf_error_ptr();
  }
  return NGX_CONF_OK;
}

void* create_loc_conf(ngx_conf_t* cf) noexcept {
  auto* lcf = static_cast<LocConf*>(ngx_pcalloc(cf->pool, sizeof(LocConf)));
  if (!lcf) return nullptr;
  lcf->enable = NGX_CONF_UNSET;
  lcf->user = static_cast<ngx_http_complex_value_t*>(NGX_CONF_UNSET_PTR);
  lcf->repo_set = NGX_CONF_UNSET;
  return lcf;
}

char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept {
  auto* prev = static_cast<LocConf*>(parent);
  auto* conf = static_cast<LocConf*>(child);
  ngx_conf_merge_value(conf->enable, prev->enable, 0);
  ngx_conf_merge_str_value(conf->cookie, prev->cookie, "session_id");
  ngx_conf_merge_ptr_value(conf->user, prev->user, nullptr);
  if (conf->repo_set == NGX_CONF_UNSET) {
    conf->repo_set = prev->repo_set;
    conf->repo_type = prev->repo_type;
    conf->repo_ns = prev->repo_ns;
    conf->repo_name = prev->repo_name;
    conf->repo_if = prev->repo_if;
  }
  if (conf->enable) {
    auto* mcf =
        static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_hubstats_module));
    if (!mcf->redis.data) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"hubstats on\" requires \"hubstats_redis\" in the http block");
      return ngx_conf_error_ptr();
    }
    if (!mcf->has_key) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"hubstats on\" requires \"hubstats_secret_file\" in the http block");
      return ngx_conf_error_ptr();
    }
    mcf->any_enabled = 1;
  }
  return NGX_CONF_OK;
}

// ---------------------------------------------------------------------------
// Log phase

int final_status(const ngx_http_request_t* r) {
  if (r->err_status) return static_cast<int>(r->err_status);
  return static_cast<int>(r->headers_out.status);
}

// ---------------------------------------------------------------------------
// Request-body filter: sees every body buffer as nginx reads it (buffered or not,
// after chunked decoding, HTTP/1.1 and HTTP/2), so what a POST asks for does not
// depend on when its bytes arrived. Keeps only the prefix classification reads.

struct BodyCtx {
  hubstats::module::BodyNeed need;
  hubstats::module::PrefixCapture capture;
};

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

ngx_int_t request_body_filter(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
  try {
    capture_body(r, in);
  } catch (...) {
    // Never stands in the body's way; classification then reads what nginx kept.
  }
  return g_next_request_body_filter(r, in);
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
    ev.identity_hex = std::move(id.hex);
    ev.authenticated = id.authenticated;
    ev.day = hubstats::day_of(static_cast<std::int64_t>(r->start_sec));
    ev.time_ms = static_cast<std::int64_t>(r->start_sec) * 1000 + r->start_msec;
    ev.path.assign(path);
    const hubstats::ClientFamily family = hubstats::client_family(in.user_agent, mcf->bots);
    ev.family = static_cast<char>('a' + static_cast<int>(family));
    ev.bot = family == hubstats::ClientFamily::kBot && mcf->bots_mode == kBotsApart;
    g_sink->submit(std::move(ev));
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "hubstats: could not record a request");
  }
  return NGX_OK;
}

// ---------------------------------------------------------------------------
// Status

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

// ---------------------------------------------------------------------------
// Module hooks

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
    auto addr = hubstats::contract::parse_redis_address(sv(mcf->redis));
    if (!addr) return NGX_ERROR;  // validated at config time
    hubstats::module::SinkSettings s;
    s.address = std::move(*addr);
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

ngx_command_t commands[] = {
    {ngx_string("hubstats_redis"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_redis,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_secret_file"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_secret_file,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_session_window"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_duration,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, window), nullptr},
    {ngx_string("hubstats_retention"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_duration,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, retention), nullptr},
    {ngx_string("hubstats_connect_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_duration,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, connect_timeout), nullptr},
    {ngx_string("hubstats_command_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_duration,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, command_timeout), nullptr},
    {ngx_string("hubstats_flush_interval"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_duration,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, flush_interval), nullptr},
    {ngx_string("hubstats_reconnect_backoff"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2, set_backoff,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_queue_size"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_queue_size,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_spool"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE12, set_spool,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_min_range"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_min_range,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_max_paths"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_max_paths,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_breakdown_log_max"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     set_breakdown_log_max, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_bots"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_bots,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, enable), nullptr},
    {ngx_string("hubstats_session_cookie"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, cookie), nullptr},
    {ngx_string("hubstats_user"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocConf, user), nullptr},
    {ngx_string("hubstats_repo"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE3 | NGX_CONF_TAKE4,
     set_repo, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_status"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS | NGX_CONF_TAKE1,
     set_status, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    ngx_null_command,
};

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

extern "C" {
ngx_module_t ngx_http_hubstats_module = {NGX_MODULE_V1,
                                         &module_ctx,      // module context
                                         commands,         // module directives
                                         NGX_HTTP_MODULE,  // module type
                                         nullptr,          // init master
                                         nullptr,          // init module
                                         init_process,     // init process
                                         nullptr,          // init thread
                                         nullptr,          // exit thread
                                         exit_process,     // exit process
                                         nullptr,          // exit master
                                         NGX_MODULE_V1_PADDING};
}
