#include "app/commands.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <iostream>
#include <random>
#include <set>
#include <optional>

#ifdef HUBSTATS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "serve/api/stats_api.h"
#include "app/signals.h"
#include "base/unavailable.h"
#include "catalog/catalog_config.h"
#include "catalog/make_catalog.h"
#include "serve/api/catalog_routes.h"
#include "catalog/kohakuhub_catalog.h"
#include "config/config.h"
#include "serve/routes.h"
#include "hubstats/contract/keys.h"
#include "serve/http/pipeline.h"
#include "serve/http/router.h"
#include "serve/http/server.h"
#include "log/logger.h"
#include "store/kohakuhub_import.h"
#include "store/storage.h"

namespace hubstatsd::app {

namespace {

StorageConfig storage_config(const config::Config& c) {
  StorageConfig s;
  s.pg.dsn = c.postgres.dsn;
  s.pg.size = c.postgres.pool_size;
  s.pg.connect_timeout = c.postgres.connect_timeout;
  s.pg.statement_timeout = c.postgres.statement_timeout;
  // Waiting for a free connection is bounded like a statement: a request answers 503
  // rather than queueing behind a stuck database.
  s.pg.acquire_timeout = c.postgres.statement_timeout;

  s.redis.address = c.redis.address;
  s.redis.cluster = c.redis.cluster;
  s.redis.pool_size = std::max(4, c.http.handler_threads);
  s.redis.connect_timeout = c.redis.connect_timeout;
  s.redis.command_timeout = c.redis.command_timeout;
  s.redis.acquire_timeout = c.redis.command_timeout;

  s.fold.retention_days = static_cast<int>(c.fold.retention.count() / 86'400'000);
  s.fold_interval = c.fold.interval;
  s.fold.redis_fsync_lag = c.fold.redis_fsync_lag;
  s.fold.max_paths = c.fold.max_paths;
  // Lanes overlap one shard's PostgreSQL commit with others' Redis work (4 measured
  // fastest on 2 cores, docs/benchmarks.md); each holds a connection while it
  // commits, so the fold takes at most half the pool and requests keep the rest.
  s.fold.lanes = static_cast<std::size_t>(std::clamp(c.postgres.pool_size / 2, 1, 4));
  s.background_fold = c.fold.background;
  s.today_cache_ttl = c.fold.today_cache_ttl;
  return s;
}

// Where the daemon looks for Redis, for logs: the address or the cluster's seeds.
std::string redis_where(const config::Config::Redis& r) {
  if (r.cluster.empty()) return r.address;
  std::string out = "cluster";
  for (const auto& s : r.cluster) out += " " + s;
  return out;
}

void notify(const char* state) {
#ifdef HUBSTATS_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

// Loads and fully validates the file (catalog section included); prints the error.
std::optional<config::Config> load(const std::string& path) {
  try {
    config::Config c = config::load_config_file(path);
    parse_catalog_config(c.catalog);
    return c;
  } catch (const std::exception& e) {
    std::cerr << "hubstatsd: " << path << ": " << e.what() << "\n";
    return std::nullopt;
  }
}

bool setup_logging(const config::Config& c) {
  try {
    log::Logger::global().configure(c.log.level, c.log.format, c.log.file);
    for (const auto& w : c.warnings) log::warn("config", {{"warning", w}});
    return true;
  } catch (const std::exception& e) {
    std::cerr << "hubstatsd: log.file: " << e.what() << "\n";
    return false;
  }
}

http::ServerOptions server_options(const config::Config& c) {
  http::ServerOptions o;
  o.address = c.listen.address;
  o.port = c.listen.port;
  o.io_threads = c.http.threads;
  o.handler_threads = c.http.handler_threads;
  o.header_limit = c.http.header_limit;
  o.body_limit = c.http.body_limit;
  o.idle_timeout = c.http.idle_timeout;
  o.header_timeout = c.http.header_timeout;
  o.keepalive = c.http.keepalive;
  o.max_connections = c.http.max_connections;
  return o;
}

// SIGHUP: reopen the log file and apply what can change without a restart.
void reload(const std::string& path, config::Config& current) {
  if (!log::Logger::global().reopen())
    log::error("cannot reopen log file", {{"file", current.log.file}});
  auto next = load(path);
  if (!next) {
    log::error("reload failed: config invalid, keeping the running config", {{"file", path}});
    return;
  }
  std::string changed;
  if (next->log.level != current.log.level || next->log.format != current.log.format ||
      next->log.file != current.log.file) {
    if (setup_logging(*next)) {
      changed += "log ";
      current.log = next->log;
    }
  }
  // Written whatever the (new) level: the operator asked for this reload.
  log::Logger::global().write(
      log::Level::kInfo, "reloaded",
      {{"file", path},
       {"applied", changed.empty() ? "nothing changed" : changed},
       {"note", "listen, http, redis, postgres, fold and catalog need a restart"}});
}

constexpr std::chrono::seconds kRedisStartupWait{30};
constexpr std::chrono::seconds kOneShotWait{30};

// True once Redis answers PING; false after `wait` without an answer.
bool wait_for_redis(RedisClient& redis, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  bool logged = false;
  while (true) {
    try {
      if (!redis.command({"PING"}).is_error()) return true;
    } catch (const std::exception& e) {
      if (!logged) log::warn("waiting for redis", {{"error", e.what()}});
      logged = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// A one-shot command (fold --once, migrate) runs `step` until it succeeds, riding out
// a server that cannot answer yet: a connect that times out on a loaded host, a
// PostgreSQL or Redis restarting. Safe to repeat: the fold is exactly-once by its
// ledger and migrations are transactional. Other errors, and `wait` spent, throw.
template <typename Step>
auto until_available(const char* what, std::chrono::seconds wait, Step step) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = std::chrono::milliseconds(200);
  for (bool logged = false;; logged = true) {
    try {
      return step();
    } catch (const Unavailable& e) {
      if (std::chrono::steady_clock::now() + pause >= deadline) throw;
      if (!logged)
        log::warn(what,
                  {{"error", e.what()}, {"retrying_for", std::to_string(wait.count()) + "s"}});
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
  }
}

}  // namespace

int check_config(const std::string& path) {
  const auto c = load(path);
  if (!c) return 1;
  for (const auto& w : c->warnings) std::cerr << "hubstatsd: " << path << ": " << w << "\n";
  std::cout << path << ": ok\n";
  return 0;
}

int migrate(const std::string& path) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  try {
    const auto applied = until_available("migrate waiting for the databases", kOneShotWait, [&] {
      Storage store(storage_config(*c));
      return store.migrate();
    });
    log::info("migrations applied", {{"count", std::to_string(applied.size())}});
    for (const auto& name : applied) std::cout << "applied " << name << "\n";
    return 0;
  } catch (const std::exception& e) {
    log::error("migrate failed", {{"error", e.what()}});
    return 1;
  }
}

int fold_once(const std::string& path) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  try {
    Storage store(storage_config(*c));
    const FoldStats s = until_available("fold waiting for the databases", kOneShotWait,
                                        [&] { return store.fold_once(); });
    log::info("fold pass", {{"taken", std::to_string(s.taken)},
                            {"applied", std::to_string(s.applied)},
                            {"repos", std::to_string(s.repos)}});
    return 0;
  } catch (const std::exception& e) {
    log::error("fold failed", {{"error", e.what()}});
    return 1;
  }
}

int import_kohakuhub(const std::string& path, const ImportArgs& args) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  const CatalogConfig cat = parse_catalog_config(c->catalog);
  ImportOptions opt;
  opt.dry_run = args.dry_run;
  opt.today = hubstats::day_of(system_unix_now());
  opt.schema = args.schema.empty() ? cat.kohakuhub.schema : args.schema;
  if (!valid_schema_name(opt.schema)) {
    std::cerr << "hubstatsd: --schema: expected an identifier, got \"" << opt.schema << "\"\n";
    return 1;
  }
  if (!args.cutover.empty()) {
    opt.cutover = hubstats::parse_iso(args.cutover);
    if (!opt.cutover) {
      std::cerr << "hubstatsd: --cutover: expected YYYY-MM-DD, got \"" << args.cutover << "\"\n";
      return 1;
    }
  }
  const char* verb = args.dry_run ? "would import" : "imported";
  std::set<std::string> touched;  // repo tags whose all-time total changed
  opt.on_day = [&](const ImportRow& r) {
    touched.insert(hubstats::keys::repo_tag(r.repo));
    if (args.dry_run)
      std::cout << "day " << hubstats::to_string(r.repo.type) << "/" << r.repo.id() << " "
                << hubstats::format_iso(r.day) << " downloads=" << r.downloads
                << " authenticated=" << r.authenticated << " anonymous=" << r.anonymous
                << " files=" << r.files << "\n";
  };
  opt.on_baseline = [&](const hubstats::RepoRef& repo, std::int64_t n) {
    if (n > 0) touched.insert(hubstats::keys::repo_tag(repo));
    if (args.dry_run)
      std::cout << "baseline " << hubstats::to_string(repo.type) << "/" << repo.id()
                << " downloads=" << n << "\n";
  };
  try {
    Storage store(storage_config(*c));
    store.migrate();
    PgPoolConfig hub_cfg = store.pg().config();
    const std::string dsn = !args.dsn.empty() ? args.dsn : cat.kohakuhub.dsn;
    std::unique_ptr<PgPool> own;
    if (!dsn.empty()) {
      hub_cfg.dsn = dsn;
      hub_cfg.size = 1;
      own = std::make_unique<PgPool>(hub_cfg);
    }
    opt.first_unfolded = earliest_unfolded_day(store.redis());
    const auto t0 = std::chrono::steady_clock::now();
    const ImportReport r = import_kohakuhub(own ? *own : store.pg(), store.pg(), opt);
    if (!args.dry_run) publish_new_totals(store.redis(), touched);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::cout << verb << ": cutover=" << hubstats::format_iso(r.cutover)
              << (r.cutover_was_recorded ? " (recorded)" : " (new)") << " repos=" << r.repos
              << " days_read=" << r.days_read << " days_new=" << r.days_written
              << " baselines_new=" << r.baselines_written
              << " downloads_in_days=" << r.downloads_read
              << " downloads_in_baselines=" << r.baseline_read << " skipped=" << r.skipped
              << " ms=" << ms << " read_ms=" << r.read_ms << " write_ms=" << r.write_ms
              << (args.dry_run ? " (dry run: nothing written)" : "") << "\n";
    store.stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hubstatsd: import kohakuhub: " << e.what() << "\n";
    return 1;
  }
}

int run(const std::string& path) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  block_signals();  // before any thread starts, so only sigwait sees them
  try {
    Storage storage(storage_config(*c));
    // Uses storage.pg(): declared after it, so destroyed first.
    const std::unique_ptr<Catalog> catalog =
        make_catalog(parse_catalog_config(c->catalog), storage.pg());
    const auto applied = storage.migrate();
    if (!applied.empty())
      log::info("migrations applied", {{"count", std::to_string(applied.size())}});

    // Ready means serving correct answers: PostgreSQL migrated (above) and Redis
    // answering. Wait a bounded time for Redis, then fail so the unit's restart policy
    // (and the operator) sees it, instead of reporting ready and answering 503.
    if (!wait_for_redis(storage.redis(), kRedisStartupWait)) {
      log::error("redis unreachable at startup",
                 {{"address", redis_where(c->redis)},
                  {"waited_s", std::to_string(kRedisStartupWait.count())}});
      return 1;
    }

    http::Router router;
    router.add("GET", "/health", [](const http::Request&, const http::PathParams&) {
      return http::json_response(200, R"({"status":"ok"})");
    });
    router.add_fast("GET", "/health",
                    [](const http::Request&, const http::PathParams&, http::FastDone done) {
                      done({http::json_response(200, R"({"status":"ok"})"), nullptr});
                    });
    api::StatsApi stats_api(*catalog, storage.reader(), system_unix_now);
    api::register_stats_routes(router, stats_api);
    CatalogApi catalog_api(*catalog);
    register_catalog_routes(router, catalog_api);
    serve::SiteRoutes site(router, *catalog, storage.reader(), system_unix_now);
    site.register_routes(router);  // /metrics, chart.svg, badge, /dashboard, /openapi.json
    const http::CorsPolicy cors(c->http.cors.allow_origins);
    const http::Pipeline pipeline(router, &site.request_observer(), &cors);
    http::Server server(
        server_options(*c), [&pipeline](http::Request& req) { return pipeline.handle(req); },
        [&pipeline](http::Request& req, http::FastFinish finish) {
          pipeline.handle_fast(req, std::move(finish));
        });
    server.start();
    storage.start_background_fold();
    log::info("listening",
              {{"address", c->listen.address}, {"port", std::to_string(server.port())}});
    notify("READY=1");

    while (wait_for_signal() == Signal::kReload) {
      notify("RELOADING=1");
      reload(path, *c);
      notify("READY=1");
    }
    notify("STOPPING=1");
    log::info("shutting down");
    server.stop(c->http.shutdown_grace);
    storage.stop();
    log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace hubstatsd::app
