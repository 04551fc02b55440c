"""The real stack for the extras suite, and its demo data.

nginx (with the hubstats module) serves a file tree laid out as hub repos, counts the
resolve downloads into Redis and proxies the API, /dashboard and /openapi.json to
hubstatsd. Past days are written to Redis exactly as the module writes them (day hash,
per-repo day set, day index), so the daemon's background fold moves them to PostgreSQL;
today's downloads really go through nginx.
"""
import datetime
import re
import secrets
from pathlib import Path

import requests

from harness.daemon import Hubstatsd
from harness.nginx import Nginx
from harness.ports import wait_until
from harness.postgres import PostgresServer
from harness.redis import RedisServer

ADMIN_TOKEN = "hsa_extras_" + "a" * 24

NGINX_HTTP = """
  hubstats_redis {redis};
  hubstats_secret_file {secret};
  hubstats_session_window 30m;
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  upstream hubstatsd {{ server 127.0.0.1:{daemon_port}; keepalive 8; }}
  server {{
    listen 127.0.0.1:@PORT@;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location ~ ^(?:/api)?/(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<n>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      hubstats on;
      alias {hub}/$t/$ns/$n/$p;
    }}
    location ~ ^(/api)?/(models|datasets|spaces)/[^/]+/[^/]+/(stats|like|likers)(/|$) {{
      proxy_pass http://hubstatsd;
    }}
    location /api/ {{ proxy_pass http://hubstatsd; }}
    location = /dashboard {{ proxy_pass http://hubstatsd; }}
    location = /openapi.json {{ proxy_pass http://hubstatsd; }}
    location / {{ return 404; }}
  }}
"""


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.pg = self.redis = self.daemon = self.nginx = None
        self.hub = tmp / "hub"
        self.today = utc_today()
        # (type, ns, name) -> {date: (authenticated, anonymous)} written as past days
        self.past = {}
        # (type, ns, name) -> (authenticated, anonymous) downloaded today through nginx
        self.live = {}
        self.files_per_session = 2
        self.private = {("model", "alice", "secret")}
        self.alice_token = None

    # --- processes --------------------------------------------------------------
    def start(self):
        self.pg = PostgresServer(self.tmp / "pg")
        self.redis = RedisServer(self.tmp / "redis")
        self.daemon = Hubstatsd(
            self.tmp, redis=self.redis, postgres=self.pg, admin_token=ADMIN_TOKEN,
            settings={"fold": {"interval": "1s"},
                      "catalog": {"cache_ttl": "60s"},
                      "log": {"level": "warn"}})
        secret = self.tmp / "secret"
        secret.write_text(secrets.token_hex(32))
        self.nginx = Nginx(self.tmp / "nginx", NGINX_HTTP.format(
            redis=self.redis.address, secret=secret, daemon_port=self.daemon.port, hub=self.hub))
        return self

    def stop(self) -> list:
        alerts = []
        for name in ("nginx", "daemon", "redis", "pg"):
            proc = getattr(self, name)
            if proc is None:
                continue
            try:
                if name == "nginx":
                    proc.stop()
                    alerts = proc.alerts()
                elif name == "pg":
                    proc.cleanup()
                else:
                    proc.stop()
            except Exception:  # keep stopping the others
                pass
        return alerts

    # --- access -----------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.nginx.url(path)

    def get(self, path, token=None, direct=False, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        base = self.daemon.url(path) if direct else self.url(path)
        return requests.get(base, headers=headers, timeout=15, **kw)

    def metrics(self) -> str:
        r = self.get("/metrics", direct=True)
        assert r.status_code == 200, r.text
        return r.text

    def metric(self, name: str, labels: dict | None = None) -> float | None:
        return metric_value(self.metrics(), name, labels)

    # --- demo data ----------------------------------------------------------------
    def seed(self):
        d = self.daemon
        self.alice_token = d.add_user("alice")
        repos = [("model", "demo", "tiny-model"), ("model", "demo", "big-model"),
                 ("model", "demo", "quiet-model"), ("dataset", "demo", "corpus"),
                 ("space", "demo", "app"), ("model", "alice", "secret")]
        for t, ns, name in repos:
            folder = self.hub / f"{t}s" / ns / name
            folder.mkdir(parents=True, exist_ok=True)
            for f in ("config.json", "model.bin"):
                (folder / f).write_bytes(b"x" * 64)
            d.add_repo(t, ns, name, private=(t, ns, name) in self.private)

        day = datetime.timedelta(days=1)
        self.past[("model", "demo", "tiny-model")] = {
            self.today - i * day: (i % 3, 2 + (i * 7) % 5) for i in range(1, 14)}
        self.past[("model", "demo", "big-model")] = {self.today - day: (300, 1200)}
        # tiny-model's per-file and per-client counts: {day: ({path: files},
        # {client: (downloads, files)})}; files() and clients() sum them over a period.
        self.breakdown = {
            self.today - 3 * day: ({"model.safetensors": 9, "config.json": 6, "(git)": 2},
                                   {"huggingface_hub": (3, 12), "git": (2, 2), "bot": (1, 4)}),
            self.today: ({"model.safetensors": 1, "tokenizer.json": 3},
                         {"curl": (1, 4), "git": (1, 1)}),
        }
        self.past[("dataset", "demo", "corpus")] = {self.today - 2 * day: (0, 40)}
        self.past[("model", "alice", "secret")] = {self.today - day: (2, 5)}
        with self.redis.client() as r:
            for (t, ns, name), days in self.past.items():
                tag = f"{t}/{ns}/{name}"
                for date, (auth, anon) in days.items():
                    dd = f"{date:%Y%m%d}"
                    files = (auth + anon) * self.files_per_session
                    r.execute("HSET", f"hs:{{{tag}}}:d:{dd}", "downloads", auth + anon,
                              "authenticated", auth, "anonymous", anon, "files", files)
                    r.execute("SADD", f"hs:{{{tag}}}:days", dd)
                    r.execute("SADD", f"hs:idx:{dd}", tag)
            # Per-file and per-client counts (issue 12), as the module's record script
            # writes them next to the day hash: a folded past day and today's residual.
            for date, (paths, clients) in self.breakdown.items():
                tag, dd = "model/demo/tiny-model", f"{date:%Y%m%d}"
                for path, n in paths.items():
                    r.execute("HINCRBY", f"hs:{{{tag}}}:p:{dd}", path, n)
                for fam, (dl, fi) in clients.items():
                    r.execute("HINCRBY", f"hs:{{{tag}}}:c:{dd}", f"d:{fam}", dl)
                    r.execute("HINCRBY", f"hs:{{{tag}}}:c:{dd}", f"f:{fam}", fi)
                r.execute("SADD", f"hs:{{{tag}}}:days", dd)
                r.execute("SADD", f"hs:idx:{dd}", tag)

        # Today, through nginx: distinct client addresses (anonymous) and tokens.
        self.live[("model", "demo", "tiny-model")] = (2, 3)
        self.live[("space", "demo", "app")] = (0, 1)
        for (t, ns, name), (auth, anon) in self.live.items():
            for i in range(auth + anon):
                headers = {"X-Forwarded-For": f"10.1.{len(name)}.{i + 1}",
                           "User-Agent": "hubstats-extras/1.0"}
                if i < auth:
                    headers["Authorization"] = f"Bearer downloader-{i}"
                for f in ("config.json", "model.bin"):
                    resp = requests.get(self.url(f"/{t}s/{ns}/{name}/resolve/main/{f}"),
                                        headers=headers, timeout=10)
                    assert resp.status_code == 200, resp.status_code
        for (t, ns, name), (auth, anon) in self.live.items():
            wait_until(lambda: self._redis_today(t, ns, name) == auth + anon, timeout=15,
                       what=f"today's downloads of {ns}/{name} in Redis")
        # The module counted those per file and per client too (its agent names no known
        # client: family other): add them to tiny-model's expected breakdown of today.
        auth, anon = self.live[("model", "demo", "tiny-model")]
        paths, clients = self.breakdown[self.today]
        for f in ("config.json", "model.bin"):
            paths[f] = paths.get(f, 0) + auth + anon
        dl, fi = clients.get("other", (0, 0))
        clients["other"] = (dl + auth + anon, fi + 2 * (auth + anon))
        # The background fold (every second) moves every past day to PostgreSQL.
        rows = sum(len(v) for v in self.past.values())
        wait_until(lambda: (self.metric("hubstatsd_fold_rows_total") or 0) >= rows, timeout=30,
                   what=f"{rows} past rows folded")

    def _redis_today(self, t, ns, name) -> int:
        with self.redis.client() as r:
            v = r.execute("HGET", f"hs:{{{t}/{ns}/{name}}}:d:{self.today:%Y%m%d}", "downloads")
        return int(v or 0)

    def daily(self, key, days: int) -> list[dict]:
        """The expected /stats/recent rows of a repo for the last `days` days."""
        out = []
        for i in range(days - 1, -1, -1):
            date = self.today - datetime.timedelta(days=i)
            auth, anon = self.past.get(key, {}).get(date, (0, 0))
            if i == 0:
                auth, anon = self.live.get(key, (0, 0))
            out.append({"date": date.isoformat(), "downloads": auth + anon,
                        "authenticated": auth, "anonymous": anon,
                        "files": (auth + anon) * self.files_per_session})
        return out

    def files(self, days: int) -> list[list]:
        """tiny-model's expected /stats/files entries: [path, files], most first."""
        out = {}
        for date, (paths, _) in self.breakdown.items():
            if (self.today - date).days < days:
                for p, n in paths.items():
                    out[p] = out.get(p, 0) + n
        return sorted(([p, n] for p, n in out.items()), key=lambda e: (-e[1], e[0]))

    def clients(self, days: int) -> list[list]:
        """tiny-model's expected /stats/clients entries: [client, downloads, files]."""
        out = {}
        for date, (_, clients) in self.breakdown.items():
            if (self.today - date).days < days:
                for c, (dl, fi) in clients.items():
                    o = out.setdefault(c, [0, 0])
                    o[0] += dl
                    o[1] += fi
        return sorted(([c, v[0], v[1]] for c, v in out.items()), key=lambda e: (-e[1], e[0]))

    def recent_total(self, key, days: int) -> int:
        return sum(r["downloads"] for r in self.daily(key, days))

    def all_time(self, key) -> int:
        auth, anon = self.live.get(key, (0, 0))
        return auth + anon + sum(a + b for a, b in self.past.get(key, {}).values())


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """Samples of a Prometheus text exposition: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in _LABEL.findall(m.group(3) or "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def metric_value(text: str, name: str, labels: dict | None = None) -> float | None:
    for n, l, v in parse_metrics(text):
        if n == name and (labels is None or all(l.get(k) == val for k, val in labels.items())):
            return v
    return None
