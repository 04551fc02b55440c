// Builds the configured catalog. main.cpp wiring:
//   auto catalog = hubstatsd::make_catalog(cfg.catalog, hubstats_pool);
//   hubstatsd::register_catalog_routes(router, *catalog);   // catalog/catalog_routes.h
#pragma once

#include <memory>

#include <yaml-cpp/yaml.h>

#include "catalog/catalog.h"
#include "catalog/catalog_config.h"

namespace hubstatsd {

class PgPool;

// Validates the `catalog:` section (throws CatalogConfigError naming the key) and
// builds the backend. hubstats_pool serves the builtin tables; the kohakuhub backend
// opens its own pool when catalog.kohakuhub.dsn is set (same timeouts as
// hubstats_pool), else reads the hub's tables through hubstats_pool.
// hubstats_pool must outlive the catalog.
std::unique_ptr<Catalog> make_catalog(const YAML::Node& section, PgPool& hubstats_pool);
std::unique_ptr<Catalog> make_catalog(const CatalogConfig& cfg, PgPool& hubstats_pool);

}  // namespace hubstatsd
