// The SQL of the fold's commit step (fold/steps.cpp): counters with their ledger row,
// then per-file and per-client counts of the generations that statement applied.
#pragma once

namespace hubstatsd::fold_sql {

// Applies a batch of generations in one statement: a generation's counts are added
// only when its ledger row is inserted by this statement, so replays add nothing.
// Concurrent commits of the same generation serialize on the ledger's primary key.
// A batch holds each (repo, day) once, in one global order (fold_items sorts), so
// two daemons lock rows in the same order. Returns each changed row (absolute counts)
// with the generation this statement applied to it (one per repo-day in a batch).
inline constexpr const char* kCommitSql = R"sql(
WITH applied AS (
  INSERT INTO hubstats.fold_ledger
    (repo_type, namespace, name, day, gen, downloads, authenticated, anonymous, files, bots)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                       $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
  ON CONFLICT DO NOTHING
  RETURNING repo_type, namespace, name, day, gen, downloads, authenticated, anonymous, files,
            bots
), changed AS (
  INSERT INTO hubstats.daily_downloads AS d
    (repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots)
  SELECT repo_type, namespace, name, day, downloads, authenticated, anonymous, files, bots
  FROM applied
  ON CONFLICT (repo_type, namespace, name, day) DO UPDATE SET
    downloads = d.downloads + EXCLUDED.downloads,
    authenticated = d.authenticated + EXCLUDED.authenticated,
    anonymous = d.anonymous + EXCLUDED.anonymous,
    files = d.files + EXCLUDED.files,
    bots = d.bots + EXCLUDED.bots
  RETURNING repo_type, namespace, name, day, downloads
)
SELECT c.repo_type, c.namespace, c.name, c.day::text, c.downloads, a.gen
FROM changed c JOIN applied a USING (repo_type, namespace, name, day)
)sql";

// Per-file counts of the generations the counters statement just applied (same
// transaction: its row locks on daily_downloads serialize commits of a repo-day, and
// this statement's snapshot, taken after them, sees every path committed before).
// A path the repo-day already has, or a special one, adds to its row; new paths are
// admitted, most files first (then by path), while the repo-day has fewer than $7
// ordinary paths; the rest add to (other).
inline constexpr const char* kPathsSql = R"sql(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                       $6::bigint[]) AS i(repo_type, namespace, name, day, path, files)
), special AS (
  SELECT i.*, i.path IN ('(git)', '(lfs)', '(other)') OR EXISTS (
      SELECT 1 FROM hubstats.daily_paths p
      WHERE (p.repo_type, p.namespace, p.name, p.day, p.path) =
            (i.repo_type, i.namespace, i.name, i.day, i.path)) AS known
  FROM input i
), held AS (
  -- Only repo-days with a path new to them need the count (most folds bring none).
  SELECT p.repo_type, p.namespace, p.name, p.day, count(*) AS n
  FROM hubstats.daily_paths p
  JOIN (SELECT DISTINCT repo_type, namespace, name, day FROM special WHERE NOT known) k
    USING (repo_type, namespace, name, day)
  WHERE p.path NOT IN ('(git)', '(lfs)', '(other)')
  GROUP BY 1, 2, 3, 4
), ranked AS (
  SELECT s.*, CASE WHEN s.known THEN 0 ELSE row_number() OVER (
      PARTITION BY s.repo_type, s.namespace, s.name, s.day, s.known
      ORDER BY s.files DESC, s.path) END AS rank
  FROM special s
)
INSERT INTO hubstats.daily_paths AS d (repo_type, namespace, name, day, path, files)
SELECT r.repo_type, r.namespace, r.name, r.day,
       CASE WHEN r.known OR coalesce(h.n, 0) + r.rank <= $7 THEN r.path ELSE '(other)' END,
       sum(r.files)
FROM ranked r LEFT JOIN held h USING (repo_type, namespace, name, day)
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (repo_type, namespace, name, day, path) DO UPDATE SET files = d.files + EXCLUDED.files
)sql";

// Per-client counts of the generations the counters statement just applied.
inline constexpr const char* kClientsSql = R"sql(
INSERT INTO hubstats.daily_clients AS d (repo_type, namespace, name, day, client, downloads, files)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[],
                     $6::bigint[], $7::bigint[])
ON CONFLICT (repo_type, namespace, name, day, client) DO UPDATE SET
  downloads = d.downloads + EXCLUDED.downloads, files = d.files + EXCLUDED.files
)sql";

}  // namespace hubstatsd::fold_sql
