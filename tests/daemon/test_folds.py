"""Folding with the real hubstatsd binary: several processes folding the same days at
once, and folds SIGKILLed at random points then restarted, give exactly the counts
driven through nginx (nothing lost, nothing counted twice)."""
import datetime
import random
import signal
import subprocess
import time

import pytest
import requests

from harness.daemon import DAEMON

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
DAYS = [TODAY - datetime.timedelta(days=n) for n in (3, 2, 1)]
REPOS = 120


@pytest.fixture
def past_workload(stack):
    """Repo r{i} gets (i % 3) + 1 sessions of one file each on each of three past days.
    Returns the expected daily rows {(name, day iso): downloads}."""
    s = stack
    for i in range(REPOS):
        s.add_repo("model", "bulk", f"r{i}", files=("config.json",)) if i < 3 else \
            _files_only(s, f"r{i}")
    expected = {}
    http = requests.Session()
    for d_index, day in enumerate(DAYS):
        s.clock.set_day(day)
        for i in range(REPOS):
            n = (i % 3) + 1
            for k in range(n):
                r = http.get(s.url(f"/models/bulk/r{i}/resolve/main/config.json"),
                             headers={"X-Forwarded-For": f"10.{d_index}.{k}.{i % 250}",
                                      "User-Agent": "fold-test"}, timeout=10)
                assert r.status_code == 200
            expected[(f"r{i}", day.isoformat())] = n
    s.clock.set_day(TODAY)
    total = sum(expected.values())
    from harness.ports import wait_until
    wait_until(lambda: redis_pending_files(s) == total, timeout=30,
               what=f"{total} events in Redis")
    return expected


def _files_only(stack, name):
    d = stack.hub / "models" / "bulk" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_bytes(b"{}")


def redis_pending_files(stack) -> int:
    with stack.redis.client() as r:
        return sum(int(r.execute("HGET", k, "files") or 0)
                   for k in r.keys("hs:{model/bulk/*}:[df]:*"))


def folded(stack) -> dict:
    return {(name, day): int(dl) for name, day, dl in
            stack.pg.rows("SELECT name, day, downloads FROM hubstats.daily_downloads "
                          "WHERE namespace = 'bulk'")}


def fold_proc(stack):
    return subprocess.Popen([str(DAEMON), "fold", "--once", "-c", str(stack.daemon.config_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**__import__("os").environ, **stack.clock.env()})


def no_past_keys_left(stack) -> bool:
    with stack.redis.client() as r:
        keys = r.keys("hs:{model/bulk/*}:[df]:*")
    return keys == []


def test_several_processes_folding_at_once_are_exact(stack, past_workload):
    # Three one-shot folds and a second daemon with a fast background fold, together.
    second = stack.new_daemon(settings={"fold": {"interval": "100ms"}}, name="second")
    try:
        procs = [fold_proc(stack) for _ in range(3)]
        for p in procs:
            out, _ = p.communicate(timeout=120)
            assert p.returncode == 0, out
        assert folded(stack) == past_workload
        assert no_past_keys_left(stack)
        assert second.stop() == 0
    finally:
        second.kill()
    # Served by both the first daemon and through nginx.
    assert stack.get("/models/bulk/r2/stats").json()["downloads"] == 3 * 3
    assert stack.get("/models/bulk/r1/stats").json()["downloads"] == 2 * 3


def test_folds_killed_at_random_points_then_restarted_are_exact(stack, past_workload):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    for _ in range(6):
        p = fold_proc(stack)
        time.sleep(rng.uniform(0.0, 0.4))  # a random kill point, not a wait for a condition
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
        # The serving daemon's lazy fold may race with the killed one: read one repo.
        assert stack.get(f"/models/bulk/r{rng.randrange(3)}/stats").status_code == 200
    final = fold_proc(stack)
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, out
    assert folded(stack) == past_workload, f"seed {seed}"
    assert no_past_keys_left(stack)
    assert stack.get("/models/bulk/r2/stats").json()["downloads"] == 9


def test_serving_daemon_sigkilled_and_restarted_keeps_exact_totals(stack, past_workload):
    s = stack
    # Reads fold lazily; kill the daemon right after a burst of them, restart, check.
    for i in range(3):
        requests.get(s.daemon.url(f"/models/bulk/r{i}/stats"), timeout=10)
    s.daemon.kill()
    s.daemon.start()
    assert s.daemon.command("fold", "--once").returncode == 0
    assert folded(s) == past_workload
    assert [s.get(f"/models/bulk/r{i}/stats").json()["downloads"] for i in range(3)] == [3, 6, 9]
