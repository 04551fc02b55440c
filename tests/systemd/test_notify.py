"""hubstatsd speaks the sd_notify protocol the unit's Type=notify relies on.

systemd is not PID 1 here, so the test plays its part: it binds the datagram socket
systemd would create, passes it as NOTIFY_SOCKET, and runs the built daemon against a
real PostgreSQL and redis-server. READY=1 must come only once the daemon answers HTTP
and the schema is migrated; SIGHUP must give RELOADING=1 then READY=1 (ExecReload);
SIGTERM STOPPING=1 and a clean exit. A daemon that cannot reach PostgreSQL must never
claim readiness (systemd then fails the start instead of reporting a dead service up).
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from harness.paths import BUILD_DIR
from harness.ports import free_port
from harness.postgres import PostgresServer
from harness.procs import terminate
from harness.redis import RedisServer

DAEMON = BUILD_DIR / "daemon" / "hubstatsd"


class NotifySocket:
    """The AF_UNIX datagram socket systemd listens on for sd_notify messages."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def next_message(self, timeout):
        """The next message as {field: value}, or None when none arrives in time."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        fields = {}
        for line in data.decode().splitlines():
            key, _, value = line.partition("=")
            fields[key] = value
        return fields

    def close(self):
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path):
    s = NotifySocket(tmp_path / "notify.sock")
    yield s
    s.close()


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as r:
        yield r


@pytest.fixture
def postgres(tmp_path):
    pg = PostgresServer(tmp_path)
    yield pg
    pg.cleanup()


def write_config(tmp_path, port, redis_address, dsn):
    conf = tmp_path / "hubstatsd.yaml"
    conf.write_text(f"""
listen:
  address: 127.0.0.1
  port: {port}
redis:
  address: "{redis_address}"
postgres:
  dsn: "{dsn}"
  connect_timeout: 1s
fold:
  background: false
catalog:
  backend: builtin
""", encoding="utf-8")
    return conf


class Daemon:
    def __init__(self, conf, notify_path, log_path):
        assert os.access(DAEMON, os.X_OK), f"build the daemon first: {DAEMON} missing"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSTATSD_")}
        env["NOTIFY_SOCKET"] = notify_path
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([str(DAEMON), "-c", str(conf)], env=env,
                                         stdout=log, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self):
        terminate(self.proc, timeout=20)


def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        return r.status


def test_ready_reload_stopping(tmp_path, notify_socket, redis, postgres):
    port = free_port()
    conf = write_config(tmp_path, port, redis.address, postgres.dsn)
    daemon = Daemon(conf, notify_socket.path, tmp_path / "hubstatsd.log")
    try:
        msg = notify_socket.next_message(timeout=30)
        assert msg is not None, f"no sd_notify message within 30s\n{daemon.log()}"
        assert msg.get("READY") == "1", msg
        assert msg.get("MAINPID", str(daemon.proc.pid)) == str(daemon.proc.pid)
        # Ready means: it answers, and the schema is in place.
        assert health(port) == 200
        versions = postgres.rows("SELECT version FROM hubstats.schema_migrations")
        assert versions, "READY=1 before any migration was recorded"

        daemon.proc.send_signal(signal.SIGHUP)
        msg = notify_socket.next_message(timeout=10)
        assert msg is not None and msg.get("RELOADING") == "1", msg
        msg = notify_socket.next_message(timeout=10)
        assert msg is not None and msg.get("READY") == "1", msg
        assert health(port) == 200

        daemon.proc.send_signal(signal.SIGTERM)
        msg = notify_socket.next_message(timeout=10)
        assert msg is not None and msg.get("STOPPING") == "1", msg
        assert daemon.proc.wait(timeout=20) == 0, daemon.log()
    finally:
        daemon.stop()


def test_no_ready_without_postgres(tmp_path, notify_socket, redis):
    # Nothing listens on this port: the daemon must fail its start, not report ready.
    dead_dsn = f"host=127.0.0.1 port={free_port()} dbname=hubstats user=postgres connect_timeout=1"
    conf = write_config(tmp_path, free_port(), redis.address, dead_dsn)
    daemon = Daemon(conf, notify_socket.path, tmp_path / "hubstatsd.log")
    try:
        deadline = time.monotonic() + 60
        while daemon.proc.poll() is None and time.monotonic() < deadline:
            msg = notify_socket.next_message(timeout=0.2)
            assert msg is None or msg.get("READY") != "1", f"READY=1 without PostgreSQL: {msg}"
        assert daemon.proc.poll() is not None, "daemon neither exited nor became ready in 60s"
        assert daemon.proc.returncode != 0
        # Any message still queued after exit must not be READY either.
        msg = notify_socket.next_message(timeout=0.1)
        assert msg is None or msg.get("READY") != "1", msg
    finally:
        daemon.stop()


def test_ready_waits_for_redis(tmp_path, notify_socket, postgres):
    """READY=1 also means Redis answers: with nothing on the Redis port the daemon waits
    (no READY), and becomes ready once a redis-server starts there."""
    redis_port = free_port()
    conf = write_config(tmp_path, free_port(), f"127.0.0.1:{redis_port}", postgres.dsn)
    daemon = Daemon(conf, notify_socket.path, tmp_path / "hubstatsd.log")
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            msg = notify_socket.next_message(timeout=0.2)
            assert msg is None or msg.get("READY") != "1", f"READY=1 without Redis: {msg}"
        assert daemon.proc.poll() is None, daemon.log()
        with RedisServer(tmp_path, port=redis_port):
            msg = notify_socket.next_message(timeout=30)
            assert msg is not None and msg.get("READY") == "1", (msg, daemon.log())
    finally:
        daemon.stop()
