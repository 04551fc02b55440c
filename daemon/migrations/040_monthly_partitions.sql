-- Issue 13: the per-day tables partitioned by month (declarative RANGE partitioning on
-- `day`), so a query over a period touches only its months' partitions, each month's
-- indexes stay small, and a month can be dropped whole. daily_downloads, daily_paths
-- and daily_clients are rebuilt as partitioned tables with the same columns, keys and
-- indexes; every existing row is copied (docs/database.md, "Partitions").
--
-- Partitions are created ahead of the rows: this migration creates one for every month
-- that has data plus the current and the next month; the fold calls
-- hubstats.ensure_partitions() for the months of each batch it has not seen before; the
-- hourly upkeep calls hubstats.settle_default_partitions(). A DEFAULT partition per
-- table is the safety net: a row for a month without a partition (another writer, e.g.
-- an import) still lands, and settling later moves it into its month's partition.

-- The month partition `<table>_YYYY_MM` of one table, created (and filled with that
-- month's rows from the DEFAULT partition) if missing. Serialized per table by a lock
-- on it held to the end of the transaction, so daemons racing for a new month create it
-- once.
-- Returns true when it created the partition.
CREATE FUNCTION hubstats.ensure_month_partition(tbl text, month date) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  first date := date_trunc('month', month)::date;
  next  date := (date_trunc('month', month) + interval '1 month')::date;
  part  text := tbl || '_' || to_char(first, 'YYYY_MM');
BEGIN
  IF tbl NOT IN ('daily_downloads', 'daily_paths', 'daily_clients') THEN
    RAISE EXCEPTION 'ensure_month_partition: not a partitioned day table: %', tbl;
  END IF;
  IF to_regclass(format('hubstats.%I', part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- Self-conflicting, and compatible with reads and writes. A relation lock (unlike an
  -- advisory lock) makes this backend process catalog invalidations, so the check below
  -- sees a partition another transaction created while we waited.
  EXECUTE format('LOCK TABLE hubstats.%I IN SHARE UPDATE EXCLUSIVE MODE', tbl);
  IF to_regclass(format('hubstats.%I', part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- A standalone table first: the month's rows leave the DEFAULT partition for it, then
  -- it is attached (which builds the parent's indexes on it and checks that the DEFAULT
  -- partition holds no row of the month any more).
  EXECUTE format('CREATE TABLE hubstats.%I (LIKE hubstats.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                 part, tbl);
  EXECUTE format('WITH moved AS (DELETE FROM hubstats.%I WHERE day >= $1 AND day < $2 RETURNING *) '
                 'INSERT INTO hubstats.%I SELECT * FROM moved', tbl || '_default', part)
    USING first, next;
  -- Lets ATTACH skip scanning the new table for rows outside the range.
  EXECUTE format('ALTER TABLE hubstats.%I ADD CONSTRAINT %I CHECK (day >= %L AND day < %L)',
                 part, part || '_range', first, next);
  EXECUTE format('ALTER TABLE hubstats.%I ATTACH PARTITION hubstats.%I FOR VALUES FROM (%L) TO (%L)',
                 tbl, part, first, next);
  EXECUTE format('ALTER TABLE hubstats.%I DROP CONSTRAINT %I', part, part || '_range');
  RETURN true;
END
$fn$;

-- Partitions of every day table for the months of `days`. Returns how many it created.
CREATE FUNCTION hubstats.ensure_partitions(days date[]) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  m date;
  t text;
  created integer := 0;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', d)::date FROM unnest(days) AS u(d)
           WHERE d IS NOT NULL ORDER BY 1 LOOP
    FOREACH t IN ARRAY ARRAY['daily_downloads', 'daily_paths', 'daily_clients'] LOOP
      IF hubstats.ensure_month_partition(t, m) THEN
        created := created + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN created;
END
$fn$;

-- Moves every row that landed in a DEFAULT partition into its month's partition
-- (created), plus the partitions of the current and the next month. Returns how many
-- partitions it created.
CREATE FUNCTION hubstats.settle_default_partitions() RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  months date[];
BEGIN
  SELECT array_agg(DISTINCT date_trunc('month', day)::date) INTO months FROM (
    SELECT day FROM hubstats.daily_downloads_default
    UNION SELECT day FROM hubstats.daily_paths_default
    UNION SELECT day FROM hubstats.daily_clients_default) s;
  RETURN hubstats.ensure_partitions(coalesce(months, '{}') ||
    ARRAY[current_date, (current_date + interval '1 month')::date]);
END
$fn$;

-- The old tables make way (their index names are reused by the new ones).
DROP VIEW hubstats.all_time_downloads;
ALTER TABLE hubstats.daily_downloads RENAME TO daily_downloads_unpartitioned;
ALTER TABLE hubstats.daily_downloads_unpartitioned DROP CONSTRAINT daily_downloads_pkey;
DROP INDEX hubstats.daily_downloads_type_day;
ALTER TABLE hubstats.daily_paths RENAME TO daily_paths_unpartitioned;
ALTER TABLE hubstats.daily_paths_unpartitioned DROP CONSTRAINT daily_paths_pkey;
ALTER TABLE hubstats.daily_clients RENAME TO daily_clients_unpartitioned;
ALTER TABLE hubstats.daily_clients_unpartitioned DROP CONSTRAINT daily_clients_pkey;

CREATE TABLE hubstats.daily_downloads (
  repo_type     text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace     text   COLLATE "C" NOT NULL,
  name          text   COLLATE "C" NOT NULL,
  day           date   NOT NULL,
  downloads     bigint NOT NULL DEFAULT 0 CHECK (downloads >= 0),
  authenticated bigint NOT NULL DEFAULT 0 CHECK (authenticated >= 0),
  anonymous     bigint NOT NULL DEFAULT 0 CHECK (anonymous >= 0),
  files         bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  bots          bigint NOT NULL DEFAULT 0 CHECK (bots >= 0),
  PRIMARY KEY (repo_type, namespace, name, day)
) PARTITION BY RANGE (day);
CREATE INDEX daily_downloads_type_day
  ON hubstats.daily_downloads (repo_type, day) INCLUDE (namespace, name, downloads);

CREATE TABLE hubstats.daily_paths (
  repo_type text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace text   COLLATE "C" NOT NULL,
  name      text   COLLATE "C" NOT NULL,
  day       date   NOT NULL,
  path      text   COLLATE "C" NOT NULL,
  files     bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  PRIMARY KEY (repo_type, namespace, name, day, path)
) PARTITION BY RANGE (day);

CREATE TABLE hubstats.daily_clients (
  repo_type text   COLLATE "C" NOT NULL CHECK (repo_type IN ('model', 'dataset', 'space')),
  namespace text   COLLATE "C" NOT NULL,
  name      text   COLLATE "C" NOT NULL,
  day       date   NOT NULL,
  client    text   COLLATE "C" NOT NULL,
  downloads bigint NOT NULL DEFAULT 0 CHECK (downloads >= 0),
  files     bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  PRIMARY KEY (repo_type, namespace, name, day, client)
) PARTITION BY RANGE (day);

CREATE TABLE hubstats.daily_downloads_default PARTITION OF hubstats.daily_downloads DEFAULT;
CREATE TABLE hubstats.daily_paths_default PARTITION OF hubstats.daily_paths DEFAULT;
CREATE TABLE hubstats.daily_clients_default PARTITION OF hubstats.daily_clients DEFAULT;

-- Partitions for every month with data, then the rows, in key order.
SELECT hubstats.ensure_partitions(array_agg(DISTINCT date_trunc('month', day)::date))
FROM (SELECT day FROM hubstats.daily_downloads_unpartitioned
      UNION SELECT day FROM hubstats.daily_paths_unpartitioned
      UNION SELECT day FROM hubstats.daily_clients_unpartitioned) s;
SELECT hubstats.settle_default_partitions();

INSERT INTO hubstats.daily_downloads
  (repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots)
SELECT repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots
FROM hubstats.daily_downloads_unpartitioned ORDER BY day, repo_type, namespace, name;
INSERT INTO hubstats.daily_paths (repo_type, namespace, name, day, path, files)
SELECT repo_type, namespace, name, day, path, files
FROM hubstats.daily_paths_unpartitioned ORDER BY day, repo_type, namespace, name, path;
INSERT INTO hubstats.daily_clients (repo_type, namespace, name, day, client, downloads, files)
SELECT repo_type, namespace, name, day, client, downloads, files
FROM hubstats.daily_clients_unpartitioned ORDER BY day, repo_type, namespace, name, client;

DROP TABLE hubstats.daily_downloads_unpartitioned;
DROP TABLE hubstats.daily_paths_unpartitioned;
DROP TABLE hubstats.daily_clients_unpartitioned;

-- As in 025_kohakuhub_import.sql, over the new table.
CREATE VIEW hubstats.all_time_downloads AS
  SELECT repo_type, namespace, name, day, downloads FROM hubstats.daily_downloads
  UNION ALL
  SELECT repo_type, namespace, name, NULL::date, downloads FROM hubstats.import_baseline;
