// Builds the configured catalog (app/commands.cpp wires it:
//   auto catalog = make_catalog(parse_catalog_config(cfg.catalog), storage.pg());).
#pragma once

#include <memory>

#include "catalog/catalog.h"
#include "catalog/catalog_config.h"

namespace hubstatsd {

class PgPool;

// Builds the backend of a validated `catalog:` section (parse_catalog_config). hubstats_pool serves
// the builtin tables; the kohakuhub backend opens its own pool when catalog.kohakuhub.dsn is set
// (same timeouts as hubstats_pool), else reads the hub's tables through hubstats_pool.
// hubstats_pool must outlive the catalog.
std::unique_ptr<Catalog> make_catalog(const CatalogConfig& cfg, PgPool& hubstats_pool);

}  // namespace hubstatsd
