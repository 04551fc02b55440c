"""Services for the catalog suite: a throwaway PostgreSQL cluster and hubstatsd.

PostgreSQL runs as the postgres user (initdb refuses root) on 127.0.0.1 with a free
port and a temporary data dir; hubstatsd runs from $HUBSTATS_BUILD_DIR with a config
written to a temporary dir. Both are stopped by the PID we started.
"""
import datetime
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from harness.paths import BUILD_DIR
from harness.ports import free_port, wait_for_port, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HUBSTATSD = BUILD_DIR / "daemon" / "hubstatsd"
ADMIN_TOKEN = "catalog-test-admin-token-0123456789"


class PostgresServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="hubstats-catalog-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.data.mkdir()
        self.sock.mkdir()
        shutil.chown(self.data, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        os.chmod(self.data, 0o700)
        self.port = free_port()
        self.pid = None

    def start(self):
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D",
                        str(self.data), "-U", "postgres", "-A", "trust"],
                       check=True, capture_output=True)
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                        str(self.data), "-w", "-l", str(self.sock / "pg.log"), "-o",
                        f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                        "-c max_connections=200 -c fsync=off", "start"],
                       check=True, capture_output=True)
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def dsn(self, db="postgres", user="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={db} user={user}"

    def psql(self, sql, db="postgres", user="postgres", params=None):
        """Runs SQL with psql; returns stdout rows as lists of strings ('|'-separated).
        Values are passed as psql variables (:'name'), never spliced into the text."""
        cmd = [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db]
        for k, v in (params or {}).items():
            cmd += ["-v", f"{k}={v}"]
        out = subprocess.run(cmd, input=sql, check=True, capture_output=True, text=True).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
                wait_until(lambda: not os.path.exists(f"/proc/{self.pid}"), timeout=30,
                           what="postgres exit")
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)


class Hubstatsd:
    """hubstatsd -c <config>; `catalog` is the YAML text of the catalog section."""

    def __init__(self, pg_dsn, redis_port, catalog_yaml, extra_yaml=""):
        self.dir = Path(tempfile.mkdtemp(prefix="hubstats-catalog-d-"))
        self.port = free_port()
        self.config = self.dir / "hubstatsd.yaml"
        self.config.write_text(
            f"listen:\n  address: 127.0.0.1\n  port: {self.port}\n"
            f"redis:\n  address: 127.0.0.1:{redis_port}\n"
            f"postgres:\n  dsn: \"{pg_dsn}\"\n  pool_size: 16\n  statement_timeout: 10s\n"
            f"  connect_timeout: 5s\n"
            f"http:\n  handler_threads: 32\n"
            f"fold:\n  background: false\n"
            f"log:\n  level: warn\n"
            f"{extra_yaml}"
            f"catalog:\n{catalog_yaml}")
        self.proc = None
        self.log = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.dir / "hubstatsd.log", "wb")
        self.proc = subprocess.Popen([str(HUBSTATSD), "-c", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("hubstatsd exited: " + self.log_text())
            try:
                wait_for_port(self.port, timeout=0.2)
                return self
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def log_text(self):
        self.log.flush()
        return (self.dir / "hubstatsd.log").read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """requests against hubstatsd with an optional Bearer token / cookie."""

    def __init__(self, base, token=None, cookie=None):
        self.base = base
        self.s = requests.Session()
        if token is not None:
            self.s.headers["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            self.s.headers["Cookie"] = f"session_id={cookie}"

    def request(self, method, path, **kw):
        return self.s.request(method, self.base + path, timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def today_compact():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")


def add_redis_downloads(redis_client, repo_type, ns, name, downloads):
    """Writes today's counters the way the nginx module's record/index scripts do."""
    day = today_compact()
    tag = f"{repo_type}/{ns}/{name}"
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "downloads", downloads)
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "anonymous", downloads)
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "files", downloads)
    redis_client.execute("SADD", f"hs:{{{tag}}}:days", day)
    redis_client.execute("SADD", f"hs:idx:{day}", tag)
