-- Issue 12: counts people can trust and slice. Per repo-day, bots apart from people,
-- per-file counts and per-client counts, folded from Redis (hs:{tag}:p:D, :c:D) in the
-- same transaction and under the same fold_ledger row as the day's counters, so each
-- generation is applied exactly once.

-- Countable fetches by bots (not in downloads, authenticated, anonymous or files).
ALTER TABLE hubstats.daily_downloads
  ADD COLUMN IF NOT EXISTS bots bigint NOT NULL DEFAULT 0 CHECK (bots >= 0);
ALTER TABLE hubstats.fold_ledger ADD COLUMN IF NOT EXISTS bots bigint NOT NULL DEFAULT 0;

-- Countable fetches per file path (bots excluded). A repo-day keeps at most fold.max_paths
-- distinct paths besides (git), (lfs) and (other); the fold adds the rest to (other).
-- Serves /stats/files: one repo's rows over a day range (the primary key's prefix).
CREATE TABLE IF NOT EXISTS hubstats.daily_paths (
  repo_type text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace text   COLLATE "C" NOT NULL,
  name      text   COLLATE "C" NOT NULL,
  day       date   NOT NULL,
  path      text   COLLATE "C" NOT NULL,
  files     bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  PRIMARY KEY (repo_type, namespace, name, day, path)
);

-- Download sessions and files per client family (bots as family 'bot').
CREATE TABLE IF NOT EXISTS hubstats.daily_clients (
  repo_type text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace text   COLLATE "C" NOT NULL,
  name      text   COLLATE "C" NOT NULL,
  day       date   NOT NULL,
  client    text   COLLATE "C" NOT NULL,
  downloads bigint NOT NULL DEFAULT 0 CHECK (downloads >= 0),
  files     bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  PRIMARY KEY (repo_type, namespace, name, day, client)
);
