-- `hubstatsd import kohakuhub` (docs/kohakuhub.md): the hub's download history before
-- hubstats counted. Past days go into hubstats.daily_downloads like folded days (so
-- /stats/recent, trending and charts show them); what the hub counted but never itemized
-- by day is a per-repo baseline added to the all-time total only.

-- The cut-over: days before it are the hub's, days from it on are hubstats'. Recorded on
-- the first import and reused by every later one, so a day is never taken from both.
CREATE TABLE IF NOT EXISTS hubstats.import_cutover (
  source      text COLLATE "C" PRIMARY KEY,
  cutover     date        NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now()
);

-- repository.downloads at import minus the sessions the hub itemized by day.
CREATE TABLE IF NOT EXISTS hubstats.import_baseline (
  repo_type text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace text   COLLATE "C" NOT NULL,
  name      text   COLLATE "C" NOT NULL,
  source    text   COLLATE "C" NOT NULL,
  downloads bigint NOT NULL CHECK (downloads >= 0),
  PRIMARY KEY (repo_type, namespace, name)
);

-- Every all-time download of a repo: its days plus its imported baseline (day NULL).
CREATE OR REPLACE VIEW hubstats.all_time_downloads AS
  SELECT repo_type, namespace, name, day, downloads FROM hubstats.daily_downloads
  UNION ALL
  SELECT repo_type, namespace, name, NULL::date, downloads FROM hubstats.import_baseline;
