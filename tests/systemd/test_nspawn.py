"""The unit under a real systemd: a Debian 12 root booted with systemd-nspawn (systemd as
PID 1, private network), the built .deb packages installed in it with apt, PostgreSQL and
Redis from Debian, and the unit driven with systemctl:

- `systemctl start` returns only after READY=1: it fails while PostgreSQL is down, and
  once it returns the API answers and the schema is migrated, without any waiting;
- the logs are in the journal; `systemctl reload` reopens the log file (rotation);
- a SIGKILLed daemon is restarted by Restart=on-failure;
- the sandbox is in force: the daemon runs without capabilities under seccomp, and a
  probe run with the unit's own [Service] section cannot write outside the log
  directory nor open sockets of other address families (the same probe outside the
  sandbox can: the probe tells);
- `systemctl stop` is graceful (exit 0, "stopped" logged, no SIGKILL).

Needs root, debootstrap and systemd-container. The root file systems are cached in
HUBSTATS_TEST_CACHE (default /var/cache/hubstats-tests), outside the clone: a debootstrap
base, and on top of it one with PostgreSQL, Redis, curl and the packages' dependencies
(keyed by the dependency lists). Each run boots an overlay of the cached root, so the
cache is never modified. The durations of each step are printed (pytest -s).
"""
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness.paths import BUILD_DIR

CACHE = Path(os.environ.get("HUBSTATS_TEST_CACHE", "/var/cache/hubstats-tests"))
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
BASE_INCLUDE = ["systemd", "systemd-sysv", "dbus", "ca-certificates"]
SERVICES = ["redis-server", "postgresql", "curl"]
PACKAGES = ("hubstatsd", "hubstats")  # the daemon and the CLI (the module needs nginx)
CONFIG = "/etc/hubstats/hubstatsd.yaml"
ENV_FILE = "/etc/hubstats/hubstatsd.env"
LOG_FILE = "/var/log/hubstats/hubstatsd.log"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="boots a container: needs root"),
]

TIMINGS: dict[str, float] = {}


def sh(*cmd, check=True, timeout=600, env=None, input=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       env=env, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def timed(name):
    class T:
        def __enter__(self):
            self.t0 = time.monotonic()

        def __exit__(self, *exc):
            TIMINGS[name] = time.monotonic() - self.t0
    return T()


def need_tools():
    missing = [t for t in ("debootstrap", "systemd-nspawn", "nsenter", "cpack", "dpkg-deb")
               if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing {missing}: run scripts/install-deps (debootstrap systemd-container)")


# --- the cached root file systems ---------------------------------------------------

def cached(name: str, key: str, build) -> Path:
    """CACHE/<name>-<hash of key>, built once by build(tmp_dir) and renamed into place;
    older versions of the same name are removed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (path / ".complete").exists():
        return path
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE))
    try:
        build(tmp)
        (tmp / ".complete").write_text(key + "\n")
        try:
            os.rename(tmp, path)
        except OSError:  # built meanwhile by another run
            if not (path / ".complete").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in CACHE.glob(f"{name}-*"):
        if old != path and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return path


def base_root() -> Path:
    def build(tmp):
        os.rmdir(tmp)  # debootstrap wants to create it
        sh("debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_INCLUDE), SUITE,
           tmp, MIRROR, timeout=900)
    return cached("bookworm-base", f"{SUITE} {MIRROR} {BASE_INCLUDE}", build)


def package_dependencies(debs: dict[str, str]) -> list[str]:
    """The Debian packages the built .debs depend on (first alternative, no versions)."""
    out = set()
    for deb in debs.values():
        depends = sh("dpkg-deb", "-f", deb, "Depends").stdout.strip()
        for item in filter(None, (d.strip() for d in depends.split(","))):
            out.add(item.split("|")[0].split("(")[0].strip())
    return sorted(out - set(PACKAGES))


def full_root(debs: dict[str, str]) -> Path:
    base = base_root()
    wanted = SERVICES + package_dependencies(debs)

    def build(tmp):
        os.rmdir(tmp)
        sh("cp", "-a", "--reflink=auto", base, tmp, timeout=900)
        nspawn = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", tmp,
                  "--setenv=DEBIAN_FRONTEND=noninteractive"]
        sh(*nspawn, "apt-get", "update", timeout=900)
        sh(*nspawn, "apt-get", "install", "-y", "--no-install-recommends", *wanted, timeout=1200)
        sh(*nspawn, "apt-get", "clean")
    return cached("bookworm-hubstats", f"{base.name} {wanted}", build)


# --- a booted container ----------------------------------------------------------------

class Container:
    """systemd-nspawn --boot of an overlay over a cached root; run() executes a command
    inside (nsenter into every namespace of the container's PID 1)."""

    def __init__(self, root: Path, workdir: Path):
        self.dir = workdir
        for d in ("upper", "work", "merged"):
            (workdir / d).mkdir()
        self.merged = workdir / "merged"
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={root},upperdir={workdir / 'upper'},workdir={workdir / 'work'}",
           self.merged)
        self.console = open(workdir / "console.log", "wb")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--private-network",
             "--console=read-only", f"--machine=hubstats-{os.getpid()}", "-D", str(self.merged)],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT)
        self.leader = None

    def find_leader(self, timeout=30) -> int:
        """The container's PID 1: the descendant of systemd-nspawn running systemd."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"systemd-nspawn exited:\n{self.console_text()}"
            todo = [self.proc.pid]
            while todo:
                pid = todo.pop()
                try:
                    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                except FileNotFoundError:
                    continue
                for k in map(int, kids):
                    try:
                        if Path(f"/proc/{k}/comm").read_text().strip() == "systemd":
                            self.leader = k
                            return k
                    except FileNotFoundError:
                        pass
                    todo.append(k)
            time.sleep(0.1)
        raise TimeoutError("no systemd in the container")

    def run(self, *cmd, check=True, timeout=120, input=None):
        return sh("nsenter", "-t", self.leader, "-a", "--", "/usr/bin/env", "-i",
                  "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", *cmd,
                  check=check, timeout=timeout, input=input)

    def shell(self, script: str, check=True, timeout=120):
        return self.run("/bin/bash", "-c", script, check=check, timeout=timeout)

    def wait_booted(self, timeout=120):
        self.find_leader()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.run("systemctl", "is-system-running", "--wait", check=False,
                         timeout=timeout)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(0.5)
        raise TimeoutError(f"container did not boot:\n{self.console_text()}")

    def console_text(self) -> str:
        return (self.dir / "console.log").read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None and self.leader:
            self.run("systemctl", "poweroff", check=False, timeout=30)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()  # systemd-nspawn takes the container down with it
            self.proc.wait()
        self.console.close()
        for _ in range(20):
            if sh("umount", self.merged, check=False).returncode == 0:
                break
            time.sleep(0.5)


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    need_tools()
    config = BUILD_DIR / "CPackConfig.cmake"
    assert config.exists(), f"configure the build first: {config} missing"
    out = tmp_path_factory.mktemp("debs")
    with timed("cpack"):
        sh("cpack", "-G", "DEB", "--config", config, "-B", out, timeout=900)
    found = {}
    for deb in glob.glob(str(out / "*.deb")):
        name = sh("dpkg-deb", "-f", deb, "Package").stdout.strip()
        if name in PACKAGES:
            found[name] = deb
    assert set(found) == set(PACKAGES), sorted(found)
    return found


@pytest.fixture(scope="module")
def box(debs):
    with timed("root file system (cached after the first run)"):
        root = full_root(debs)
    work = Path(tempfile.mkdtemp(prefix="hubstats-nspawn-"))
    c = Container(root, work)
    try:
        with timed("boot"):
            state = c.wait_booted()
        assert state in ("running", "degraded"), state
        incoming = c.merged / "root" / "debs"
        incoming.mkdir()
        for deb in debs.values():
            shutil.copy(deb, incoming)
        yield c
    finally:
        c.stop()
        shutil.rmtree(work, ignore_errors=True)
        print("\n[nspawn] " + ", ".join(f"{k}: {v:.1f}s" for k, v in TIMINGS.items()))


def health(box) -> str:
    return box.shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 "
                     "http://127.0.0.1:8090/health", check=False).stdout.strip()


def main_pid(box) -> int:
    return int(box.run("systemctl", "show", "-P", "MainPID", "hubstatsd").stdout.strip())


def prop(box, name) -> str:
    return box.run("systemctl", "show", "-P", name, "hubstatsd").stdout.strip()


def journal(box, unit="hubstatsd") -> str:
    return box.run("journalctl", "--no-pager", "-o", "cat", "-u", unit).stdout


def wait_for(what, predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(what)


# --- the tests, in order on one container ---------------------------------------------

def test_packages_install_with_apt(box):
    with timed("apt install"):
        r = box.shell("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                      "/root/debs/*.deb", timeout=300)
    assert "Setting up hubstatsd" in r.stdout, r.stdout
    assert box.run("systemctl", "cat", "hubstatsd").returncode == 0
    assert box.run("id", "-u", "hubstats").returncode == 0
    # The database the packaged config names (postgresql:///hubstats, peer auth as the
    # service user hubstats).
    wait_for("postgresql", lambda: box.run("pg_isready", "-q", check=False).returncode == 0, 60)
    box.shell("runuser -u postgres -- psql -qc 'CREATE ROLE hubstats LOGIN' && "
              "runuser -u postgres -- createdb -O hubstats hubstats")
    wait_for("redis", lambda: box.shell("redis-cli ping 2>/dev/null || "
                                        "exec 3<>/dev/tcp/127.0.0.1/6379", check=False)
             .returncode == 0, 60)


def test_start_fails_without_postgresql(box):
    box.run("systemctl", "stop", "postgresql@15-main.service", "postgresql.service")
    r = box.run("systemctl", "start", "hubstatsd", check=False, timeout=120)
    assert r.returncode != 0, "start returned success without PostgreSQL"
    assert prop(box, "ActiveState") != "active"
    assert "msg=listening" not in journal(box)
    box.run("systemctl", "stop", "hubstatsd", check=False)  # ends the restart loop
    box.run("systemctl", "reset-failed", "hubstatsd", check=False)
    box.run("systemctl", "start", "postgresql@15-main.service", "postgresql.service")


def test_start_returns_only_when_ready(box):
    with timed("systemctl start hubstatsd"):
        box.run("systemctl", "start", "hubstatsd", timeout=120)
    # No polling: READY=1 means listening and migrated.
    assert health(box) == "200"
    migrated = box.shell("runuser -u postgres -- psql -d hubstats -tAc "
                         "'SELECT count(*) FROM hubstats.schema_migrations'").stdout.strip()
    assert int(migrated) >= 1
    assert prop(box, "ActiveState") == "active"
    assert prop(box, "Type") == "notify"
    # Redis reachable from the sandbox: trending reads today's counters from it.
    trending = box.shell("curl -s -w ' %{http_code}' http://127.0.0.1:8090/api/trending").stdout
    assert trending.endswith(" 200"), trending


def test_logs_are_in_the_journal(box):
    box.shell("curl -s -H 'X-Request-Id: journal-check' http://127.0.0.1:8090/health")
    wait_for("request line in the journal", lambda: "request_id=journal-check" in journal(box))
    log = journal(box)
    assert "msg=listening" in log


def test_reload_reopens_the_log_file(box):
    box.shell(f"echo HUBSTATSD_LOG_FILE={LOG_FILE} > {ENV_FILE}")
    box.run("systemctl", "restart", "hubstatsd")
    box.shell("curl -s -H 'X-Request-Id: before-rotation' http://127.0.0.1:8090/health")
    wait_for("log file", lambda: "before-rotation" in box.shell(
        f"cat {LOG_FILE} 2>/dev/null", check=False).stdout)
    box.shell(f"mv {LOG_FILE} {LOG_FILE}.1")
    box.run("systemctl", "reload", "hubstatsd")
    wait_for("reopened log file", lambda: box.shell(f"test -e {LOG_FILE}", check=False)
             .returncode == 0, 10)
    box.shell("curl -s -H 'X-Request-Id: after-rotation' http://127.0.0.1:8090/health")
    wait_for("request in the new file", lambda: "after-rotation" in box.shell(
        f"cat {LOG_FILE}").stdout)
    assert "after-rotation" not in box.shell(f"cat {LOG_FILE}.1").stdout
    assert prop(box, "ActiveState") == "active"
    box.shell(f"rm -f {ENV_FILE}")
    box.run("systemctl", "restart", "hubstatsd")


def test_sigkilled_daemon_is_restarted(box):
    before = main_pid(box)
    restarts = int(prop(box, "NRestarts"))
    box.run("kill", "-9", str(before))
    with timed("restart after SIGKILL"):
        wait_for("restarted daemon", lambda: main_pid(box) not in (0, before)
                 and prop(box, "ActiveState") == "active", 30)
    assert int(prop(box, "NRestarts")) == restarts + 1
    assert health(box) == "200"


PROBE = r"""
use strict; use Socket;
sub try_write { my $p = shift; if (open(my $f, '>', $p)) { close $f; unlink $p; print "write $p: ok\n" }
                else { print "write $p: denied ($!)\n" } }
try_write($_) for qw(/etc/hubstats/probe /usr/probe /var/lib/probe /root/probe /opt/probe
                     /var/log/hubstats/probe /tmp/probe);
for my $f ([2, 'inet'], [10, 'inet6'], [1, 'unix'], [16, 'netlink'], [17, 'packet'], [40, 'vsock']) {
  if (socket(my $s, $f->[0], 2, 0)) { print "socket $f->[1]: ok\n" }
  else { print "socket $f->[1]: denied ($!)\n" }
}
"""


def probe_results(text: str) -> dict[str, bool]:
    out = {}
    for line in text.splitlines():
        if line.startswith(("write ", "socket ")) and ": " in line:
            what, result = line.rsplit(": ", 1)[0], line.rsplit(": ", 1)[1]
            out[what] = result == "ok"
    return out


def test_the_sandbox_is_in_force(box):
    pid = main_pid(box)
    status = box.shell(f"cat /proc/{pid}/status").stdout
    fields = dict(l.split(":\t", 1) for l in status.splitlines() if ":\t" in l)
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0
    uid = fields["Uid"].split()[0]
    assert box.run("id", "-u", "hubstats").stdout.strip() == uid

    box.run("tee", "/usr/local/bin/hubstats-probe", input=PROBE)
    # The same [Service] section as the installed unit, with the probe as a oneshot.
    unit = box.run("cat", "/lib/systemd/system/hubstatsd.service").stdout
    lines = []
    for line in unit.splitlines():
        if line.startswith(("ExecStart=", "ExecReload=", "Restart", "Type=", "NotifyAccess=")):
            continue
        lines.append(line)
        if line.strip() == "[Service]":
            lines += ["Type=oneshot", "ExecStart=/usr/bin/perl /usr/local/bin/hubstats-probe"]
    box.run("tee", "/etc/systemd/system/hubstats-probe.service", input="\n".join(lines) + "\n")
    box.run("systemctl", "daemon-reload")
    box.run("systemctl", "start", "hubstats-probe", timeout=60)
    sandboxed = probe_results(journal(box, "hubstats-probe"))
    outside = probe_results(box.run("/usr/bin/perl", "/usr/local/bin/hubstats-probe").stdout)
    print(f"\n[nspawn] probe in the unit's sandbox: {sandboxed}\n[nspawn] outside: {outside}")

    for path in ("/etc/hubstats/probe", "/usr/probe", "/var/lib/probe", "/root/probe",
                 "/opt/probe"):
        assert outside[f"write {path}"], f"the probe cannot tell: {path} unwritable for root"
        assert not sandboxed[f"write {path}"], f"the daemon's sandbox can write {path}"
    assert sandboxed["write /var/log/hubstats/probe"]  # LogsDirectory=
    for fam in ("inet", "inet6", "unix"):
        assert sandboxed[f"socket {fam}"], fam
    for fam in ("netlink", "packet", "vsock"):
        if outside[f"socket {fam}"]:
            assert not sandboxed[f"socket {fam}"], f"RestrictAddressFamilies lets {fam} through"
    assert any(outside[f"socket {f}"] for f in ("netlink", "packet", "vsock")), outside


def test_stop_is_graceful(box):
    assert prop(box, "ActiveState") == "active"
    with timed("systemctl stop hubstatsd"):
        box.run("systemctl", "stop", "hubstatsd", timeout=60)
    assert TIMINGS["systemctl stop hubstatsd"] < 30  # TimeoutStopSec: no SIGKILL
    assert prop(box, "Result") == "success"
    assert prop(box, "ExecMainStatus") == "0"
    # What was logged since the last start: the daemon's own shutdown and systemd's verdict.
    log = journal(box)
    last_run = log[log.rindex("msg=listening"):]
    assert 'msg="shutting down"' in last_run, last_run
    assert "msg=stopped" in last_run, last_run
    assert "Deactivated successfully" in last_run, last_run
    assert "SIGKILL" not in last_run and "code=killed" not in last_run, last_run
