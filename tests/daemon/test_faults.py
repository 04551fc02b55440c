"""Faults of Redis under load, end to end (real nginx + module, redis-server, PostgreSQL,
hubstatsd with its continuous fold): the ground truth is every download nginx served
(200) to the load generator, each by a new identity, so each is one session.

- Redis SIGKILLed and restarted from its AOF (appendonly yes, appendfsync everysec):
  nothing is counted twice and the loss stays within what everysec may lose.
- Redis replaced by an empty server: nothing older than one fold interval (plus the
  fsync lag the fold waits before committing) is lost, and the all-time total never
  falls below what PostgreSQL already had.
- A download that spans midnight, logged after its day was folded: counted once.
- Full disks, for real (a small tmpfs filled under load): Redis's (its AOF; Redis
  answers -MISCONF) and PostgreSQL's (commits fail): nothing lost, nothing doubled.
"""
import datetime
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from harness.ports import wait_until
from harness.postgres import PostgresServer
from harness.redis import RedisError, RedisServer
from harness.small_disk import fill, small_disk
from stack import Stack

FOLD_INTERVAL_S = 1.0


class Load:
    """Downloads through nginx in a thread, each from a new client address (a new
    identity, so one session each); remembers when each one completed."""

    def __init__(self, stack, type_, ns, name):
        self.s, self.path = stack, f"/{type_}s/{ns}/{name}/resolve/main/config.json"
        self.done = []  # monotonic completion times of the 200s
        self.stop_ = threading.Event()
        self.t = threading.Thread(target=self.run)

    def run(self):
        http = requests.Session()
        n = 0
        while not self.stop_.is_set():
            n += 1
            ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            try:
                r = http.get(self.s.url(self.path), timeout=10,
                             headers={"X-Forwarded-For": ip, "User-Agent": "load/1.0"})
            except requests.RequestException:
                continue
            if r.status_code == 200:
                self.done.append(time.monotonic())

    def start(self):
        self.t.start()
        return self

    def stop(self):
        self.stop_.set()
        self.t.join()

    def between(self, a, b):
        return sum(1 for t in self.done if a <= t <= b)


def settled_total(s, path):
    """Polls the daemon until the repo's total stops changing for 3 s (the module's
    resends and the folds are done)."""
    seen = {"v": None, "since": time.monotonic()}

    def stable():
        v = requests.get(s.daemon.url(path), timeout=5)
        if v.status_code != 200:
            return False
        v = v.json()["downloads"]
        if v != seen["v"]:
            seen["v"], seen["since"] = v, time.monotonic()
        return time.monotonic() - seen["since"] > 3
    wait_until(stable, timeout=60, interval=0.2, what="the total to settle")
    return seen["v"]


def folded_total(s):
    rows = s.pg.rows("SELECT coalesce(sum(downloads), 0) FROM hubstats.daily_downloads")
    return int(rows[0][0])


@pytest.fixture
def aof_stack(tmp_path, pg_db):
    rs = RedisServer(tmp_path, args=("--appendonly", "yes", "--appendfsync", "everysec"))
    s = Stack(tmp_path, rs, pg_db, daemon_settings={"fold": {"interval": "1s"}})
    s.clock.set_day(datetime.datetime.now(datetime.timezone.utc).date())
    s.start()
    try:
        yield s
    finally:
        problems = s.stop()
        rs.stop()
    assert not problems, "nginx error.log has alerts:\n" + "\n".join(problems)


def test_redis_sigkill_and_restart_from_aof_under_load(aof_stack):
    s = aof_stack
    s.add_repo("model", "load", "m")
    load = Load(s, "model", "load", "m").start()
    try:
        wait_until(lambda: len(load.done) >= 300, timeout=60, what="300 downloads")
        killed = time.monotonic()
        s.redis.kill()
        s.redis.start()  # same dir: replays the AOF
        n = len(load.done)
        wait_until(lambda: len(load.done) >= n + 300, timeout=60, what="300 more downloads")
    finally:
        load.stop()
    sent = len(load.done)
    total = settled_total(s, "/models/load/m/stats")
    # everysec: Redis fsyncs the AOF once a second, and may lag up to 2 s when the disk
    # is slow: what nginx handed to Redis in the last 2 s before the crash may be lost.
    allowed = load.between(killed - 2.0, killed)
    lost = sent - total
    print(f"aof everysec: sent {sent} counted {total} lost {lost} (allowed {allowed})")
    assert total <= sent, "counted twice"
    assert lost <= allowed, (sent, total, allowed)


def test_redis_replaced_by_an_empty_server_under_load(tmp_path, pg_db):
    rs = RedisServer(tmp_path)
    s = Stack(tmp_path, rs, pg_db, daemon_settings={"fold": {"interval": "1s",
                                                             "redis_fsync_lag": "0"}})
    s.clock.set_day(datetime.datetime.now(datetime.timezone.utc).date())
    s.start()
    try:
        s.add_repo("model", "load", "m")
        load = Load(s, "model", "load", "m").start()
        totals = []
        try:
            wait_until(lambda: len(load.done) >= 400, timeout=60, what="400 downloads")
            wait_until(lambda: folded_total(s) >= 200, timeout=30, what="folds")
            before = folded_total(s)
            replaced = time.monotonic()
            rs.kill()
            fresh = RedisServer(tmp_path, port=rs.port)  # a new, empty server
            s.redis = fresh
            n = len(load.done)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline or len(load.done) < n + 300:
                r = requests.get(s.daemon.url("/models/load/m/stats"), timeout=5)
                if r.status_code == 200:
                    totals.append(r.json()["downloads"])
                time.sleep(0.05)
        finally:
            load.stop()
        sent = len(load.done)
        total = settled_total(s, "/models/load/m/stats")
        # At most the last fold interval (and the pass in flight) before the
        # replacement is lost: those counts were only in the old Redis.
        allowed = load.between(replaced - 2 * FOLD_INTERVAL_S - 0.5, replaced)
        lost = sent - total
        print(f"empty redis: sent {sent} counted {total} lost {lost} (allowed {allowed})")
        assert total <= sent, "counted twice"
        assert lost <= allowed, (sent, total, allowed)
        # What PostgreSQL had is never taken back.
        assert min(totals) >= before, (before, min(totals))
        fresh.stop()
    finally:
        s.stop()
        s.redis.stop()


def refuses_writes(rs):
    """Whether Redis answers a write with -MISCONF (it could not write its AOF)."""
    with rs.client() as rc:
        try:
            rc.execute("SET", "hs-test:probe", "1")
        except RedisError as e:
            assert "MISCONF" in str(e), e
            return True
    return False


def test_redis_aof_on_a_full_disk_loses_and_doubles_nothing(tmp_path, pg_db):
    """Redis's disk fills up (AOF everysec on a 4 MiB tmpfs): Redis refuses every write
    with -MISCONF, the module holds the downloads (queue, then spool, on nginx's own
    disk) and the fold's takes fail and retry. Once there is room again, Redis writes
    its AOF and goes on; every download is counted exactly once, in PostgreSQL too."""
    with small_disk(tmp_path / "redis-disk", "4m") as disk:
        rs = RedisServer(disk, args=("--appendonly", "yes", "--appendfsync", "everysec"))
        s = Stack(tmp_path, rs, pg_db, daemon_settings={"fold": {"interval": "1s"}})
        s.clock.set_day(datetime.datetime.now(datetime.timezone.utc).date())
        s.start()
        try:
            s.add_repo("model", "load", "m")
            load = Load(s, "model", "load", "m").start()
            try:
                wait_until(lambda: len(load.done) >= 300, timeout=60, what="300 downloads")
                wait_until(lambda: folded_total(s) > 0, timeout=30, what="a fold")
                filler = fill(disk)
                wait_until(lambda: refuses_writes(rs), timeout=30, what="-MISCONF")
                full_at, n = len(load.done), folded_total(s)
                wait_until(lambda: len(load.done) >= full_at + 300, timeout=60,
                           what="300 downloads while the disk is full")
                assert refuses_writes(rs), "the disk must still be full"
                wait_until(lambda: "MISCONF" in s.nginx.error_log_text(), timeout=30,
                           what="the module to meet -MISCONF")
                # Nothing Redis could not persist reached PostgreSQL meanwhile.
                assert folded_total(s) <= full_at, (folded_total(s), full_at, n)
                filler.unlink()
                wait_until(lambda: not refuses_writes(rs), timeout=30, what="Redis to write again")
                back = len(load.done)
                wait_until(lambda: len(load.done) >= back + 100, timeout=60,
                           what="100 more downloads")
            finally:
                load.stop()
            sent = len(load.done)
            total = settled_total(s, "/models/load/m/stats")
            print(f"redis disk full: sent {sent}, {back - full_at} while refused, counted {total}")
            assert total == sent
            wait_until(lambda: folded_total(s) == sent, timeout=60, what="the folds to catch up")
        finally:
            problems = s.stop()
            rs.stop()
        assert not problems, "nginx error.log has alerts:\n" + "\n".join(problems)


def test_postgres_on_a_full_disk_loses_nothing(tmp_path):
    """PostgreSQL's disk fills up under load (its own server on a tmpfs, filled): the
    fold's commits fail where PostgreSQL cannot grow its tables, and retry; the counts
    wait in Redis. Once there is room again the folds catch up, every download once."""
    mnt = Path(tempfile.mkdtemp(prefix="hubstats-pgdisk-"))  # postgres must traverse it
    mnt.chmod(0o755)
    try:
        with small_disk(mnt, "96m") as disk:
            pg = PostgresServer(root=disk / "pg")
            rs = RedisServer(tmp_path)
            s = Stack(tmp_path, rs, pg, daemon_settings={"fold": {"interval": "1s"}})
            s.clock.set_day(datetime.datetime.now(datetime.timezone.utc).date())
            s.start()
            try:
                repos = [f"r{i}" for i in range(24)]
                for r in repos:
                    s.add_repo("model", "full", r)
                loads = [Load(s, "model", "full", r).start() for r in repos]
                served = lambda: sum(len(x.done) for x in loads)  # noqa: E731
                try:
                    wait_until(lambda: folded_total(s) > 0, timeout=30, what="a fold")
                    filler = fill(disk)
                    wait_until(lambda: "No space left on device" in s.daemon.log_text(),
                               timeout=60, what="a fold to fail on the full disk")
                    full_at = served()
                    wait_until(lambda: served() >= full_at + 300, timeout=60,
                               what="300 downloads while the disk is full")
                    filler.unlink()
                finally:
                    for x in loads:
                        x.stop()
                sent = served()
                wait_until(lambda: folded_total(s) == sent, timeout=60,
                           what="the folds to catch up")
                print(f"postgres disk full: sent {sent}, folded {folded_total(s)}")
                # Everything is folded and the load has stopped: each repo's /stats is final.
                got = {r: requests.get(s.daemon.url(f"/models/full/{r}/stats"), timeout=5)
                       .json()["downloads"] for r in repos}
                assert got == {r: len(x.done) for r, x in zip(repos, loads)}
            finally:
                problems = s.stop()
                rs.stop()
                pg.stop()
            assert not problems, "nginx error.log has alerts:\n" + "\n".join(problems)
    finally:
        shutil.rmtree(mnt, ignore_errors=True)


def slow_download(s, path):
    """Sends a GET and reads the first bytes: nginx logs (and counts) the request only
    when the client has read the rest. Returns the socket."""
    sock = socket.create_connection(("127.0.0.1", s.nginx.port), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.77.0.1\r\n"
                 f"User-Agent: slow/1.0\r\nConnection: close\r\n\r\n".encode())
    sock.recv(1024)
    return sock


def test_download_spanning_midnight_logged_after_its_day_was_folded(stack):
    s = stack
    s.daemon.stop()
    s.daemon = s.new_daemon(settings={"fold": {"interval": "200ms", "redis_fsync_lag": "0"}})
    s.add_repo("model", "demo", "night")
    big = s.hub / "models" / "demo" / "night" / "big.bin"
    big.write_bytes(b"x" * (64 << 20))  # far more than the socket buffers hold
    today = datetime.datetime.now(datetime.timezone.utc).date()
    day = today - datetime.timedelta(days=1)
    s.clock.set(datetime.datetime(day.year, day.month, day.day, 23, 59, 57,
                                  tzinfo=datetime.timezone.utc))
    s.download("model", "demo", "night", ip="10.77.0.2")  # folded before midnight
    sock = slow_download(s, "/models/demo/night/resolve/main/big.bin")
    # Past midnight, and the day's other download is folded.
    iso = day.isoformat()
    wait_until(lambda: s.pg.rows("SELECT downloads FROM hubstats.daily_downloads "
                                 f"WHERE name = 'night' AND day = '{iso}'") == [["1"]],
               timeout=20, what="the day's first download folded")
    midnight = datetime.datetime(today.year, today.month, today.day, 0, 0, 1,
                                 tzinfo=datetime.timezone.utc)
    wait_until(lambda: clock_now(s) >= midnight, timeout=10, what="midnight")
    while sock.recv(1 << 20):  # the rest: nginx logs the download now, after midnight
        pass
    sock.close()
    wait_until(lambda: s.pg.rows("SELECT downloads FROM hubstats.daily_downloads "
                                 f"WHERE name = 'night' AND day = '{iso}'") == [["2"]],
               timeout=20, what="the late download folded into its own day")
    time.sleep(0.5)  # a few more passes: must not change anything (not a wait for a race)
    assert s.pg.rows("SELECT day, downloads FROM hubstats.daily_downloads "
                     "WHERE name = 'night'") == [[iso, "2"]]
    assert requests.get(s.daemon.url("/models/demo/night/stats"),
                        timeout=5).json()["downloads"] == 2


def clock_now(s):
    offset = int(s.clock.path.read_text().strip())
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
