"""The .deb files from `cpack -G DEB` install with apt on this machine, put every file
where Debian expects it, and the packaged nginx loads the packaged module.

Runs as root (CI does). The packages are purged again at the end, the "hubstats"
system user is deleted if this test created it, and the system nginx is never
started or reloaded: the nginx started here has its own config, pid file and port.
"""

import glob
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request

import pytest

SOURCE_DIR = os.environ.get(
    "HUBSTATS_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("HUBSTATS_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))

MODULE_PKG = "libnginx-mod-http-hubstats"
DAEMON_PKG = "hubstatsd"
CLI_PKG = "hubstats"
PACKAGES = (MODULE_PKG, DAEMON_PKG, CLI_PKG)

MODULE_SO = "/usr/lib/nginx/modules/ngx_http_hubstats_module.so"
MODULE_AVAILABLE = "/usr/share/nginx/modules-available/mod-http-hubstats.conf"
MODULE_ENABLED = "/etc/nginx/modules-enabled/50-mod-http-hubstats.conf"
DAEMON_BIN = "/usr/bin/hubstatsd"
CLI_BIN = "/usr/bin/hubstats"
UNIT = "/lib/systemd/system/hubstatsd.service"
CONFIG = "/etc/hubstats/hubstatsd.yaml"
SERVICE_USER = "hubstats"
NGINX = "/usr/sbin/nginx"

APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
APT_OPTS = ["-o", "DPkg::Lock::Timeout=120", "-o", "Dpkg::Options::=--force-confdef",
            "-o", "Dpkg::Options::=--force-confold"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs packages: needs root")


def sh(*cmd, check=True, timeout=300, env=None):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def installed(pkg):
    r = sh("dpkg-query", "-W", "-f=${Status}", pkg, check=False)
    return r.returncode == 0 and "install ok installed" in r.stdout


def known_to_dpkg(pkg):
    r = sh("dpkg-query", "-W", "-f=${Status}", pkg, check=False)
    return r.returncode == 0 and "not-installed" not in r.stdout


def purge_all():
    present = [p for p in PACKAGES if known_to_dpkg(p)]
    if present:
        sh("apt-get", "purge", "-y", *APT_OPTS, *present, env=APT_ENV)


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def control_field(deb, field):
    return sh("dpkg-deb", "-f", deb, field).stdout.strip()


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """Builds the packages from the build tree; returns {package name: .deb path}."""
    config = os.path.join(BUILD_DIR, "CPackConfig.cmake")
    assert os.path.exists(config), f"configure the build first: {config} missing"
    out = tmp_path_factory.mktemp("debs")
    sh("cpack", "-G", "DEB", "--config", config, "-B", str(out), timeout=600)
    found = {}
    for deb in glob.glob(str(out / "*.deb")):
        found[control_field(deb, "Package")] = deb
    assert set(found) == set(PACKAGES), f"built {sorted(found)}, expected {sorted(PACKAGES)}"
    return found


@pytest.fixture(scope="module")
def installation(debs):
    """Installs the three packages with apt; purges them (and our user) afterwards."""
    # A run that died half-way must not make this one pass or fail by accident.
    purge_all()
    user_existed = user_exists(SERVICE_USER)
    try:
        sh("apt-get", "install", "-y", "--no-install-recommends", *APT_OPTS, *debs.values(),
           env=APT_ENV)
        yield debs
    finally:
        purge_all()
        if not user_existed and user_exists(SERVICE_USER):
            sh("deluser", "--system", SERVICE_USER, check=False)
            try:
                grp.getgrnam(SERVICE_USER)
                sh("delgroup", "--system", SERVICE_USER, check=False)
            except KeyError:
                pass


# --- control data (no installation needed) ----------------------------------------------

def test_module_depends_on_the_installed_nginx_abi(debs):
    provides = sh("dpkg-query", "-W", "-f=${Provides}", "nginx").stdout
    abi = [p.strip() for p in provides.split(",") if p.strip().startswith("nginx-abi-")]
    assert len(abi) == 1, provides
    depends = [d.strip() for d in control_field(debs[MODULE_PKG], "Depends").split(",")]
    assert abi[0] in depends
    # dpkg-shlibdeps found the libraries the module links.
    assert any(d.startswith("libhiredis0.14") for d in depends), depends


def test_daemon_control_data(debs):
    depends = control_field(debs[DAEMON_PKG], "Depends")
    assert "adduser" in depends
    assert "procps" in depends  # /bin/kill for ExecReload=
    assert "libpq5" in depends
    conffiles = sh("dpkg-deb", "-I", debs[DAEMON_PKG], "conffiles", check=False).stdout.split()
    assert CONFIG in conffiles


def test_package_contents(debs):
    def files(pkg):
        listing = sh("dpkg-deb", "-c", debs[pkg]).stdout.splitlines()
        return {line.split()[-1].lstrip(".") for line in listing if not line.startswith("d")}

    assert {MODULE_SO, MODULE_AVAILABLE} <= files(MODULE_PKG)
    assert {DAEMON_BIN, UNIT, CONFIG} <= files(DAEMON_PKG)
    assert CLI_BIN in files(CLI_PKG)


# --- installed system ------------------------------------------------------------------

def test_module_installed_and_enabled(installation):
    assert installed(MODULE_PKG)
    assert os.path.isfile(MODULE_SO)
    with open(MODULE_AVAILABLE, encoding="utf-8") as f:
        assert f.read().strip() == "load_module modules/ngx_http_hubstats_module.so;"
    assert os.path.islink(MODULE_ENABLED)
    assert os.readlink(MODULE_ENABLED) == MODULE_AVAILABLE


def test_daemon_installed(installation):
    assert installed(DAEMON_PKG)
    assert os.access(DAEMON_BIN, os.X_OK)
    missing = [l for l in sh("ldd", DAEMON_BIN).stdout.splitlines() if "not found" in l]
    assert not missing, missing
    with open(UNIT, encoding="utf-8") as f, \
            open(os.path.join(SOURCE_DIR, "systemd", "hubstatsd.service"), encoding="utf-8") as src:
        assert f.read() == src.read()
    # The real unit, with the real binary in place, verifies cleanly.
    r = sh("systemd-analyze", "verify", "--man=no", UNIT, check=False)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # The config is readable by the service user only (it may hold passwords).
    st = os.stat(CONFIG)
    assert st.st_uid == 0
    assert grp.getgrgid(st.st_gid).gr_name == SERVICE_USER
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert user_exists(SERVICE_USER)
    conffiles = sh("dpkg-query", "-W", "-f=${Conffiles}", DAEMON_PKG).stdout
    assert CONFIG in conffiles


def test_cli_installed(installation):
    assert installed(CLI_PKG)
    r = sh(CLI_BIN, "--help", check=False)
    assert r.returncode == 0, r.stderr
    assert "stats" in r.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_conf(tmp_path, port, with_modules_enabled=True):
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    include = "include /etc/nginx/modules-enabled/*.conf;" if with_modules_enabled else ""
    conf = tmp_path / ("nginx.conf" if with_modules_enabled else "nginx-bare.conf")
    conf.write_text(f"""
{include}
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log info;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /hubstats-status {{ hubstats_status; }}
    }}
}}
""", encoding="utf-8")
    return conf


def test_packaged_nginx_accepts_the_packaged_module(installation, tmp_path):
    conf = nginx_conf(tmp_path, free_port())
    r = sh(NGINX, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log"), check=False)
    assert r.returncode == 0, r.stderr
    assert "test is successful" in r.stderr
    # Control: without the modules-enabled link the directive is unknown, so the
    # success above really came from the packaged module.
    bare = nginx_conf(tmp_path, free_port(), with_modules_enabled=False)
    r = sh(NGINX, "-t", "-c", str(bare), "-e", str(tmp_path / "error.log"), check=False)
    assert r.returncode != 0
    assert 'unknown directive "hubstats_status"' in r.stderr


def test_packaged_nginx_serves_the_module_status(installation, tmp_path):
    port = free_port()
    conf = nginx_conf(tmp_path, port)
    pid_file = tmp_path / "nginx.pid"
    error_log = tmp_path / "error.log"
    sh(NGINX, "-c", str(conf), "-e", str(error_log))
    pid = None
    try:
        deadline = time.monotonic() + 10
        while pid is None and time.monotonic() < deadline:
            if pid_file.exists() and pid_file.read_text().strip():
                pid = int(pid_file.read_text())
            else:
                time.sleep(0.05)
        assert pid is not None, "nginx wrote no pid file"
        body = None
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hubstats-status", timeout=2) as resp:
                    assert resp.status == 200
                    body = resp.read().decode()
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.05)
        assert body is not None, "nginx did not answer"
        assert body.strip(), "empty status body"
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
    log = error_log.read_text(encoding="utf-8", errors="replace")
    assert "[alert]" not in log, log
    assert "[emerg]" not in log, log


def test_remove_and_purge_leave_no_trace(installation):
    # remove: the module's link is parked (so nginx stops loading it), the conffile stays.
    sh("apt-get", "remove", "-y", *APT_OPTS, *PACKAGES, env=APT_ENV)
    assert not os.path.exists(MODULE_SO)
    assert not os.path.lexists(MODULE_ENABLED)
    assert os.path.islink(MODULE_ENABLED + ".removed")
    assert not os.path.exists(DAEMON_BIN) and not os.path.exists(CLI_BIN)
    assert os.path.exists(CONFIG)
    # purge (of what dpkg still knows: the CLI has no conffiles, so it is gone already):
    # nothing of ours is left in /etc.
    purge_all()
    for path in (MODULE_ENABLED, MODULE_ENABLED + ".removed", CONFIG, UNIT):
        assert not os.path.lexists(path), path
    assert sh("dpkg-statoverride", "--list", CONFIG, check=False).returncode != 0
    for pkg in PACKAGES:
        assert not known_to_dpkg(pkg), pkg
