#include "app/commands.h"

#include <iostream>
#include <optional>

#ifdef HUBSTATS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "api/stats_api.h"
#include "app/backends.h"
#include "app/signals.h"
#include "catalog/catalog_config.h"
#include "catalog/catalog_routes.h"
#include "config/config.h"
#include "extras/extras.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "http/server.h"
#include "log/logger.h"
#include "store/store.h"

namespace hubstatsd::app {

namespace {

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

}  // namespace

int check_config(const std::string& path) {
  if (!load(path)) return 1;
  std::cout << path << ": ok\n";
  return 0;
}

int migrate(const std::string& path) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  try {
    Store store(store_config(*c));
    const auto applied = store.migrate();
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
    Store store(store_config(*c));
    const FoldStats s = store.fold_once();
    log::info("fold pass", {{"taken", std::to_string(s.taken)},
                            {"applied", std::to_string(s.applied)},
                            {"repos", std::to_string(s.repos)}});
    return 0;
  } catch (const std::exception& e) {
    log::error("fold failed", {{"error", e.what()}});
    return 1;
  }
}

int run(const std::string& path) {
  auto c = load(path);
  if (!c || !setup_logging(*c)) return 1;
  block_signals();  // before any thread starts, so only sigwait sees them
  try {
    Backends backends(*c);
    const auto applied = backends.store().migrate();
    if (!applied.empty())
      log::info("migrations applied", {{"count", std::to_string(applied.size())}});

    http::Router router;
    router.add("GET", "/health", [](const http::Request&, const http::PathParams&) {
      return http::json_response(200, R"({"status":"ok"})");
    });
    router.add_fast("GET", "/health",
                    [](const http::Request&, const http::PathParams&, http::FastDone done) {
                      done({http::json_response(200, R"({"status":"ok"})"), nullptr});
                    });
    api::StatsApi stats_api(backends.catalog(), backends.store().stats(), system_unix_now);
    api::register_stats_routes(router, stats_api);
    CatalogApi catalog_api(backends.catalog());
    register_catalog_routes(router, catalog_api);
    extras::Extras extras(router, backends.catalog(), backends.store().stats(), system_unix_now);
    extras.register_routes(router);  // /metrics, chart.svg, badge, /dashboard, /openapi.json
    const http::CorsPolicy cors(c->http.cors.allow_origins);
    const http::Pipeline pipeline(router, &extras.request_observer(), &cors);
    http::Server server(
        server_options(*c), [&pipeline](http::Request& req) { return pipeline.handle(req); },
        [&pipeline](http::Request& req, http::FastFinish finish) {
          pipeline.handle_fast(req, std::move(finish));
        });
    server.start();
    backends.store().start_background_fold();
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
    backends.store().stop();
    log::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace hubstatsd::app
