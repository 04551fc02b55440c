"""Real download clients against the test hub (real nginx + module + Redis): exact
downloads and files per client, read back from Redis. Probes (curl -r 0-0) and
resumes (curl -C -, wget -c) are not files; aria2c's segmented download is one."""
import shutil
import subprocess

import pytest

import hub
from hub import MODEL, Client

R = "/models/demo/tiny-model/resolve/main"
BIG = 8 << 20  # 8 MiB: aria2c splits it into 1 MiB segments


@pytest.fixture
def hubng(make_nginx, redis, secret_file, hub_root):
    (hub_root / "models/demo/tiny-model/big.bin").write_bytes(bytes(range(256)) * (BIG // 256))
    return make_nginx(hub.http_conf(redis, secret_file, hub_root))


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def counted(rclient, ng) -> dict:
    Client(ng).settled()
    return hub.counters(rclient, MODEL)


def need(tool):
    if not shutil.which(tool):
        pytest.fail(f"{tool} is not installed (scripts/install-deps installs it)")


def test_curl_full_get_probe_and_resume(hubng, rclient, tmp_path):
    need("curl")
    url = hubng.url(f"{R}/big.bin")
    out = tmp_path / "big.bin"
    run("curl", "-sSf", "-o", str(out), url)
    assert out.stat().st_size == BIG
    assert counted(rclient, hubng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                      "files": 1}
    # A one-byte probe (what Hugging Face's JS client sends before each download).
    probe = run("curl", "-sSf", "-r", "0-0", "-o", "-", "-w", "%{http_code}", url).stdout
    assert probe.endswith(b"206")
    # A resume: the first 3 MiB are already there.
    part = tmp_path / "part.bin"
    part.write_bytes(out.read_bytes()[: 3 << 20])
    run("curl", "-sSf", "-C", "-", "-o", str(part), url)
    assert part.read_bytes() == out.read_bytes()
    assert counted(rclient, hubng)["files"] == 1
    log = (hubng.prefix / "access.log").read_text()
    assert log.count(" 206 ") == 2  # both really were partial answers


def test_wget_and_wget_resume(hubng, rclient, tmp_path):
    need("wget")
    url = hubng.url(f"{R}/big.bin")
    run("wget", "-q", "-c", url, cwd=tmp_path)  # nothing there yet: a full GET
    data = (tmp_path / "big.bin").read_bytes()
    assert len(data) == BIG
    assert counted(rclient, hubng)["files"] == 1
    (tmp_path / "big.bin").write_bytes(data[:1000])
    run("wget", "-q", "-c", url, cwd=tmp_path)  # resumes from byte 1000
    assert (tmp_path / "big.bin").read_bytes() == data
    assert counted(rclient, hubng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                      "files": 1}
    assert " 206 " in (hubng.prefix / "access.log").read_text()


def test_aria2c_segmented_download_is_one_file(hubng, rclient, tmp_path):
    need("aria2c")
    url = hubng.url(f"{R}/big.bin")
    run("aria2c", "-q", "-x4", "-s4", "-k1M", "--allow-overwrite=true", "-d", str(tmp_path),
        "-o", "big.bin", url)
    assert (tmp_path / "big.bin").stat().st_size == BIG
    log = (hubng.prefix / "access.log").read_text()
    assert log.count("big.bin") >= 2  # it really used several connections
    assert counted(rclient, hubng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                      "files": 1}
