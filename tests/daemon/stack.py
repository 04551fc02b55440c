"""The full hubstats stack for the daemon suite: nginx with the module counting
downloads of a file tree laid out as hub repos and proxying the API to hubstatsd."""
import datetime
import os
import secrets
from pathlib import Path

import requests

from harness.daemon import Hubstatsd
from harness.faketime import NGINX_ENV_DIRECTIVES, FakeClock
from harness.nginx import Nginx
from harness.ports import wait_until

ADMIN_TOKEN = "hsa_" + "t" * 28


def nginx_conf(redis_address, secret_file, hub_root, daemon_port, window="30m") -> str:
    return f"""
  hubstats_redis {redis_address};
  hubstats_secret_file {secret_file};
  hubstats_session_window {window};
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;

  upstream hubstatsd {{
    server 127.0.0.1:{daemon_port};
    keepalive 8;
  }}

  server {{
    listen 127.0.0.1:@PORT@;
    proxy_http_version 1.1;
    proxy_set_header Connection "";

    location ~ ^(/api)?/(models|datasets|spaces)/[^/]+/[^/]+/(stats|like|likers)(/|$) {{
      proxy_pass http://hubstatsd;
    }}
    location /api/ {{
      proxy_pass http://hubstatsd;
    }}
    location ~ ^(?:/api)?/(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<n>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      hubstats on;
      alias {hub_root}/$t/$ns/$n/$p;
    }}
    location = /static.json {{
      root {hub_root};
    }}
    location / {{
      return 404 '{{"detail":"Not Found"}}';
    }}
  }}
"""


class Stack:
    def __init__(self, tmp_path: Path, redis, pg_db, daemon_settings: dict | None = None):
        self.tmp = tmp_path
        self.redis = redis
        self.pg = pg_db
        self.clock = FakeClock(tmp_path)
        self.hub = tmp_path / "hub"
        self.hub.mkdir()
        (self.hub / "static.json").write_text('{"downloads":1234567,"likes":89}')
        self.secret = tmp_path / "secret"
        self.secret.write_text(secrets.token_hex(32))
        self.daemon_settings = daemon_settings or {}
        self.daemon = None
        self.nginx = None

    def start(self):
        self.daemon = self.new_daemon()
        # The harness starts nginx with os.environ: set the clock's variables around the
        # start only; the env directives keep them for the workers.
        saved = {k: os.environ.get(k) for k in self.clock.env()}
        os.environ.update(self.clock.env())
        try:
            self.nginx = Nginx(self.tmp, nginx_conf(self.redis.address, self.secret, self.hub,
                                                    self.daemon.port),
                               main_body=NGINX_ENV_DIRECTIVES, workers=1)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def new_daemon(self, **kw) -> Hubstatsd:
        settings = {**self.daemon_settings, **kw.pop("settings", {})}
        return Hubstatsd(self.tmp, redis=self.redis, postgres=self.pg, admin_token=ADMIN_TOKEN,
                         settings=settings, env=self.clock.env(), **kw)

    def stop(self) -> list[str]:
        problems = []
        if self.nginx:
            self.nginx.stop()
            problems = self.nginx.alerts()
        if self.daemon:
            self.daemon.stop()
        return problems

    # --- the hub -------------------------------------------------------------------
    def add_repo(self, type_, ns, name, private=False, files=("config.json", "model.bin")):
        d = self.hub / f"{type_}s" / ns / name
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            (d / f).write_bytes(b"x" * 64)
        if self.daemon:
            self.daemon.add_repo(type_, ns, name, private)

    def url(self, path):
        return self.nginx.url(path)

    def download(self, type_, ns, name, file="config.json", ip="10.0.0.1", token=None):
        headers = {"X-Forwarded-For": ip, "User-Agent": "hubstats-test/1.0"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.get(self.url(f"/{type_}s/{ns}/{name}/resolve/main/{file}"), headers=headers,
                         timeout=10)
        assert r.status_code == 200, (r.status_code, r.text)

    def get(self, path, token=None, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url(path), headers=headers, timeout=kw.pop("timeout", 10), **kw)

    def redis_files_total(self, type_, ns, name, day: datetime.date) -> int:
        """files counted in Redis for the repo's day hash (before any fold)."""
        with self.redis.client() as r:
            v = r.execute("HGET", f"hs:{{{type_}/{ns}/{name}}}:d:{day:%Y%m%d}", "files")
        return int(v or 0)

    def wait_counted(self, type_, ns, name, day: datetime.date, files: int):
        """Polls Redis until the module has recorded `files` files for the repo's day."""
        wait_until(lambda: self.redis_files_total(type_, ns, name, day) >= files, timeout=15,
                   what=f"{files} files of {ns}/{name} on {day} in Redis")
        assert self.redis_files_total(type_, ns, name, day) == files
