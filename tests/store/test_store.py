"""Store integration: the real fold and stats code (hubstatsd_lib, via
hubstats_store_driver) against real redis-server and PostgreSQL.

Events are written with the module's own Lua scripts (record + index); "today" is
pinned with --now, and every past day is explicit in the keys.
"""
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections import defaultdict

import pytest

from harness.paths import BUILD_DIR
from harness.ports import wait_until
from harness.postgres import PostgresServer
from harness.redis import RedisServer

DRIVER = BUILD_DIR / "tests" / "store" / "hubstats_store_driver"
NOW = 1736942400  # 2025-01-15 12:00:00 UTC
TODAY = "20250115"
PAST = ["20250112", "20250113", "20250114"]
ISO = lambda d: f"{d[:4]}-{d[4:6]}-{d[6:]}"  # noqa: E731

_db_counter = itertools.count()


@pytest.fixture(scope="module")
def pg_server():
    with PostgresServer(dbname="postgres_unused", start=True) as pg:
        yield pg


@pytest.fixture
def env(pg_server, tmp_path):
    """A fresh database on the shared server and a fresh redis-server."""
    db = f"store_t{next(_db_counter)}"
    pg_server.psql(f'CREATE DATABASE "{db}"', db="postgres")
    dsn = f"host=127.0.0.1 port={pg_server.port} dbname={db} user=postgres"
    rs = RedisServer(tmp_path)
    e = Env(pg_server, db, dsn, rs)
    try:
        assert e.run("migrate")["applied"], "fresh database gets migrations"
        yield e
    finally:
        e.close()


class Env:
    def __init__(self, pg, db, dsn, rs):
        self.pg, self.db, self.dsn, self.rs = pg, db, dsn, rs
        self.procs = []

    def args(self, *extra):
        return [str(DRIVER), "--redis", self.rs.address, "--pg", self.dsn, "--now", str(NOW),
                *extra]

    def run(self, *cmd, opts=(), stdin=None, expect_rc=0):
        r = subprocess.run(self.args(*opts, *cmd), input=stdin, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == expect_rc, (cmd, r.returncode, r.stdout, r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else None

    def spawn(self, *cmd, opts=()):
        p = subprocess.Popen(self.args(*opts, *cmd), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def repl(self, *opts):
        return Repl(self.spawn(opts=opts))

    def record(self, events):
        lines = "".join(f"{t} {d} {i} {a}\n" for t, d, i, a in events) + ".\n"
        return self.run("record", stdin=lines)

    def sql(self, q):
        return self.pg.rows(q.replace("$DB", self.db)) if False else self._sql(q)

    def _sql(self, q):
        out = subprocess.run(["/usr/bin/psql", "-h", "127.0.0.1", "-p", str(self.pg.port), "-U",
                              "postgres", "-d", self.db, "-tAqc", q],
                             capture_output=True, text=True, check=True).stdout.strip()
        return [line.split("|") for line in out.splitlines()] if out else []

    def daily(self):
        """{(tag, YYYYMMDD): (downloads, authenticated, anonymous, files)} from PostgreSQL."""
        rows = self._sql("SELECT repo_type, namespace, name, to_char(day, 'YYYYMMDD'), downloads, "
                         "authenticated, anonymous, files FROM hubstats.daily_downloads")
        return {(f"{r[0]}/{r[1]}/{r[2]}", r[3]): tuple(int(x) for x in r[4:]) for r in rows}

    def redis_keys(self, pattern="hs:*"):
        with self.rs.client() as c:
            return c.keys(pattern)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.rs.stop()


class Repl:
    """A long-lived driver: one command per line, one JSON answer per line."""

    def __init__(self, proc):
        self.p = proc

    def __call__(self, *cmd):
        self.p.stdin.write(" ".join(cmd) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, f"driver exited: {self.p.stderr.read()}"
        return json.loads(line)


def workload(seed, repos, days, max_users=6):
    """Random events; identities are unique per (repo, day) so the expected counts are
    simple: downloads = distinct identities, files = events."""
    rnd = random.Random(seed)
    events, expected = [], defaultdict(lambda: [0, 0, 0, 0])
    for tag in repos:
        for d in days:
            for u in range(rnd.randint(0, max_users)):
                auth = rnd.randint(0, 1)
                ident = f"{d}-{u}"
                for _ in range(rnd.randint(1, 3)):
                    events.append((tag, d, ident, auth))
                    expected[(tag, d)][3] += 1
                e = expected[(tag, d)]
                e[0] += 1
                e[1 if auth else 2] += 1
    rnd.shuffle(events)
    return events, {k: tuple(v) for k, v in expected.items()}


def past_only(expected):
    return {k: v for k, v in expected.items() if k[1] != TODAY}


def add(expected, more):
    out = dict(expected)
    for k, v in more.items():
        out[k] = tuple(a + b for a, b in zip(out.get(k, (0, 0, 0, 0)), v))
    return out


def repos(n, types=("model",)):
    return [f"{types[i % len(types)]}/ns{i % 3}/repo-{i:04d}" for i in range(n)]


def test_migrations_idempotent_and_concurrent(env, pg_server):
    assert env.run("migrate") == {"applied": []}
    # Two daemons starting at once on an empty database: the advisory lock serializes.
    db = "store_concurrent_migrate"
    pg_server.psql(f'CREATE DATABASE "{db}"', db="postgres")
    dsn = f"host=127.0.0.1 port={pg_server.port} dbname={db} user=postgres"
    procs = [subprocess.Popen([str(DRIVER), "--redis", env.rs.address, "--pg", dsn, "migrate"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    applied = [json.loads(o[0])["applied"] for o in outs]
    assert sum(len(a) for a in applied) == len(max(applied, key=len)), applied
    versions = pg_server.psql("SELECT version FROM hubstats.schema_migrations ORDER BY 1",
                              db=db).split()
    assert "1" in versions and versions == sorted(set(versions), key=int)


def test_fold_exact_and_idempotent(env):
    events, expected = workload(1, repos(30, ("model", "dataset", "space")), PAST + [TODAY])
    env.record(events)
    first = env.run("fold-once")
    assert env.daily() == past_only(expected)
    assert first["applied"] == len(past_only(expected))
    # Past days are gone from Redis; today stays.
    assert not [k for k in env.redis_keys() if any(f":{d}" in k for d in PAST)
                and (":d:" in k or ":f:" in k or "idx" in k)]
    assert env.redis_keys(f"hs:idx:{TODAY}")
    second = env.run("fold-once")
    assert second["applied"] == 0 and second["taken"] == 0
    assert env.daily() == past_only(expected)


def test_lazy_fold_on_read_and_serving_after_keys_gone(env):
    events, expected = workload(2, repos(5), PAST + [TODAY])
    env.record(events)
    tag = "model/ns0/repo-0000"
    want_total = sum(v[0] for (t, _), v in expected.items() if t == tag)
    assert env.run("total", tag)["total"] == want_total
    # The read folded this repo's past days, and only this repo's.
    folded = env.daily()
    assert {k for k in folded} == {k for k in past_only(expected) if k[0] == tag}
    assert not env.redis_keys(f"hs:{{{tag}}}:d:2025011[234]")
    stats = env.run("recent", tag, "5")["stats"]
    assert [s["date"] for s in stats] == ["2025-01-11"] + [ISO(d) for d in PAST] + [ISO(TODAY)]
    for s in stats:
        d = s["date"].replace("-", "")
        assert (s["downloads"], s["authenticated"], s["anonymous"], s["files"]) == \
            expected.get((tag, d), (0, 0, 0, 0))
    # Background fold finishes the rest; totals keep serving from PostgreSQL.
    env.run("fold-once")
    assert env.daily() == past_only(expected)
    for t in repos(5):
        assert env.run("total", t)["total"] == sum(
            v[0] for (x, _), v in expected.items() if x == t)


@pytest.mark.parametrize("step", ["take", "commit", "finish"])
def test_crash_after_each_step_then_resume(env, step):
    events, expected = workload(3, repos(12), PAST + [TODAY])
    env.record(events)
    env.run("fold-once", opts=("--crash-after", step, "--batch", "5"), expect_rc=42)
    # Whatever the crash left behind, reads count every session exactly once.
    for t in repos(12)[:4]:
        assert env.run("total", t)["total"] == sum(
            v[0] for (x, _), v in expected.items() if x == t), (step, t)
    env.run("fold-once")
    assert env.daily() == past_only(expected)
    assert not env.redis_keys("hs:*:f:*")


def test_late_events_after_take_fold_as_new_generation(env):
    tags = repos(6)
    events, expected = workload(4, tags, PAST)
    env.record(events)
    env.run("fold-once", opts=("--crash-after", "take"), expect_rc=42)
    assert env.redis_keys("hs:*:f:*"), "take moved day hashes aside"
    late, late_expected = workload(5, tags, PAST)
    late = [(t, d, "late-" + i, a) for t, d, i, a in late]
    env.record(late)
    env.run("fold-once")
    assert env.daily() == add(expected, late_expected)
    assert not env.redis_keys("hs:*:f:*") and not env.redis_keys("hs:*:d:*")


def test_two_folders_at_once_exact(env):
    events, expected = workload(6, repos(300, ("model", "dataset")), PAST)
    env.record(events)
    procs = [env.spawn("fold-loop", "2", opts=("--batch", "16")) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert env.daily() == expected


def test_sigkill_at_random_points_then_restart_exact(env):
    tags = repos(150, ("model", "space"))
    events, expected = workload(7, tags, PAST)
    env.record(events)
    rnd = random.Random(8)
    for round_ in range(8):
        p = env.spawn("fold-loop", "3", opts=("--batch", str(rnd.choice([3, 7, 20]))))
        time.sleep(rnd.uniform(0.0, 0.12))
        p.send_signal(signal.SIGKILL)
        p.wait()
        # New events for past days keep arriving between crashes (late queue flushes).
        more, more_expected = workload(100 + round_, rnd.sample(tags, 5), PAST, max_users=2)
        env.record([(t, d, f"r{round_}-{i}", a) for t, d, i, a in more])
        expected = add(expected, more_expected)
    env.run("fold-once")
    assert env.daily() == expected
    assert not env.redis_keys("hs:*:f:*")


def test_redis_down_is_unavailable_then_recovers(env):
    tag = "model/ns0/r"
    env.record([(tag, PAST[0], "u1", 1), (tag, TODAY, "u2", 0)])
    repl = env.repl()
    assert repl("total", tag) == {"total": 2}
    env.rs.stop()
    r = repl("total", tag)
    assert r["error"] == "unavailable", r
    assert repl("fold-once")["error"] == "unavailable"
    env.rs.start()  # same port, empty data set; PostgreSQL still has the folded day
    assert wait_until(lambda: repl("total", tag).get("total") == 1, timeout=15,
                      what="redis recovery")


def test_postgres_down_is_unavailable_then_recovers(env, pg_server):
    tag = "model/ns0/r"
    env.record([(tag, PAST[0], "u1", 1), (tag, TODAY, "u2", 0)])
    repl = env.repl()
    assert repl("total", tag) == {"total": 2}
    pg_server.stop()
    try:
        assert repl("recent", tag, "3")["error"] == "unavailable"
        # The folded total is cached, but not trusted while PostgreSQL is failing.
        r = repl("total", tag)
        assert r["error"] == "unavailable", r
    finally:
        pg_server.start()
    assert wait_until(lambda: repl("total", tag).get("total") == 2, timeout=15,
                      what="postgres recovery")


def test_trending_index_matches_sql_with_ties_and_sees_other_folds(env):
    # Ties on purpose: equal recent counts broken by all-time downloads, then by id.
    ev = []
    for name, old, recent in [("b", 5, 3), ("a", 5, 3), ("c", 9, 3), ("d", 0, 7), ("e", 2, 0)]:
        tag = f"model/ns/{name}"
        ev += [(tag, "20241201", f"o{i}", 0) for i in range(old)]
        ev += [(tag, PAST[-1], f"n{i}", 1) for i in range(recent)]
    ev += [("model/ns/today-only", TODAY, "t1", 0), ("model/ns/a", TODAY, "t1", 0)]
    ev += [("dataset/ns/x", PAST[-1], "n1", 0)]
    env.record(ev)
    # 20241201 is outside the background fold's retention: fold it lazily.
    for name in "abcde":
        env.run("fold-repo", f"model/ns/{name}")
    env.run("fold-once")
    repl = env.repl()
    sql = repl("trending-sql", "model", "7", "10")["trending"]
    assert [t["id"] for t in sql] == ["ns/d", "ns/a", "ns/c", "ns/b", "ns/today-only"]
    assert sql[1] == {"id": "ns/a", "type": "model", "recent_downloads": 4, "downloads": 9}
    assert repl("load-index") == {"loaded": True}
    for days, limit in [(1, 10), (2, 10), (7, 10), (7, 2), (90, 100)]:
        idx = repl("trending", "model", str(days), str(limit))
        assert idx["index"] is True
        assert idx["trending"] == repl("trending-sql", "model", str(days), str(limit))["trending"]
    assert [t["id"] for t in repl("trending", "dataset", "7", "5")["trending"]] == ["ns/x"]
    # Another daemon folds new counts; the refresher brings them into this index.
    repl("start-index")
    env.record([("model/ns/e", PAST[-1], f"z{i}", 0) for i in range(20)])
    env.run("fold-once")

    def caught_up():
        a = repl("trending", "model", "7", "10")["trending"]
        return a[0]["id"] == "ns/e" and a == repl("trending-sql", "model", "7", "10")["trending"]
    wait_until(caught_up, timeout=15, what="trending index refresh")


def test_imported_baseline_counts_in_every_all_time_total(env):
    """`hubstatsd import kohakuhub` leaves a per-repo baseline (hubstats.import_baseline):
    the all-time total of /stats, the SQL trending and the trending index all add it."""
    tag = "model/ns/hub"
    env.record([(tag, PAST[-1], f"n{i}", 0) for i in range(3)] +
               [("model/ns/other", PAST[-1], f"o{i}", 0) for i in range(3)])
    env.run("fold-once")
    env.sql("INSERT INTO hubstats.import_baseline (repo_type, namespace, name, source, downloads) "
            "VALUES ('model', 'ns', 'hub', 'kohakuhub', 100)")
    repl = env.repl()
    assert repl("total", tag)["total"] == 103
    sql = repl("trending-sql", "model", "7", "10")["trending"]
    assert [(t["id"], t["downloads"]) for t in sql] == [("ns/hub", 103), ("ns/other", 3)]
    assert repl("load-index") == {"loaded": True}
    idx = repl("trending", "model", "7", "10")
    assert idx["index"] is True and idx["trending"] == sql


def test_cached_total_follows_folds_of_other_processes(env):
    tag = "model/ns0/cached"
    env.record([(tag, PAST[0], f"a{i}", 0) for i in range(3)] + [(tag, TODAY, "t", 1)])
    repl = env.repl()
    assert repl("total", tag) == {"total": 4}  # lazy fold, then the folded total is cached
    assert repl("total", tag) == {"total": 4}
    # Another daemon folds new counts of a past day: the very next read must see them.
    env.record([(tag, PAST[1], f"b{i}", 0) for i in range(5)])
    env.run("fold-once")
    assert env.redis_keys(f"hs:{{{tag}}}:d:{PAST[1]}") == []
    assert repl("total", tag) == {"total": 9}
    env.record([(tag, PAST[2], "c", 0)])
    env.run("fold-repo", tag)
    assert repl("total", tag) == {"total": 10}


def test_background_fold_waits_for_yesterday_to_settle(env):
    tag = "model/ns0/settle"
    env.record([(tag, "20250113", "a", 0), (tag, "20250114", "b", 0), (tag, "20250115", "c", 0)])
    just_after_midnight = 1736899200 + 60  # 2025-01-15 00:01 UTC
    env.run("fold-once", opts=("--now", str(just_after_midnight)))
    # The day before yesterday is folded; yesterday waits (late flushes from the module).
    assert set(env.daily()) == {(tag, "20250113")}
    assert env.redis_keys("hs:idx:20250114") == ["hs:idx:20250114"]
    # A read folds it at once anyway.
    assert env.run("total", tag, opts=("--now", str(just_after_midnight))) == {"total": 3}
    assert set(env.daily()) == {(tag, "20250113"), (tag, "20250114")}
