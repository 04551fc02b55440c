"""The real stack for the CLI suite: PostgreSQL, redis-server, hubstatsd (builtin catalog
with an admin token) and nginx loading the hubstats module. nginx plays the hub (static
files under /{type}s/{ns}/{name}/resolve/...) and proxies the API to hubstatsd, so the
CLI reads counts that really went nginx -> Redis -> hubstatsd.

Every process is started on 127.0.0.1 with a free port and stopped by its PID."""
from pathlib import Path

from harness.daemon import Hubstatsd
from harness.nginx import Nginx
from harness.postgres import PostgresServer
from harness.redis import RedisServer

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


class Stack:
    def __init__(self, tmpdir: Path):
        self.tmp = tmpdir
        self.pg = self.redis = self.daemon = self.nginx = None

    def start(self):
        self.pg = PostgresServer(self.tmp / "pg")
        self.redis = RedisServer(self.tmp / "redis")
        # cache_ttl 0: a revoked token or a repo made private is seen by the next request.
        self.daemon = Hubstatsd(self.tmp / "daemon", redis=self.redis, postgres=self.pg,
                                admin_token=ADMIN_TOKEN, settings={"catalog": {"cache_ttl": 0}})
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
