"""`hubstatsd import kohakuhub`: the hub's download history (dailyrepostats, downloadsession
for days the hub has not aggregated yet, and repository.downloads) copied into hubstats'
tables, against a real PostgreSQL database laid out like KohakuHub's, read as a role that
may only SELECT.

The hub here: alice/public-model has repository.downloads = 100, dailyrepostats rows for
the 7 days before today and a live row for today, and one older day that only exists as
downloadsession rows. hubstats counted 5 downloads today (the cut-over day)."""
import re
import subprocess
import time
from pathlib import Path

import pytest

from catalog.conftest import start_builtin
from catalog.services import ADMIN_TOKEN, HUBSTATSD, Client, Hubstatsd, add_redis_downloads
from catalog.test_kohakuhub import KOHAKUHUB_SCHEMA
from harness.ports import wait_until

SOURCE = Path(__file__).resolve().parents[2]

HISTORY_SCHEMA = """
CREATE TABLE downloadsession (
  id serial PRIMARY KEY, repository_id integer NOT NULL REFERENCES repository (id),
  user_id integer REFERENCES "user" (id), session_id varchar(255) NOT NULL,
  time_bucket integer NOT NULL, file_count integer NOT NULL DEFAULT 1,
  first_file varchar(255) NOT NULL, first_download_at timestamp NOT NULL,
  last_download_at timestamp NOT NULL);
CREATE UNIQUE INDEX downloadsession_repository_id_session_id_time_bucket
  ON downloadsession (repository_id, session_id, time_bucket);
CREATE TABLE dailyrepostats (
  id serial PRIMARY KEY, repository_id integer NOT NULL REFERENCES repository (id),
  date date NOT NULL, download_sessions integer NOT NULL DEFAULT 0,
  authenticated_downloads integer NOT NULL DEFAULT 0,
  anonymous_downloads integer NOT NULL DEFAULT 0, total_files integer NOT NULL DEFAULT 0,
  created_at timestamp NOT NULL);
CREATE UNIQUE INDEX dailyrepostats_repository_id_date ON dailyrepostats (repository_id, date);
"""

# Days before today (UTC) -> (sessions, authenticated, anonymous, files) in dailyrepostats.
DAILY = {7: (3, 1, 2, 9), 6: (4, 0, 4, 4), 5: (5, 2, 3, 11), 4: (6, 6, 0, 6),
         3: (7, 1, 6, 20), 2: (8, 3, 5, 8), 1: (9, 4, 5, 30)}
TODAY_HUB = (2, 1, 1, 2)   # the hub's live row for today: hubstats' day, never imported
SESSION_DAY = 9            # only downloadsession rows: 3 sessions, one authenticated, 5 files
HUB_DOWNLOADS = 100        # repository.downloads (all-time, live)
HUBSTATS_TODAY = 5


def hub_data():
    rows = [f"""
INSERT INTO "user" (username) VALUES ('alice'), ('bob');
INSERT INTO repository (repo_type, namespace, name, full_id, private, downloads) VALUES
  ('model', 'alice', 'public-model', 'alice/public-model', false, {HUB_DOWNLOADS}),
  ('dataset', 'alice', 'quiet-data', 'alice/quiet-data', false, 0),
  ('model', 'alice', 'bad name', 'alice/bad name', false, 3);"""]
    for ago, (dl, au, an, fi) in list(DAILY.items()) + [(0, TODAY_HUB)]:
        rows.append(f"INSERT INTO dailyrepostats (repository_id, date, download_sessions, "
                    f"authenticated_downloads, anonymous_downloads, total_files, created_at) "
                    f"VALUES (1, (now() AT TIME ZONE 'UTC')::date - {ago}, {dl}, {au}, {an}, "
                    f"{fi}, now());")
    # Written as the hub writes them: an aware UTC datetime into a timestamp column.
    for i, (user, files) in enumerate([(1, 1), ("NULL", 3), ("NULL", 1)]):
        rows.append(f"INSERT INTO downloadsession (repository_id, user_id, session_id, "
                    f"time_bucket, file_count, first_file, first_download_at, last_download_at) "
                    f"VALUES (1, {user}, 's{i}', {i}, {files}, 'config.json', "
                    f"date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
                    f"- interval '{SESSION_DAY} days' + interval '{i + 1} hours', now());")
    return "\n".join(rows)


def itemized_before_today():
    return sum(v[0] for v in DAILY.values()) + 3


@pytest.fixture(scope="module")
def hist(pg):
    db = "kohakuhub_hist"
    pg.query(f"CREATE DATABASE {db}", db="postgres")
    # A hub in a non-UTC zone: session times must still land on their UTC day.
    pg.query(f"ALTER DATABASE {db} SET timezone TO 'America/Los_Angeles'", db="postgres")
    pg.query(KOHAKUHUB_SCHEMA + HISTORY_SCHEMA, db=db)
    pg.query(hub_data(), db=db)
    pg.query("CREATE ROLE hist_ro LOGIN", db="postgres")
    pg.query(f"GRANT CONNECT ON DATABASE {db} TO hist_ro", db="postgres")
    pg.query("GRANT USAGE ON SCHEMA public TO hist_ro; "
             "GRANT SELECT ON ALL TABLES IN SCHEMA public TO hist_ro", db=db)
    return db


@pytest.fixture(scope="module")
def stack(pg, redis_server, hist):
    pg.query("CREATE DATABASE hubstats_imp", db="postgres")
    d = Hubstatsd(pg.dsn_for("hubstats_imp"), redis_server.port,
                  "  backend: kohakuhub\n  cache_ttl: 300ms\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(hist, user='hist_ro')}\"\n    pool_size: 2\n")
    d.start()
    rc = redis_server.client()
    add_redis_downloads(rc, "model", "alice", "public-model", HUBSTATS_TODAY)
    rc.close()
    try:
        yield d
    finally:
        d.stop()


def stack_redis_port(d):
    return int(re.search(r"address: 127\.0\.0\.1:(\d+)", d.config.read_text()).group(1))


def run_import(d, *args):
    return subprocess.run([str(HUBSTATSD), "import", "kohakuhub", "-c", str(d.config), *args],
                          capture_output=True, text=True, timeout=300)


def stats(d):
    return Client(d.base).get("/api/models/alice/public-model/stats").json()["downloads"]


def recent(d, days=12):
    r = Client(d.base).get(f"/api/models/alice/public-model/stats/recent?days={days}").json()
    return [row["downloads"] for row in r["stats"]]


def imported_rows(pg):
    return pg.query("SELECT count(*) FROM hubstats.daily_downloads", db="hubstats_imp")[0][0]


def test_import_history_once(stack, pg):
    d = stack
    assert stats(d) == HUBSTATS_TODAY
    assert recent(d)[:-1] == [0] * 11

    dry = run_import(d, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    days = [l for l in lines if l.startswith("day model/alice/public-model ")]
    assert len(days) == len(DAILY) + 1, dry.stdout
    assert any(" downloads=3 authenticated=1 anonymous=2 files=5" in l for l in days)  # sessions
    baseline = HUB_DOWNLOADS - itemized_before_today() - TODAY_HUB[0]
    assert f"baseline model/alice/public-model downloads={baseline}" in lines
    assert "dry run: nothing written" in lines[-1]
    assert "skipped=1" in lines[-1]  # 'bad name' is no valid repo name
    # Nothing written: no day, no baseline, no cut-over.
    assert imported_rows(pg) == "0"
    assert pg.query("SELECT count(*) FROM hubstats.import_baseline", db="hubstats_imp") == [["0"]]
    assert pg.query("SELECT count(*) FROM hubstats.import_cutover", db="hubstats_imp") == [["0"]]
    assert stats(d) == HUBSTATS_TODAY

    first = run_import(d)
    assert first.returncode == 0, first.stderr
    assert "(new)" in first.stdout and f"days_new={len(DAILY) + 1}" in first.stdout
    # All-time: the hub's count before the cut-over (today) + hubstats' count since.
    assert stats(d) == HUB_DOWNLOADS - TODAY_HUB[0] + HUBSTATS_TODAY
    want = [0, 0] + [3, 0] + [DAILY[a][0] for a in range(7, 0, -1)] + [HUBSTATS_TODAY]
    assert recent(d) == want  # today is hubstats' own count only: no day counted twice
    r = Client(d.base).get("/api/models/alice/public-model/stats/recent?days=2").json()
    assert r["stats"][0] == {"date": r["stats"][0]["date"], "downloads": 9, "authenticated": 4,
                             "anonymous": 5, "files": 30}

    again = run_import(d)
    assert again.returncode == 0, again.stderr
    assert "(recorded)" in again.stdout
    assert "days_new=0 baselines_new=0" in again.stdout, again.stdout
    assert stats(d) == HUB_DOWNLOADS - TODAY_HUB[0] + HUBSTATS_TODAY
    assert recent(d) == want

    # A daemon started after the import (docs/kohakuhub.md: restart) ranks with the history
    # and reports the same all-time total in trending.
    d2 = Hubstatsd(pg.dsn_for("hubstats_imp"), stack_redis_port(d),
                   "  backend: kohakuhub\n  kohakuhub:\n"
                   f"    dsn: \"{pg.dsn_for('kohakuhub_hist', user='hist_ro')}\"\n")
    d2.start()
    try:
        def entry():
            r = Client(d2.base).get("/api/trending?days=7&repo_type=model").json()["trending"]
            return next((e for e in r if e["id"] == "alice/public-model"), None)
        e = wait_until(entry, timeout=10, what="trending index loaded")
        assert e["downloads"] == HUB_DOWNLOADS - TODAY_HUB[0] + HUBSTATS_TODAY
        assert e["recent_downloads"] == sum(DAILY[a][0] for a in range(6, 0, -1)) + HUBSTATS_TODAY
    finally:
        d2.stop()


def test_cutover_cannot_move(stack):
    r = run_import(stack, "--cutover", "2020-01-01")
    assert r.returncode == 1
    assert "an earlier import recorded the cut-over" in r.stderr


def test_cutover_after_hubstats_first_day_is_refused(pg, redis_server, hist):
    pg.query("CREATE DATABASE hubstats_imp2", db="postgres")
    d = Hubstatsd(pg.dsn_for("hubstats_imp2"), redis_server.port,
                  "  backend: kohakuhub\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(hist, user='hist_ro')}\"\n")
    d.start()
    try:
        # hubstats has counted since three days ago (a folded row).
        pg.query("INSERT INTO hubstats.daily_downloads (repo_type, namespace, name, day, "
                 "downloads) VALUES ('model', 'alice', 'public-model', "
                 "(now() AT TIME ZONE 'UTC')::date - 3, 1)", db="hubstats_imp2")
        late = run_import(d, "--cutover", time.strftime("%Y-%m-%d", time.gmtime()))
        assert late.returncode == 1
        assert "would count those days twice" in late.stderr
        ok = run_import(d)
        assert ok.returncode == 0, ok.stderr
        # Default cut-over: hubstats' first day; the hub's days 3..1 are not taken.
        assert f"days_new={len(DAILY) + 1 - 3}" in ok.stdout, ok.stdout
        assert pg.query("SELECT downloads FROM hubstats.daily_downloads WHERE day = "
                        "(now() AT TIME ZONE 'UTC')::date - 3", db="hubstats_imp2") == [["1"]]
    finally:
        d.stop()


def test_days_hubstats_counted_but_not_folded_stay_hubstats(pg, redis_server, hist):
    """Counts still in Redis (not folded yet) from two days ago: the default cut-over is
    that day, so the fold will not add hubstats' count to an imported day of the hub."""
    pg.query("CREATE DATABASE hubstats_imp3", db="postgres")
    d = Hubstatsd(pg.dsn_for("hubstats_imp3"), redis_server.port,
                  "  backend: kohakuhub\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(hist, user='hist_ro')}\"\n")
    rc = redis_server.client()
    day = time.strftime("%Y%m%d", time.gmtime(time.time() - 2 * 86400))
    tag = "{dataset/alice/quiet-data}"
    rc.execute("HINCRBY", f"hs:{tag}:d:{day}", "downloads", 1)
    rc.execute("SADD", f"hs:{tag}:days", day)
    try:
        r = run_import(d)
        assert r.returncode == 0, r.stderr
        cutover = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
        assert f"cutover={cutover} (new)" in r.stdout, r.stdout
        assert f"days_new={len(DAILY) + 1 - 2}" in r.stdout, r.stdout
    finally:
        rc.execute("DEL", f"hs:{tag}:d:{day}", f"hs:{tag}:days")
        rc.close()
        d.stop()


def test_tens_of_thousands_of_repos(pg, redis_server):
    """20,000 repos with 30 days of history each (600,000 rows): imported in one run,
    idempotent. The time is printed for docs/benchmarks.md (not asserted)."""
    db = "kohakuhub_big"
    pg.query(f"CREATE DATABASE {db}", db="postgres")
    pg.query(KOHAKUHUB_SCHEMA + HISTORY_SCHEMA, db=db)
    pg.query("""
      INSERT INTO "user" (username) VALUES ('owner');
      INSERT INTO repository (repo_type, namespace, name, full_id, private, downloads)
        SELECT (ARRAY['model','dataset','space'])[1 + g % 3], 'ns' || (g % 500), 'repo-' || g,
               'ns' || (g % 500) || '/repo-' || g, false, 1000
        FROM generate_series(1, 20000) g;
      INSERT INTO dailyrepostats (repository_id, date, download_sessions,
        authenticated_downloads, anonymous_downloads, total_files, created_at)
        SELECT r.id, (now() AT TIME ZONE 'UTC')::date - k, 1 + (r.id + k) % 7, 0,
               1 + (r.id + k) % 7, 2 + (r.id + k) % 7, now()
        FROM repository r, generate_series(1, 30) k;""", db=db)
    pg.query("CREATE DATABASE hubstats_big", db="postgres")
    d = Hubstatsd(pg.dsn_for("hubstats_big"), redis_server.port,
                  "  backend: kohakuhub\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(db)}\"\n")
    d.start()
    try:
        t0 = time.monotonic()
        r = run_import(d)
        elapsed = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        print(f"\nimport of 20000 repos x 30 days: {elapsed:.2f} s wall; {r.stdout.strip()}")
        assert "repos=20000 days_read=600000 days_new=600000 baselines_new=20000" in r.stdout
        expect = pg.query("SELECT sum(download_sessions) FROM dailyrepostats", db=db)[0][0]
        assert pg.query("SELECT sum(downloads) FROM hubstats.daily_downloads",
                        db="hubstats_big") == [[expect]]
        # every repo's all-time total is its repository.downloads
        got = pg.query("SELECT count(*) FROM (SELECT 1 FROM hubstats.all_time_downloads "
                       "GROUP BY repo_type, namespace, name HAVING sum(downloads) = 1000) t",
                       db="hubstats_big")
        assert got == [["20000"]]
        again = run_import(d)
        assert "days_new=0 baselines_new=0" in again.stdout, again.stdout
        ms = int(re.search(r"ms=(\d+)", r.stdout).group(1))
        assert ms > 0
    finally:
        d.stop()


def test_dev_seed_history(pg, redis_server, tmp_path):
    """scripts/dev-seed-history (run by dev-up) imports its stand-in hub's history through
    `hubstatsd import kohakuhub`: 21 past days for each public demo repo, all-time = the stand-in
    hub's repository.downloads; a second run writes nothing."""
    d = start_builtin(pg, redis_server, tmp_path, "hubstats_dev")
    try:
        admin = Client(d.base, token=ADMIN_TOKEN)
        assert admin.post("/api/admin/repos", json={"type": "model", "namespace": "demo",
                                                    "name": "tiny-model"}).status_code == 201
        script = [str(SOURCE / "scripts/dev-seed-history"), str(pg.port), str(HUBSTATSD),
                  str(d.config)]
        first = subprocess.run(script, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert "days_new=42 baselines_new=2" in first.stdout, first.stdout
        hub_total = pg.query("SELECT downloads FROM repository WHERE name = 'tiny-model'",
                             db="kohakuhub_demo")[0][0]
        assert hub_total == "897"  # tests/devup/test_devup.py counts on it
        c = Client(d.base)
        assert c.get("/api/models/demo/tiny-model/stats").json()["downloads"] == int(hub_total)
        rows = c.get("/api/models/demo/tiny-model/stats/recent?days=22").json()["stats"]
        assert all(r["downloads"] > 0 for r in rows[:-1]) and rows[-1]["downloads"] == 0
        again = subprocess.run(script, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "days_new=0 baselines_new=0" in again.stdout, again.stdout
    finally:
        d.stop()
