"""The real stack for the CLI suite: PostgreSQL, redis-server, hubstatsd (builtin catalog
with an admin token) and nginx loading the hubstats module. nginx plays the hub (static
files under /{type}s/{ns}/{name}/resolve/...) and proxies the API to hubstatsd, so the
CLI reads counts that really went nginx -> Redis -> hubstatsd.

Every process is started on 127.0.0.1 with a free port and stopped by its PID."""
import os
import signal
import subprocess
import time
from pathlib import Path

from harness.nginx import Nginx
from harness.paths import BUILD_DIR
from harness.ports import free_port, wait_for_port
from harness.postgres import PostgresServer
from harness.redis import RedisServer

HUBSTATSD = BUILD_DIR / "daemon" / "hubstatsd"
ADMIN_TOKEN = "cli-suite-admin-token-0123456789abcdef"

NGINX_HTTP = """
  hubstats_redis 127.0.0.1:{redis_port};
  hubstats_secret_file {secret};
  hubstats_session_window 30m;
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  upstream hubstatsd {{ server 127.0.0.1:{daemon_port}; }}
  server {{
    listen 127.0.0.1:@PORT@;
    location ~ ^(?:/api)?/(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<n>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      hubstats on;
      alias {hub}/$t/$ns/$n/$p;
    }}
    location / {{
      proxy_pass http://hubstatsd;
    }}
  }}
"""


class Hubstatsd:
    """hubstatsd -c <config> on a free port; stopped with SIGTERM by PID."""

    def __init__(self, tmpdir: Path, pg_dsn: str, redis_port: int):
        self.dir = tmpdir
        self.port = free_port()
        token_file = tmpdir / "admin.token"
        token_file.write_text(ADMIN_TOKEN + "\n")
        self.config = tmpdir / "hubstatsd.yaml"
        self.config.write_text(
            f"listen:\n  address: 127.0.0.1\n  port: {self.port}\n"
            f"redis:\n  address: 127.0.0.1:{redis_port}\n"
            f"postgres:\n  dsn: \"{pg_dsn}\"\n  pool_size: 4\n"
            "fold:\n  background: false\n"
            "session_window: 30m\n"
            "catalog:\n  backend: builtin\n  cache_ttl: 0\n"
            f"  admin_token_file: {token_file}\n"
            "log:\n  level: warn\n")
        self.log_path = tmpdir / "hubstatsd.log"
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([str(HUBSTATSD), "-c", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("hubstatsd exited:\n" + self.log_path.read_text())
            try:
                wait_for_port(self.port, timeout=0.1)
                return self
            except TimeoutError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


class Stack:
    def __init__(self, tmpdir: Path):
        self.tmp = tmpdir
        self.pg = self.redis = self.daemon = self.nginx = None

    def start(self):
        self.pg = PostgresServer(self.tmp / "pg")
        self.redis = RedisServer(self.tmp / "redis")
        (self.tmp / "daemon").mkdir()
        self.daemon = Hubstatsd(self.tmp / "daemon", self.pg.dsn, self.redis.port).start()
        self.hub = self.tmp / "hub"
        secret = self.tmp / "secret"
        secret.write_text("cli-suite-identity-secret-0123456789\n")
        self.nginx = Nginx(self.tmp / "nginx", NGINX_HTTP.format(
            redis_port=self.redis.port, secret=secret, daemon_port=self.daemon.port,
            hub=self.hub))
        return self

    def add_file(self, repo_type, repo_id, path, content=b"x" * 64):
        f = self.hub / f"{repo_type}s" / repo_id / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.nginx.port}"

    def stop(self):
        alerts = self.nginx.alerts() if self.nginx else []
        for stop in (self.nginx and self.nginx.stop, self.daemon and self.daemon.stop,
                     self.redis and self.redis.stop, self.pg and self.pg.cleanup):
            if stop:
                try:
                    stop()
                except Exception:  # keep stopping the others
                    pass
        return alerts
