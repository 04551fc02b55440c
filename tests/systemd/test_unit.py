"""systemd/hubstatsd.service: `systemd-analyze verify` is clean and
`systemd-analyze security --offline` rates the unit 2.0 or lower.

Both work without systemd as PID 1. verify insists that ExecStart's binary exists,
so the checks run on a copy of the unit pointing at the freshly built daemon.
"""

import os
import re
import shutil
import subprocess

import pytest

SOURCE_DIR = os.environ.get(
    "HUBSTATS_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("HUBSTATS_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
UNIT = os.path.join(SOURCE_DIR, "systemd", "hubstatsd.service")
DAEMON = os.path.join(BUILD_DIR, "daemon", "hubstatsd")
INSTALLED_DAEMON = "/usr/bin/hubstatsd"
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing (apt-get install systemd)")


def unit_text():
    with open(UNIT, encoding="utf-8") as f:
        return f.read()


def parse_unit(text):
    """Returns {(section, key): [values...]} keeping repeated keys in order."""
    entries = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        entries.setdefault((section, key.strip()), []).append(value.strip())
    return entries


def write_testable_copy(tmp_path, text):
    """The unit with ExecStart pointing at the built daemon (verify checks it exists)."""
    assert os.access(DAEMON, os.X_OK), f"build the daemon first: {DAEMON} missing"
    assert INSTALLED_DAEMON in text
    path = tmp_path / "hubstatsd.service"
    path.write_text(text.replace(INSTALLED_DAEMON, DAEMON), encoding="utf-8")
    return path


def run(*args):
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"})


def overall_exposure(output):
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    assert m, f"no overall exposure line in:\n{output}"
    return float(m.group(1))


def test_verify_is_clean(tmp_path):
    unit = write_testable_copy(tmp_path, unit_text())
    r = run("verify", "--man=no", str(unit))
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr


def test_verify_catches_a_broken_unit(tmp_path):
    # Guards the check above: a typo'd directive must make verify complain.
    text = unit_text().replace("ProtectHome=yes", "ProtectHomme=yes")
    unit = write_testable_copy(tmp_path, text)
    r = run("verify", "--man=no", str(unit))
    assert "ProtectHomme" in r.stderr


def test_security_rating_at_most_2(tmp_path):
    unit = write_testable_copy(tmp_path, unit_text())
    r = run("security", "--offline=yes", "--no-pager", str(unit))
    assert r.returncode == 0, r.stderr
    assert overall_exposure(r.stdout) <= MAX_EXPOSURE, r.stdout
    # systemd's own threshold (scale 0..100) agrees.
    t = run("security", "--offline=yes", "--no-pager", f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit))
    assert t.returncode == 0, t.stdout + t.stderr


def test_security_rating_reacts_to_hardening(tmp_path):
    # Guards the rating check: the same unit without its sandbox rates far worse.
    entries = parse_unit(unit_text())
    keep = ("Type", "NotifyAccess", "ExecStart", "ExecReload", "Restart", "RestartSec",
            "TimeoutStartSec", "TimeoutStopSec", "User", "Group", "Description", "Documentation",
            "Wants", "After", "WantedBy", "ConfigurationDirectory", "LimitNOFILE")
    lines = []
    for section in ("Unit", "Service", "Install"):
        lines.append(f"[{section}]")
        for (sec, key), values in entries.items():
            if sec == section and key in keep:
                lines.extend(f"{key}={v}" for v in values)
    unit = write_testable_copy(tmp_path, "\n".join(lines) + "\n")
    r = run("security", "--offline=yes", "--no-pager", str(unit))
    assert overall_exposure(r.stdout) > MAX_EXPOSURE + 3, r.stdout


def test_unit_contract():
    e = parse_unit(unit_text())

    def one(key, section="Service"):
        values = e.get((section, key))
        assert values, f"[{section}] {key}= missing"
        return values[-1]

    assert one("Type") == "notify"
    assert one("Restart") == "on-failure"
    assert one("ExecStart") == "/usr/bin/hubstatsd -c /etc/hubstats/hubstatsd.yaml"
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("DynamicUser") == "yes"
    for key in ("ProtectHome", "PrivateTmp", "NoNewPrivileges", "PrivateDevices", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectControlGroups", "MemoryDenyWriteExecute",
                "RestrictSUIDSGID", "LockPersonality", "RestrictRealtime", "RestrictNamespaces"):
        assert one(key) == "yes", key
    assert one("ProtectSystem") == "strict"
    assert one("CapabilityBoundingSet") == ""
    assert set(one("RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    filters = e[("Service", "SystemCallFilter")]
    assert "@system-service" in filters
    assert any(f.startswith("~") and "@privileged" in f for f in filters)
    assert one("SystemCallArchitectures") == "native"
    assert one("WantedBy", "Install") == "multi-user.target"
