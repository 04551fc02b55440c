"""A hubstatsd started from a generated YAML config against real Redis and PostgreSQL.

    from harness.daemon import Hubstatsd
    d = Hubstatsd(tmp_path, redis=rs, postgres=pg, admin_token="...")   # starts, waits /health
    d.get("/models/demo/m/stats")            # requests.Response
    d.admin("POST", "/api/admin/repos", {"type": "model", "namespace": "demo", "name": "m"})
    d.command("fold", "--once")              # another hubstatsd process on the same config
    d.spawn("fold", "--once")                # the same, not waited for (a Popen)
    d.stop()                                 # SIGTERM by PID; returns the exit code
    d.kill()                                 # SIGKILL

``redis`` is a RedisServer, or a RedisCluster (its nodes become ``redis.cluster``).
``settings`` overrides config sections (dict of section -> dict, or top-level scalars);
``env`` adds environment variables (e.g. FakeClock.env()). The daemon's stderr goes to
``d.log_path``; ``d.log_text()`` reads it.
"""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests

from .paths import BUILD_DIR
from .ports import free_port, wait_until

DAEMON = BUILD_DIR / "daemon" / "hubstatsd"


def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return json.dumps(list(v))  # a YAML flow sequence
    return json.dumps(v) if isinstance(v, str) else str(v)


def render_config(sections: dict) -> str:
    """YAML text for a dict of section -> dict of scalars (or top-level scalars)."""
    lines = []
    for key, value in sections.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            for k, v in value.items():
                if isinstance(v, dict):
                    lines.append(f"  {k}:")
                    lines += [f"    {kk}: {_yaml_scalar(vv)}" for kk, vv in v.items()]
                else:
                    lines.append(f"  {k}: {_yaml_scalar(v)}")
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


class Hubstatsd:
    def __init__(self, tmpdir, *, redis, postgres, admin_token: str | None = None,
                 settings: dict | None = None, env: dict | None = None, start: bool = True,
                 port: int | None = None, name: str = "hubstatsd"):
        self.dir = Path(tmpdir) / f"{name}-{time.monotonic_ns():x}"
        self.dir.mkdir(parents=True)
        self.port = port or free_port()
        self.admin_token = admin_token
        self.env = dict(env or {})
        cfg = {
            "listen": {"address": "127.0.0.1", "port": self.port},
            "http": {"threads": 2, "handler_threads": 8},
            # a RedisCluster (harness.redis_cluster) gives its nodes as redis.cluster seeds
            "redis": {**({"cluster": list(redis.seeds)} if hasattr(redis, "seeds")
                         else {"address": redis.address}),
                      "connect_timeout": "300ms", "command_timeout": "700ms"},
            "postgres": {"dsn": postgres.dsn, "pool_size": 4, "connect_timeout": "1s",
                         "statement_timeout": "1s"},
            "fold": {"interval": "60s"},  # tests fold explicitly unless they ask otherwise
            "catalog": {"backend": "builtin", "cache_ttl": "200ms"},
            "log": {"level": "info"},
        }
        if admin_token:
            tok = self.dir / "admin.token"
            tok.write_text(admin_token + "\n")
            os.chmod(tok, 0o600)
            cfg["catalog"]["admin_token_file"] = str(tok)
        for key, value in (settings or {}).items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key] = {**cfg[key], **value}
            else:
                cfg[key] = value
        self.config_path = self.dir / "hubstatsd.yaml"
        self.config_path.write_text(render_config(cfg))
        self.log_path = self.dir / "hubstatsd.log"
        self.proc = None
        if start:
            self.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _env(self) -> dict:
        return {**os.environ, **self.env}

    def start(self, timeout: float = 30.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(DAEMON), "-c", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=self._env())
        log.close()
        try:
            wait_until(lambda: self.proc.poll() is not None or self._healthy(), timeout=timeout,
                       what="hubstatsd /health")
        except TimeoutError:
            self.kill()
            raise RuntimeError(f"hubstatsd did not come up:\n{self.log_text()}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"hubstatsd exited with {self.proc.returncode}:\n{self.log_text()}")

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url("/health"), timeout=1).status_code == 200
        except requests.RequestException:
            return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful) by PID; SIGKILL after the timeout. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def command(self, *args, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Runs `hubstatsd <args> -c <config>` (e.g. "fold", "--once") to completion."""
        return subprocess.run([str(DAEMON), *args, "-c", str(self.config_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=self._env(), timeout=timeout)

    def spawn(self, *args) -> subprocess.Popen:
        """Starts `hubstatsd <args> -c <config>` without waiting (output in .stdout)."""
        return subprocess.Popen([str(DAEMON), *args, "-c", str(self.config_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=self._env())

    def get(self, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url(path), headers=headers, timeout=kw.pop("timeout", 10), **kw)

    def admin(self, method: str, path: str, body=None, retry_for: float = 10.0) -> requests.Response:
        """An admin call as a careful script makes it: a 503 (a backend that could not
        answer within its timeout, e.g. PostgreSQL starved on a loaded CI host) is retried
        after its Retry-After for up to retry_for seconds; any other error raises, with the
        daemon's last log lines."""
        deadline = time.monotonic() + retry_for
        while True:
            r = requests.request(method, self.url(path), json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {self.admin_token}"})
            if r.status_code == 503 and time.monotonic() < deadline:
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            break
        if r.status_code >= 400 and r.status_code != 409:
            tail = "\n".join(self.log_text().splitlines()[-15:])
            raise RuntimeError(f"{method} {path} -> {r.status_code} {r.text}\n{tail}")
        return r

    def add_repo(self, type_: str, ns: str, name: str, private: bool = False):
        return self.admin("POST", "/api/admin/repos",
                          {"type": type_, "namespace": ns, "name": name, "private": private})

    def add_user(self, username: str) -> str:
        """Creates the user and returns a fresh token for it."""
        self.admin("POST", "/api/admin/users", {"username": username})
        return self.admin("POST", "/api/admin/tokens", {"username": username}).json()["token"]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
