"""The daemon works inside the unit's sandbox.

systemd is not PID 1 here, so the sandbox cannot be applied for real. Instead the
built daemon runs under strace against real PostgreSQL and Redis while it starts,
serves requests, folds, reloads (SIGHUP) and stops (SIGTERM), and every system call it
made is checked against what hubstatsd.service allows:

- SystemCallFilter= (the groups as systemd-analyze expands them),
- RestrictAddressFamilies= (the families passed to socket()),
- MemoryDenyWriteExecute= (no mapping both writable and executable).

A call outside the filter would fail with EPERM under systemd, so this catches a
filter that is too tight before an operator does.
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from harness.paths import BUILD_DIR, SOURCE_DIR
from harness.ports import free_port, wait_for_port, wait_until
from harness.postgres import PostgresServer
from harness.redis import RedisServer

DAEMON = BUILD_DIR / "daemon" / "hubstatsd"
UNIT = SOURCE_DIR / "systemd" / "hubstatsd.service"
STRACE = shutil.which("strace")

pytestmark = [
    pytest.mark.skipif(STRACE is None, reason="strace missing (apt-get install strace)"),
    pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing"),
]


def unit_values(key):
    values = []
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        k, sep, v = line.strip().partition("=")
        if sep and k == key:
            values.append(v.strip())
    return values


def syscall_groups():
    """{"@group": [entries...]} as this systemd knows them (entries may be groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True,
                         text=True, check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
        elif not line.strip():
            current = None
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if name.startswith("@"):
            if name in seen:
                continue
            seen.add(name)
            assert name in groups, f"unknown syscall group {name}"
            calls |= expand(groups[name], groups, seen)
        else:
            calls.add(name)
    return calls


def allowed_syscalls():
    """The set SystemCallFilter= leaves allowed: the first allow list minus ~deny lists."""
    groups = syscall_groups()
    allowed = None
    for value in unit_values("SystemCallFilter"):
        if value.startswith("~"):
            assert allowed is not None, "deny list before allow list"
            allowed -= expand(value[1:].split(), groups)
        elif allowed is None:
            allowed = expand(value.split(), groups)
        else:
            allowed |= expand(value.split(), groups)
    assert allowed, "the unit has no SystemCallFilter allow list"
    return allowed


def write_config(path, port, redis_address, dsn):
    path.write_text(f"""
listen: {{address: 127.0.0.1, port: {port}}}
redis: {{address: "{redis_address}"}}
postgres: {{dsn: "{dsn}"}}
fold: {{background: true, interval: 1s}}
catalog: {{backend: builtin}}
""", encoding="utf-8")


# A repo no request touches, so only the background fold can move its counters.
FOLDED_SQL = ("SELECT downloads FROM hubstats.daily_downloads "
              "WHERE repo_type = 'model' AND namespace = 'demo' AND name = 'background'")


def seed_yesterday(redis):
    """Counters for yesterday (UTC), as the module's record/index scripts leave them."""
    day = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y%m%d")
    tag = "model/demo/background"
    with redis.client() as c:
        c.execute("HSET", f"hs:{{{tag}}}:d:{day}", "downloads", "3", "authenticated", "1",
                  "anonymous", "2", "files", "5")
        c.execute("SADD", f"hs:{{{tag}}}:days", day)
        c.execute("SADD", f"hs:idx:{day}", tag)


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """strace output of one full daemon life cycle: [(syscall, args text)]."""
    assert os.access(DAEMON, os.X_OK), f"build the daemon first: {DAEMON} missing"
    tmp = tmp_path_factory.mktemp("sandbox")
    trace_file = tmp / "strace.txt"
    port = free_port()
    with RedisServer(tmp) as redis:
        pg = PostgresServer(tmp)
        try:
            seed_yesterday(redis)
            conf = tmp / "hubstatsd.yaml"
            write_config(conf, port, redis.address, pg.dsn)
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSTATSD_")}
            with open(tmp / "hubstatsd.log", "wb") as log:
                strace = subprocess.Popen(
                    [STRACE, "-f", "-qq", "-s", "0", "-o", str(trace_file), str(DAEMON), "-c", str(conf)],
                    env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_port(port, timeout=60)
                daemon_pid = int(subprocess.run(["pgrep", "-P", str(strace.pid)], capture_output=True,
                                                text=True).stdout.split()[0])
                assert get(port, "/health") == 200
                get(port, "/models/demo/m/stats")
                get(port, "/models/demo/m/stats/recent?days=7")
                get(port, "/api/trending?repo_type=model&days=7")
                # The background fold (every 1s) moves yesterday's seeded counters to PostgreSQL.
                wait_until(lambda: pg.rows(FOLDED_SQL) == [["3"]], timeout=30, what="background fold")
                os.kill(daemon_pid, signal.SIGHUP)
                wait_until(lambda: "reloaded" in (tmp / "hubstatsd.log").read_text(), timeout=10,
                           what="reload logged")
                assert get(port, "/health") == 200
                os.kill(daemon_pid, signal.SIGTERM)
                assert strace.wait(timeout=30) == 0, (tmp / "hubstatsd.log").read_text()
            finally:
                if strace.poll() is None:
                    strace.kill()
                    strace.wait()
        finally:
            pg.cleanup()
    calls = []
    line_re = re.compile(r"^\d+\s+([a-z_0-9]+)\((.*)")
    for line in trace_file.read_text(errors="replace").splitlines():
        m = line_re.match(line)
        if m:
            calls.append((m.group(1), m.group(2)))
    assert len(calls) > 100, "strace recorded suspiciously little"
    return calls


def test_every_syscall_passes_the_filter(trace):
    allowed = allowed_syscalls()
    used = {name for name, _ in trace}
    # strace itself attaches before exec: ignore its own bookkeeping, nothing else.
    denied = sorted(used - allowed)
    assert not denied, f"SystemCallFilter= would deny: {denied}"


def test_filter_check_can_fail():
    # Guards the test above: the filter must really exclude privileged calls.
    allowed = allowed_syscalls()
    assert "setuid" not in allowed and "mount" not in allowed and "setrlimit" not in allowed
    assert {"read", "write", "epoll_wait", "socket", "connect"} <= allowed


def test_socket_families_are_allowed(trace):
    allowed = set(" ".join(unit_values("RestrictAddressFamilies")).split())
    families = {args.split(",")[0].strip() for name, args in trace if name in ("socket", "socketpair")}
    assert families, "no socket() calls traced"
    assert families <= allowed, f"RestrictAddressFamilies= would refuse {families - allowed}"


def test_no_writable_executable_memory(trace):
    assert unit_values("MemoryDenyWriteExecute") == ["yes"]
    wx = [f"{name}({args}" for name, args in trace
          if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_WRITE" in args and "PROT_EXEC" in args]
    assert not wx, f"MemoryDenyWriteExecute= would refuse: {wx[:5]}"
