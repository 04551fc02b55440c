"""Runs a stack script of the README (scripts/dev-up, scripts/fleet-up) for real, in a
throwaway state directory with the ctest build, and stops it with its down script.

    with stack_script("dev-up", "dev-down", "HUBSTATS_RUN_DIR", "HUBSTATS_DEVUP_NO_BUILD",
                      ports=(28080, ...)) as (run, stdout):
        ...

On the way out it checks that the down script succeeded, that no process still names
the state directory and that every port is closed again; after_down(run) may return
more problems (e.g. alerts in a log) before the directory is removed."""
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from .ports import wait_until

ROOT = Path(__file__).resolve().parents[2]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def processes_using(path) -> list[int]:
    """Live PIDs whose command line names path (fcgiwrap and its workers, ...)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if str(path).encode() in cmdline and state != "Z":
                pids.append(int(entry.name))
    return pids


def read_env(path) -> dict:
    out = {}
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition("=")
        out[key] = value
    return out


@contextmanager
def stack_script(up: str, down: str, dir_var: str, no_build_var: str, ports,
                 after_down=None, up_timeout: float = 300):
    if os.geteuid() != 0:
        pytest.fail(f"scripts/{up} needs root (it starts PostgreSQL through runuser)")
    busy = [p for p in ports if port_busy(p)]
    if busy:
        pytest.fail(f"ports {busy} are in use: stop it first (scripts/{down})")
    run = Path(tempfile.mkdtemp(prefix=f"hubstats-{up}-"))
    run.chmod(0o755)  # PostgreSQL (user postgres) and nginx workers (nobody) look inside
    env = dict(os.environ, **{dir_var: str(run), no_build_var: "1"},
               HUBSTATS_BUILD_DIR=os.environ.get("HUBSTATS_BUILD_DIR", str(ROOT / "build")))
    env.pop("HUBSTATS_SESSION_WINDOW", None)
    try:
        started = subprocess.run([str(ROOT / "scripts" / up)], env=env, capture_output=True,
                                 text=True, timeout=up_timeout)
        assert started.returncode == 0, f"{up} failed:\n{started.stdout}\n{started.stderr}"
        yield run, started.stdout
    finally:
        stopped = subprocess.run([str(ROOT / "scripts" / down)], env=env, capture_output=True,
                                 text=True, timeout=180)
        wait_until(lambda: not processes_using(run), timeout=20,
                   what=f"{up}'s processes to end")
        still = [p for p in ports if port_busy(p)]
        problems = after_down(run) if after_down else []
        shutil.rmtree(run, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr
        assert not still, f"{down} left ports {still} open"
        assert not problems, problems
