// The daemon's backends built from its config: the storage side (PostgreSQL pool,
// Redis client, folder, stats store, background fold; store/store.h) and the catalog.
// Connections open lazily, so building never blocks on an unreachable server.
#pragma once

#include <memory>

#include "catalog/catalog.h"
#include "config/config.h"
#include "store/store.h"

namespace hubstatsd::app {

StoreConfig store_config(const config::Config& c);

class Backends {
 public:
  // Throws CatalogConfigError for a bad catalog section.
  explicit Backends(const config::Config& c);
  ~Backends();

  Store& store() { return *store_; }
  Catalog& catalog() { return *catalog_; }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Catalog> catalog_;  // uses store_->pg(): declared after, destroyed first
};

}  // namespace hubstatsd::app
