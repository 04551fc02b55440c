"""Services for the catalog suite: PostgreSQL (harness.postgres, plus several
databases and roles) and hubstatsd with a catalog section written as YAML text, from
$HUBSTATS_BUILD_DIR, stopped by the PID we started.
"""
import datetime
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from harness import postgres as harness_postgres
from harness.paths import BUILD_DIR
from harness.ports import free_port, wait_for_port
from harness.procs import terminate

HUBSTATSD = BUILD_DIR / "daemon" / "hubstatsd"
ADMIN_TOKEN = "catalog-test-admin-token-0123456789"


class PostgresServer(harness_postgres.PostgresServer):
    """harness.postgres.PostgresServer (database "hubstats" created) plus DSNs for other
    databases and roles, and psql with variables for values."""

    def __init__(self):
        super().__init__(dbname="hubstats")

    def dsn_for(self, db="hubstats", user="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={db} user={user}"

    def query(self, sql, db="hubstats", user="postgres", params=None):
        """Runs SQL with psql; returns rows as lists of strings. Values are passed as
        psql variables (:'name'), never spliced into the SQL text."""
        cmd = [harness_postgres.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db]
        for k, v in (params or {}).items():
            cmd += ["-v", f"{k}={v}"]
        out = subprocess.run(cmd, input=sql, check=True, capture_output=True, text=True).stdout
        return [line.split("|") for line in out.splitlines() if line]


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
        if self.proc:
            terminate(self.proc, timeout=20)
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


def dirty_shard(tag):
    """keys::dirty_shard: FNV-1a 32 of the repo tag, modulo the 16 dirty shards."""
    h = 2166136261
    for c in tag.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h % 16


def add_redis_downloads(redis_client, repo_type, ns, name, downloads):
    """Writes today's counters the way the nginx module does: the day hash, the repo's
    days set, then the repo's mark in its dirty shard."""
    day = today_compact()
    tag = f"{repo_type}/{ns}/{name}"
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "downloads", downloads)
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "anonymous", downloads)
    redis_client.execute("HINCRBY", f"hs:{{{tag}}}:d:{day}", "files", downloads)
    redis_client.execute("SADD", f"hs:{{{tag}}}:days", day)
    redis_client.execute("SADD", f"hs:{{dirty:{dirty_shard(tag)}}}", tag)
