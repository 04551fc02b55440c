#include "catalog/make_catalog.h"

#include "catalog/builtin_catalog.h"
#include "catalog/kohakuhub_catalog.h"
#include "db/pg_pool.h"

namespace hubstatsd {

namespace {

// The hub's own pool must be built before, and destroyed after, the catalog using it.
struct OwnedPool {
  std::unique_ptr<PgPool> pool;
};

class KohakuhubWithPool : private OwnedPool, public KohakuhubCatalog {
 public:
  KohakuhubWithPool(std::unique_ptr<PgPool> pool, const std::string& schema, CacheOptions cache)
      : OwnedPool{std::move(pool)},
        KohakuhubCatalog(*OwnedPool::pool, schema, cache, "session_id") {}
};

}  // namespace

std::unique_ptr<Catalog> make_catalog(const CatalogConfig& cfg, PgPool& hubstats_pool) {
  const CacheOptions cache{cfg.cache_ttl, cfg.cache_max_entries};
  if (cfg.backend == CatalogConfig::Backend::kBuiltin)
    return std::make_unique<BuiltinCatalog>(hubstats_pool, cache, cfg.admin_token);
  if (cfg.kohakuhub.dsn.empty())
    return std::make_unique<KohakuhubCatalog>(hubstats_pool, cfg.kohakuhub.schema, cache,
                                              "session_id");
  PgPoolConfig pc = hubstats_pool.config();
  pc.dsn = cfg.kohakuhub.dsn;
  pc.size = cfg.kohakuhub.pool_size;
  return std::make_unique<KohakuhubWithPool>(std::make_unique<PgPool>(pc), cfg.kohakuhub.schema,
                                             cache);
}

}  // namespace hubstatsd
