"""The hubstatsd process: --check-config, migrate, SIGTERM finishing an in-flight
request, SIGHUP reloading the log level."""
import datetime
import signal
import subprocess
import threading

import requests

from harness.daemon import DAEMON, Hubstatsd
from harness.ports import wait_until
from harness.redis import RedisServer


def check(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return subprocess.run([str(DAEMON), "--check-config", str(p)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30)


def test_check_config(tmp_path):
    ok = check(tmp_path, "listen: {port: 9000}\nfold: {interval: 30s}\n")
    assert ok.returncode == 0, ok.stderr
    bad = check(tmp_path, "fold: {interval: 5x}\n")
    assert bad.returncode == 1
    assert 'fold.interval: bad duration "5x"' in bad.stderr
    unknown = check(tmp_path, "postgres: {dsnn: x}\n")
    assert unknown.returncode == 1 and "postgres.dsnn: unknown key" in unknown.stderr
    catalog = check(tmp_path, "catalog: {backend: nope}\n")
    assert catalog.returncode == 1 and "catalog.backend" in catalog.stderr


def test_migrate_command_is_idempotent(tmp_path, redis, pg_db):
    d = Hubstatsd(tmp_path, redis=redis, postgres=pg_db, start=False)
    first = d.command("migrate")
    assert first.returncode == 0, first.stdout
    applied = [l for l in first.stdout.splitlines() if l.startswith("applied ")]
    assert "applied 001_stats.sql" in applied
    again = d.command("migrate")
    assert again.returncode == 0, again.stdout
    assert [l for l in again.stdout.splitlines() if l.startswith("applied ")] == []
    assert pg_db.rows("SELECT count(*) FROM hubstats.daily_downloads") == [["0"]]


def test_sigterm_finishes_the_in_flight_request(tmp_path, redis, pg_db):
    d = Hubstatsd(tmp_path, redis=redis, postgres=pg_db, admin_token="a" * 32,
                  settings={"postgres": {"statement_timeout": "20s"}})
    try:
        d.add_repo("model", "demo", "m")
        assert d.get("/models/demo/m/stats").status_code == 200
        # Hold a lock the request needs, so it is in flight when SIGTERM arrives.
        holder = subprocess.Popen(
            ["psql", "-h", "127.0.0.1", "-p", str(pg_db.server.port), "-U", "postgres", "-d",
             pg_db.dsn.split("dbname=")[1].split()[0], "-v", "ON_ERROR_STOP=1", "-q"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        holder.stdin.write("BEGIN; LOCK TABLE hubstats.daily_downloads IN ACCESS EXCLUSIVE MODE;\n"
                           "SELECT 'locked';\n")
        holder.stdin.flush()
        wait_until(lambda: pg_db.rows("SELECT count(*) FROM pg_locks WHERE mode = "
                                      "'AccessExclusiveLock' AND relation = "
                                      "'hubstats.daily_downloads'::regclass") == [["1"]],
                   timeout=15, what="the lock")
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=requests.get(d.url("/models/demo/m/stats/recent?days=2"), timeout=60)))
        t.start()
        wait_until(lambda: pg_db.rows("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "wait_event_type = 'Lock'") != [["0"]],
                   timeout=15, what="the request to wait on the lock")
        d.signal(signal.SIGTERM)
        # New connections are refused once the listener closed.
        wait_until(lambda: _refused(d), timeout=15, what="the listener to close")
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=15)
        t.join(timeout=60)
        assert result["r"].status_code == 200
        assert len(result["r"].json()["stats"]) == 2
        assert d.proc.wait(timeout=30) == 0
        assert "stopped" in d.log_text()
    finally:
        d.kill()


def _refused(d) -> bool:
    try:
        requests.get(d.url("/health"), timeout=2)
        return False
    except requests.ConnectionError:
        return True


def test_sighup_reloads_log_level(tmp_path, redis, pg_db):
    d = Hubstatsd(tmp_path, redis=redis, postgres=pg_db)
    try:
        d.get("/health", headers={"X-Request-Id": "before-reload"})
        assert "request_id=before-reload" in d.log_text()
        d.config_path.write_text(d.config_path.read_text().replace("level: \"info\"",
                                                                   "level: \"warn\""))
        d.signal(signal.SIGHUP)
        wait_until(lambda: "msg=reloaded" in d.log_text(), timeout=15, what="reload")
        d.get("/health", headers={"X-Request-Id": "after-reload"})
        d.get("/nope", headers={"X-Request-Id": "after-reload-2"})
        assert "after-reload" not in d.log_text()  # info lines are off now
        # A broken file on reload keeps the running config.
        d.config_path.write_text("fold: {interval: 5x}\n")
        d.signal(signal.SIGHUP)
        wait_until(lambda: "reload failed" in d.log_text(), timeout=15, what="failed reload")
        assert d.get("/health").status_code == 200
        assert d.stop() == 0
    finally:
        d.kill()


def test_redis_over_ipv6(tmp_path, pg_db):
    """redis.address "[::1]:port": both Redis clients (the blocking pool and the /stats
    fast path of each io thread) connect, and today's live counters are served."""
    rs = RedisServer(tmp_path, host="::1")
    try:
        assert rs.address == f"[::1]:{rs.port}"
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
        with rs.client() as r:
            r.execute("HSET", f"hs:{{model/demo/v6}}:d:{today}", "downloads", 3,
                      "anonymous", 3, "files", 4)
            r.execute("SADD", "hs:{model/demo/v6}:days", today)
        d = Hubstatsd(tmp_path, redis=rs, postgres=pg_db, admin_token="a" * 32)
        try:
            d.add_repo("model", "demo", "v6")
            assert d.get("/models/demo/v6/stats").json() == {"downloads": 3, "likes": 0}
            day = d.get("/models/demo/v6/stats/recent?days=1").json()["stats"][0]
            assert (day["downloads"], day["files"]) == (3, 4)
            log = d.log_text()
            assert "fast path" not in log and "redis unavailable" not in log, log
        finally:
            d.stop()
    finally:
        rs.stop()
