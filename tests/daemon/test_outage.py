"""Redis down or PostgreSQL down: the API answers 503 with a JSON body (never hangs),
and comes back by itself when the server returns."""
import datetime
import os
import signal
import time

import pytest
import requests

from harness.ports import wait_until


@pytest.fixture
def repo(stack):
    stack.add_repo("model", "demo", "m")
    stack.download("model", "demo", "m", ip="10.9.0.1")
    wait_until(lambda: stack.get("/models/demo/m/stats").json()["downloads"] == 1, timeout=15,
               what="the download to count")
    return stack


def direct(stack, path):
    # Straight to the daemon: nginx's proxy timeouts must not hide a hang. The client
    # timeout bounds the wait; a hang fails the test.
    return requests.get(stack.daemon.url(path), timeout=5)


@pytest.mark.parametrize("path", ["/models/demo/m/stats", "/models/demo/m/stats/recent",
                                  "/api/trending"])
def test_redis_down_then_recovery(repo, path):
    s = repo
    s.redis.stop()
    r = direct(s, path)
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": "Service temporarily unavailable"}
    assert r.headers["X-Request-Id"]
    assert s.get(path).status_code == 503  # through nginx too
    s.redis.start()  # same port, empty data set
    wait_until(lambda: direct(s, path).status_code == 200, timeout=15, what="recovery")


def test_postgres_down_then_recovery(repo):
    s = repo
    s.pg.server.stop()
    try:
        # The catalog may answer from its cache for cache_ttl; after that, 503.
        wait_until(lambda: direct(s, "/models/demo/m/stats").status_code == 503, timeout=15,
                   what="503 while PostgreSQL is down")
        r = direct(s, "/models/demo/m/stats/recent")
        assert r.status_code == 503
        assert r.json() == {"detail": "Service temporarily unavailable"}
    finally:
        s.pg.server.start()
    wait_until(lambda: direct(s, "/models/demo/m/stats").status_code == 200, timeout=20,
               what="recovery")
    assert direct(s, "/models/demo/m/stats").json() == {"downloads": 1, "likes": 0}


def test_fold_once_rides_out_a_postgres_restart(repo):
    """`hubstatsd fold --once` (a cron job's fold, or an operator's) started while
    PostgreSQL is down, or slow to accept on a loaded host, waits for it rather than
    failing on the first connect, then folds everything, once."""
    s = repo
    today = datetime.datetime.now(datetime.timezone.utc).date()
    s.download("model", "demo", "m", ip="10.9.0.3")
    s.wait_counted("model", "demo", "m", today, 2)
    s.pg.server.stop()
    try:
        fold = s.daemon.spawn("fold", "--once")
        # The fold has met the outage once it says it is waiting (the old build exited 1).
        wait_until(lambda: fold.poll() is not None or _said_waiting(fold), timeout=15,
                   what="fold --once to meet the outage")
        assert fold.poll() is None, fold.communicate()[0]
    finally:
        s.pg.server.start()
    out = fold.communicate(timeout=60)[0]
    assert fold.returncode == 0, out
    rows = s.pg.rows("SELECT coalesce(sum(downloads), 0) FROM hubstats.daily_downloads")
    assert int(rows[0][0]) == 2, out
    assert direct(s, "/models/demo/m/stats").json() == {"downloads": 2, "likes": 0}


def _said_waiting(proc):
    """True once the process has written its "waiting for the databases" warning."""
    line = proc.stdout.readline()
    return "waiting for the databases" in line


def _pg_tree(pid):
    """The postmaster and its children (backends, background workers)."""
    out = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def test_postgres_hung_answers_503_within_2s_then_recovers(repo):
    """PostgreSQL stops answering (every process SIGSTOPped, connections stay open):
    a read that needs it answers 503 within about 2 s (statement and connect timeouts)
    instead of hanging — or, for /stats, the exact total when the folded part is cached
    under the repo's current fold epoch (still a correct answer) — and serves again by
    itself when PostgreSQL resumes. Counts recorded meanwhile wait in Redis."""
    s = repo
    today = datetime.datetime.now(datetime.timezone.utc).date()
    procs = _pg_tree(s.pg.server.pid)
    for p in procs:
        os.kill(p, signal.SIGSTOP)
    try:
        s.download("model", "demo", "m", ip="10.9.0.2")  # counted while PostgreSQL hangs
        s.wait_counted("model", "demo", "m", today, 2)
        for path in ("/models/demo/m/stats/recent", "/models/demo/m/stats"):
            t0 = time.monotonic()
            r = direct(s, path)
            took = time.monotonic() - t0
            assert took < 2.6, (path, took)
            if r.status_code == 200 and path.endswith("/stats"):
                assert r.json()["downloads"] == 2, r.text
            else:
                assert r.status_code == 503, (path, r.status_code, r.text)
    finally:
        for p in procs:
            os.kill(p, signal.SIGCONT)
    wait_until(lambda: direct(s, "/models/demo/m/stats").json().get("downloads") == 2,
               timeout=30, what="recovery with both downloads")
