"""A throwaway nginx (the packaged /usr/sbin/nginx) loading the built hubstats module.

    from harness.nginx import Nginx
    ng = Nginx(tmp_path, '''
        hubstats_redis 127.0.0.1:6379;
        server { listen 127.0.0.1:@PORT@; root @PREFIX@/www; location / { hubstats on; } }
    ''')
    ng.url("/x")          # http://127.0.0.1:<port>/x
    ng.reload()           # SIGHUP; returns once the old workers are gone
    ng.stop()             # graceful (SIGQUIT), by PID; waits for the master to exit
    ng.error_log_text()   # error.log contents; ng.alerts() -> [alert]/[emerg] lines

``http_body`` is placed inside ``http { }``; ``main_body`` at the top level. In both,
``@PORT@`` becomes ``ng.port`` (a free port) and ``@PREFIX@`` the nginx prefix
directory (all temp paths, pid and logs live there, so nginx runs unprivileged-safe).
The master runs in the foreground (``daemon off``) as our child, so we own its PID.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

from .paths import MODULE_PATH, NGINX_BIN
from .ports import free_port, wait_for_port, wait_until
from .procs import child_pids

_TEMPLATE = """\
{load_module}
{user}
worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {level};
{main_body}
events {{ worker_connections 1024; }}
http {{
  access_log {prefix}/access.log;
  default_type application/octet-stream;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
{http_body}
}}
"""


def render_conf(prefix, http_body, module_path=MODULE_PATH, main_body="", workers=1,
                level="info", port=0) -> str:
    """The full nginx.conf text; module_path=None omits load_module."""
    def sub(s):
        return s.replace("@PORT@", str(port)).replace("@PREFIX@", str(prefix))
    load = f"load_module {module_path};" if module_path else ""
    # As root, workers would switch to "nobody" and lose access to 0700 temp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    return _TEMPLATE.format(load_module=load, user=user, workers=workers, prefix=prefix, level=level,
                            main_body=sub(main_body), http_body=sub(http_body))


def nginx_t(tmpdir, http_body, module_path=MODULE_PATH, main_body="") -> subprocess.CompletedProcess:
    """Runs ``nginx -t`` on a generated config; returns the CompletedProcess
    (``returncode``, combined output in ``stdout``)."""
    prefix = Path(tmpdir) / f"nginx-t-{time.monotonic_ns():x}"
    (prefix / "tmp").mkdir(parents=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_conf(prefix, http_body, module_path, main_body, port=free_port()))
    return subprocess.run([NGINX_BIN, "-t", "-p", str(prefix), "-c", str(conf)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)


class Nginx:
    def __init__(self, tmpdir, http_body, module_path=MODULE_PATH, main_body="", workers=1,
                 level="info", start=True):
        self.prefix = Path(tmpdir) / f"nginx-{time.monotonic_ns():x}"
        (self.prefix / "tmp").mkdir(parents=True)
        self.port = free_port()
        self.workers = workers
        self.conf_path = self.prefix / "nginx.conf"
        self.error_log = self.prefix / "error.log"
        self.conf_path.write_text(render_conf(self.prefix, http_body, module_path, main_body,
                                              workers, level, self.port))
        self._proc = None
        if start:
            self.start()

    @property
    def pid(self):
        return self._proc.pid if self._proc else None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        out = open(self.prefix / "stderr.log", "ab")
        self._proc = subprocess.Popen([NGINX_BIN, "-p", str(self.prefix), "-c", str(self.conf_path)],
                                      stdout=out, stderr=subprocess.STDOUT)
        out.close()
        try:
            wait_until(lambda: self._proc.poll() is not None or self._listening(), timeout=10,
                       what="nginx to listen")
            if self._proc.poll() is not None:
                raise TimeoutError("nginx exited")
            wait_until(lambda: len(self.worker_pids()) >= self.workers, timeout=10,
                       what="nginx workers")
        except TimeoutError:
            text = (self.prefix / "stderr.log").read_text() + self.error_log_text()
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{text}")

    def _listening(self) -> bool:
        try:
            wait_for_port(self.port, timeout=0)
            return True
        except TimeoutError:
            return False

    def worker_pids(self) -> list[int]:
        return child_pids(self._proc.pid) if self._proc else []

    def reload(self, timeout: float = 30.0):
        """SIGHUP the master; returns once new workers run and all old ones exited
        (i.e. after the old workers' exit flush)."""
        old = set(self.worker_pids())
        os.kill(self._proc.pid, signal.SIGHUP)
        wait_until(lambda: not (old & set(self.worker_pids()))
                   and len(self.worker_pids()) >= self.workers,
                   timeout=timeout, what="nginx reload")

    def stop(self, timeout: float = 30.0):
        """Graceful stop (SIGQUIT) of our master; SIGKILL after the timeout."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGQUIT)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    os.kill(pid, signal.SIGKILL)
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def error_log_text(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alerts(self) -> list[str]:
        """error.log lines at [alert] or [emerg] level."""
        return [l for l in self.error_log_text().splitlines()
                if "[alert]" in l or "[emerg]" in l]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
