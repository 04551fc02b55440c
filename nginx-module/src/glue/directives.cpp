// The directives: each checks its arguments and fails loudly naming itself; the
// configuration objects with their defaults and the checks across directives.
#include <algorithm>
#include <fstream>
#include <new>
#include <iterator>
#include <string>
#include <string_view>

#include "glue/conf.h"
#include "glue/handlers.h"
#include "hubstats/classify.h"
#include "hubstats/contract/redis_address.h"
#include "hubstats/contract/scripts.h"
#include "hubstats/duration.h"

namespace hubstats::module::glue {

namespace {

constexpr off_t kDefaultSpoolMax = 1LL << 30;
constexpr char kDefaultSpool[] = "hubstats_spool";  // under the prefix, like *_temp_path

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

void delete_family_cache(void* data) noexcept {
  delete static_cast<hubstats::ClientFamilyCache*>(data);
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
  if (mcf->cluster) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"hubstats_redis\" and \"hubstats_redis_cluster\" cannot both be "
                       "given: use one Redis or one Redis Cluster");
    return ngx_conf_error_ptr();
  }
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

// hubstats_redis_cluster <seed> [<seed> ...]: the nodes the worker asks for the slot map.
char* set_redis_cluster(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* mcf = static_cast<MainConf*>(conf);
  if (mcf->cluster) return const_cast<char*>("is duplicate");
  if (mcf->redis.data) {
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"hubstats_redis_cluster\" and \"hubstats_redis\" cannot both be "
                       "given: use one Redis or one Redis Cluster");
    return ngx_conf_error_ptr();
  }
  ngx_str_t* value = static_cast<ngx_str_t*>(cf->args->elts);
  ngx_array_t* seeds = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
  if (!seeds) return ngx_conf_error_ptr();
  for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
    try {
      auto addr = hubstats::contract::parse_redis_address(sv(value[i]));
      if (!addr || addr->is_unix) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: invalid seed \"%V\": use an IP address with a port "
                           "(127.0.0.1:7000, [::1]:7000); cluster nodes are reached by IP, and "
                           "host names are not resolved because resolving would block the "
                           "worker",
                           &cmd->name, &value[i]);
        return ngx_conf_error_ptr();
      }
    } catch (...) {
      return ngx_conf_error_ptr();
    }
    auto* slot = static_cast<ngx_str_t*>(ngx_array_push(seeds));
    if (!slot) return ngx_conf_error_ptr();
    *slot = value[i];
  }
  mcf->cluster = seeds;
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

}  // namespace

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
  // Each worker gets its own copy at fork; a reload brings a new one with the patterns.
  ngx_pool_cleanup_t* families_cln = ngx_pool_cleanup_add(cf->pool, 0);
  if (!families_cln) return ngx_conf_error_ptr();
  mcf->families = new (std::nothrow) hubstats::ClientFamilyCache(mcf->bots);
  if (!mcf->families) return ngx_conf_error_ptr();
  families_cln->handler = delete_family_cache;
  families_cln->data = mcf->families;
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
    if (!mcf->redis.data && !mcf->cluster) {
      ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                         "\"hubstats on\" requires \"hubstats_redis\" or "
                         "\"hubstats_redis_cluster\" in the http block");
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

ngx_command_t commands[] = {
    {ngx_string("hubstats_redis"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_redis,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("hubstats_redis_cluster"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, set_redis_cluster,
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

}  // namespace hubstats::module::glue
