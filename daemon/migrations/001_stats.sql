-- Download statistics: one row per (repo, UTC day), folded from Redis by hubstatsd.
-- Everything lives in schema hubstats so it can share a KohakuHub database.
-- Key columns use the "C" collation: byte-order comparisons keep the primary keys
-- cheap to maintain (the fold upserts 100k rows a day); nothing sorts them for humans.
CREATE SCHEMA IF NOT EXISTS hubstats;

CREATE TABLE hubstats.daily_downloads (
  repo_type     text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace     text   COLLATE "C" NOT NULL,
  name          text   COLLATE "C" NOT NULL,
  day           date   NOT NULL,
  downloads     bigint NOT NULL DEFAULT 0 CHECK (downloads >= 0),
  authenticated bigint NOT NULL DEFAULT 0 CHECK (authenticated >= 0),
  anonymous     bigint NOT NULL DEFAULT 0 CHECK (anonymous >= 0),
  files         bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  -- Serves per-repo lookups: /stats (all days of a repo) and /stats/recent (a day range).
  PRIMARY KEY (repo_type, namespace, name, day)
);

-- Per-period trending: all repos of a type over a day range, answered from the index
-- alone (index-only scan), without touching the heap.
CREATE INDEX daily_downloads_type_day
  ON hubstats.daily_downloads (repo_type, day) INCLUDE (namespace, name, downloads);

-- One row per applied fold generation: the commit inserts here first and adds the
-- generation's counts (kept here too, as an audit trail) only if this insert happened,
-- so a generation is applied once.
CREATE TABLE hubstats.fold_ledger (
  repo_type     text COLLATE "C" NOT NULL,
  namespace     text COLLATE "C" NOT NULL,
  name          text COLLATE "C" NOT NULL,
  day           date        NOT NULL,
  gen           text COLLATE "C" NOT NULL,
  downloads     bigint      NOT NULL DEFAULT 0,
  authenticated bigint      NOT NULL DEFAULT 0,
  anonymous     bigint      NOT NULL DEFAULT 0,
  files         bigint      NOT NULL DEFAULT 0,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repo_type, namespace, name, day, gen)
);

-- Incremental refresh of the trending index (rows applied since T) and pruning.
CREATE INDEX fold_ledger_applied_at ON hubstats.fold_ledger (applied_at);
