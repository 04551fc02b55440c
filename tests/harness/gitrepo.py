"""Git repositories served over smart HTTP by git-http-backend behind fcgiwrap.

    from harness.gitrepo import make_bare_repo, FcgiWrap, GIT_HTTP_BACKEND
    make_bare_repo(root / "models/demo/tiny.git", {"config.json": b"{}"})
    with FcgiWrap(tmp_path) as fw:      # fw.socket: the unix socket path
        ...  # nginx: fastcgi_pass unix:<fw.socket>; SCRIPT_FILENAME GIT_HTTP_BACKEND
"""
import os
import signal
import subprocess
import time
from pathlib import Path

from .ports import wait_until
from .procs import child_pids, terminate

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
FCGIWRAP = "/usr/sbin/fcgiwrap"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "hubstats test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "hubstats test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "GIT_TERMINAL_PROMPT": "0",
}


def git(*args, cwd=None, check=True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(GIT_ENV)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=check, timeout=60,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def make_bare_repo(path, files: dict) -> Path:
    """Creates a bare repository at ``path`` with one commit on ``main`` holding
    ``files`` ({relative path: bytes|str}); pushes over HTTP are allowed."""
    path = Path(path)
    work = path.with_name(path.name + ".work")
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", str(work))
    for rel, data in files.items():
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data if isinstance(data, bytes) else data.encode())
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "initial", cwd=work)
    git("clone", "-q", "--bare", str(work), str(path))
    git("config", "http.receivepack", "true", cwd=path)
    return path


class FcgiWrap:
    """fcgiwrap listening on a unix socket under tmpdir; stopped by PID."""

    def __init__(self, tmpdir, start=True):
        self.socket = Path(tmpdir) / f"fcgiwrap-{time.monotonic_ns():x}.sock"
        self._proc = None
        if start:
            self.start()

    def start(self):
        self._proc = subprocess.Popen([FCGIWRAP, "-c", "2", "-s", f"unix:{self.socket}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.socket.exists, timeout=10, what="fcgiwrap socket")

    def stop(self):
        if self._proc is None:
            return
        # fcgiwrap -c forks workers and replaces any that dies, and its workers
        # outlive it. So: note the workers, stop the parent first (no more respawns),
        # then stop the workers it had, each by PID.
        workers = set(child_pids(self._proc.pid))
        terminate(self._proc)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self._proc = None
        try:
            self.socket.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
