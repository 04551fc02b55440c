"""Real download clients against the test hub (real nginx + module + Redis): exact
downloads and files per client, read back from Redis. Probes (curl -r 0-0) and
resumes (curl -C -, wget -c) are not files; aria2c's segmented download is one."""
import hashlib
import http.server
import json
import os
import shutil
import threading
import subprocess
import urllib.error
import urllib.request

import pytest
import requests

import hub
from hub import MODEL, Client
from harness import breakdown_log
from harness.gitrepo import FcgiWrap, git, make_bare_repo

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


def by_day(rclient, repo, kind) -> dict:
    """Sum of a repo's per-file ("p") or per-client ("c") counts over its days: its
    :p: or :c: hashes plus its breakdown logs (:x:)."""
    t, ns, nm = repo
    out = {}
    days = {k.rsplit(":", 1)[1] for x in (kind, "x")
            for k in rclient.keys(f"hs:{{{t}/{ns}/{nm}}}:{x}:*")}
    for d in days:
        for f, n in breakdown_log.merged(rclient, f"{t}/{ns}/{nm}", d, kind).items():
            out[f] = out.get(f, 0) + n
    return out


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


def test_curl_counts_under_its_path_and_family(hubng, rclient, tmp_path):
    run("curl", "-sSf", "-o", str(tmp_path / "c"), hubng.url(f"{R}/config.json"))
    run("curl", "-sSf", "-o", str(tmp_path / "c"),
        hubng.url("/api/models/demo/tiny-model/resolve/refs%2Fpr%2F1/config.json"))
    run("curl", "-sSf", "-r", "0-0", "-o", str(tmp_path / "c"), hubng.url(f"{R}/big.bin"))
    assert counted(rclient, hubng)["files"] == 2
    assert by_day(rclient, MODEL, "p") == {"config.json": 2}
    assert by_day(rclient, MODEL, "c") == {"d:curl": 1, "f:curl": 2}


# A real User-Agent of every family (as each client sends it).
AGENTS = {
    "huggingface_hub": "unknown/None; hf_hub/0.21.4; python/3.11.2; torch/2.2.1",
    "transformers": "transformers/4.38.2; python/3.11.2; session_id/3b1c0f9d; torch/2.2.1; "
                    "file_type/model; framework/pytorch; from_auto_class/False",
    "diffusers": "diffusers/0.26.3; python/3.11.2; session_id/e1f2a3; torch/2.2.1",
    "datasets": "unknown/None; hf_hub/0.21.4; python/3.11.2; datasets/2.18.0; pyarrow/15.0.0",
    "sentence-transformers": "sentence-transformers/2.5.1; hf_hub/0.21.4; python/3.11.2",
    "git": "git/2.39.5",
    "git-lfs": "git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)",
    "curl": "curl/7.88.1",
    "wget": "Wget/1.21.3",
    "aria2": "aria2/1.36.0",
    "python-requests": "python-requests/2.28.1",
    "browser": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/120.0.0.0 Safari/537.36",
    "bot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "other": "Go-http-client/1.1",
}
BOTS = [
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]


def fetch(ng, path, ua, ip):
    r = requests.get(ng.url(path), headers={"User-Agent": ua, "X-Forwarded-For": ip,
                                            "Connection": "close"}, timeout=10)
    assert r.status_code == 200, path
    return r


def test_every_client_family_and_bots_apart(hubng, rclient):
    for i, (family, ua) in enumerate(AGENTS.items()):
        fetch(hubng, f"{R}/config.json", ua, f"10.20.0.{i + 1}")
        fetch(hubng, f"{R}/README.md", ua, f"10.20.0.{i + 1}")
    for i, ua in enumerate(BOTS):
        fetch(hubng, f"{R}/config.json", ua, f"10.21.0.{i + 1}")
    people = len(AGENTS) - 1
    # Bots add nothing to downloads/anonymous/files: they are counted as bots.
    assert counted(rclient, hubng) == {"downloads": people, "authenticated": 0,
                                      "anonymous": people, "files": 2 * people,
                                      "bots": 2 + len(BOTS)}
    want = {}
    for family in AGENTS:
        want[f"d:{family}"] = 1
        want[f"f:{family}"] = 2
    want["d:bot"] += len(BOTS)
    want["f:bot"] += len(BOTS)
    assert by_day(rclient, MODEL, "c") == want
    # Bots are not in the per-file hash.
    assert by_day(rclient, MODEL, "p") == {"config.json": people, "README.md": people}


def test_bots_count_as_people_when_asked(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra="hubstats_bots count;"))
    for i, ua in enumerate(BOTS):
        fetch(ng, f"{R}/config.json", ua, f"10.22.0.{i + 1}")
    assert counted(rclient, ng) == {"downloads": len(BOTS), "authenticated": 0,
                                   "anonymous": len(BOTS), "files": len(BOTS)}
    assert by_day(rclient, MODEL, "c") == {"d:bot": len(BOTS), "f:bot": len(BOTS)}
    assert by_day(rclient, MODEL, "p") == {"config.json": len(BOTS)}


def test_operator_bot_patterns_file(make_nginx, redis, rclient, secret_file, hub_root,
                                    tmp_path):
    patterns = tmp_path / "bots.txt"
    patterns.write_text("# our uptime probe\nInternal-Probe\n")
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra=f"hubstats_bots {patterns};"))
    fetch(ng, f"{R}/config.json", "internal-probe/2.0", "10.23.0.1")
    fetch(ng, f"{R}/config.json", AGENTS["bot"], "10.23.0.2")  # the built-ins stay
    fetch(ng, f"{R}/config.json", "curl/7.88.1", "10.23.0.3")
    assert counted(rclient, ng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                   "files": 1, "bots": 2}


def test_path_cap_sends_new_paths_to_other(make_nginx, redis, rclient, secret_file, hub_root):
    # A breakdown log of 1 byte is compacted into the capped hashes after every batch.
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra="hubstats_max_paths 2; hubstats_breakdown_log_max 1;"))
    ua, ip = "curl/7.88.1", "10.24.0.1"
    for path in ("config.json", "README.md", "model.safetensors", "config.json",
                 "model.safetensors", "README.md"):
        fetch(ng, f"{R}/{path}", ua, ip)
        Client(ng).settled()  # one batch per request: the order decides the first two
    assert by_day(rclient, MODEL, "p") == {"config.json": 2, "README.md": 2, "(other)": 2}
    assert counted(rclient, ng)["files"] == 6


@pytest.fixture
def fcgiwrap(tmp_path):
    fw = FcgiWrap(tmp_path)
    yield fw
    fw.stop()


def test_git_clone_fetch_ls_remote(make_nginx, redis, rclient, secret_file, hub_root, fcgiwrap,
                                   tmp_path):
    repo = make_bare_repo(hub_root / "git/models/demo/tiny-model.git",
                          {"config.json": '{"a": 1}\n', "README.md": "# hi\n"})
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, fcgi_socket=fcgiwrap.socket))
    url = ng.url("/models/demo/tiny-model.git")
    git("-c", "protocol.version=0", "clone", "-q", url, str(tmp_path / "v0"))
    assert counted(rclient, ng)["files"] == 1
    git("-c", "protocol.version=2", "clone", "-q", url, str(tmp_path / "v2"))
    assert counted(rclient, ng)["files"] == 2
    git("-c", "protocol.version=2", "clone", "-q", "--depth", "1", url, str(tmp_path / "shallow"))
    assert counted(rclient, ng)["files"] == 3
    for version in ("0", "2"):  # nothing new to fetch; the ref list alone
        git("-c", f"protocol.version={version}", "fetch", "-q", "origin", cwd=tmp_path / "v2")
        git("-c", f"protocol.version={version}", "ls-remote", url)
    assert (tmp_path / "shallow/config.json").exists() and repo.exists()
    assert counted(rclient, ng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                   "files": 3}
    assert by_day(rclient, MODEL, "p") == {"(git)": 3}
    assert by_day(rclient, MODEL, "c") == {"d:git": 1, "f:git": 3}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def test_huggingface_hub_head_then_get_following_302(make_nginx, redis, rclient, secret_file,
                                                      hub_root):
    """huggingface_hub's pattern: HEAD the resolve URL (no redirect followed: it reads
    the 302's headers), then GET it and follow the 302 to storage."""
    (hub_root / "storage").mkdir()
    (hub_root / "storage/weights.bin").write_bytes(b"w" * 4096)
    extra = f"""
    location ~ ^/models/demo/tiny-model/resolve/[^/]+/weights\\.bin$ {{
      return 302 http://127.0.0.1:@PORT@/storage/weights.bin;
    }}
    location = /storage/weights.bin {{ hubstats off; alias {hub_root}/storage/weights.bin; }}
"""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, server_extra=extra))
    ua = AGENTS["huggingface_hub"]
    url = ng.url(f"{R}/weights.bin")
    head = urllib.request.Request(url, method="HEAD", headers={"User-Agent": ua})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.build_opener(NoRedirect).open(head, timeout=10)
    assert e.value.code == 302
    get = urllib.request.Request(url, headers={"User-Agent": ua})
    with urllib.request.urlopen(get, timeout=10) as r:
        assert r.read() == b"w" * 4096
    assert counted(rclient, ng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                   "files": 1}
    assert by_day(rclient, MODEL, "p") == {"weights.bin": 1}
    assert by_day(rclient, MODEL, "c") == {"d:huggingface_hub": 1, "f:huggingface_hub": 1}


def test_headless_chromium_download(make_nginx, redis, rclient, secret_file, hub_root,
                                    tmp_path):
    """A page of the hub fetches a file in headless Chromium (its own User-Agent,
    HeadlessChrome: a browser)."""
    need("chromium")
    page = ("<html><body><pre id=out>pending</pre><script>"
            f"fetch('{R}/config.json').then(r => r.text())"
            ".then(t => document.getElementById('out').textContent = t);</script></body></html>")
    extra = f"location = /page.html {{ hubstats off; default_type text/html; return 200 \"{page}\"; }}"
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, server_extra=extra))
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'p'}",
           "--virtual-time-budget=10000", "--dump-dom", ng.url("/page.html")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "model_type" in r.stdout, r.stdout[-2000:]
    assert counted(rclient, ng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                   "files": 1}
    assert by_day(rclient, MODEL, "c") == {"d:browser": 1, "f:browser": 1}
    assert by_day(rclient, MODEL, "p") == {"config.json": 1}


def lfs_batch_server(base_url_of_objects, objects):
    """A Git LFS batch API server (what the hub runs): answers download batches with
    hrefs to the objects nginx serves."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            out = {"transfer": "basic", "objects": []}
            for o in req["objects"]:
                assert req["operation"] == "download"
                out["objects"].append({
                    "oid": o["oid"], "size": objects[o["oid"]], "authenticated": True,
                    "actions": {"download": {"href": base_url_of_objects() + o["oid"]}}})
            body = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.git-lfs+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_git_lfs_clone_and_pull(make_nginx, redis, rclient, secret_file, hub_root, fcgiwrap,
                                tmp_path):
    need("git-lfs")
    data = b"safetensors weights " * 5000
    oid = hashlib.sha256(data).hexdigest()
    (hub_root / "lfs" / oid).write_bytes(data)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
    make_bare_repo(hub_root / "git/models/demo/tiny-model.git",
                   {".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
                    "model.safetensors": pointer, "config.json": "{}\n"})
    port = {}
    batch = lfs_batch_server(
        lambda: f"http://127.0.0.1:{port['ng']}/models/demo/tiny-model.git/info/lfs/objects/",
        {oid: len(data)})
    try:
        extra = (r"location ~ ^/models/demo/tiny-model\.git/info/lfs/objects/batch$ {"
                 f" proxy_pass http://127.0.0.1:{batch.server_address[1]}; }}")
        ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, fcgi_socket=fcgiwrap.socket,
                                      server_extra=extra))
        port["ng"] = ng.port
        env = dict(os.environ, HOME=str(tmp_path / "home"), GIT_TERMINAL_PROMPT="0",
                   GIT_CONFIG_NOSYSTEM="1")
        (tmp_path / "home").mkdir()

        def g(*args, cwd=None, **extra_env):
            return subprocess.run(["git", *args], cwd=cwd, env=dict(env, **extra_env),
                                  check=True, capture_output=True, timeout=60)

        g("lfs", "install", "--skip-repo")
        url = ng.url("/models/demo/tiny-model.git")
        g("clone", "-q", url, str(tmp_path / "c1"))
        assert (tmp_path / "c1/model.safetensors").read_bytes() == data  # smudged: real LFS
        # the clone (git) + the batch and the object GET (lfs)
        assert counted(rclient, ng)["files"] == 3
        assert by_day(rclient, MODEL, "p") == {"(git)": 1, "(lfs)": 2}
        # A clone without the objects, then `git lfs pull` fetches them.
        g("clone", "-q", url, str(tmp_path / "c2"), GIT_LFS_SKIP_SMUDGE="1")
        assert (tmp_path / "c2/model.safetensors").read_bytes() != data
        assert counted(rclient, ng)["files"] == 4
        g("lfs", "pull", cwd=tmp_path / "c2")
        assert (tmp_path / "c2/model.safetensors").read_bytes() == data
        assert counted(rclient, ng) == {"downloads": 2, "authenticated": 0, "anonymous": 2,
                                       "files": 6}
        assert by_day(rclient, MODEL, "p") == {"(git)": 2, "(lfs)": 4}
        assert by_day(rclient, MODEL, "c") == {"d:git": 1, "f:git": 2, "d:git-lfs": 1,
                                               "f:git-lfs": 4}
    finally:
        batch.shutdown()
        batch.server_close()


def test_if_range_answered_200_is_a_download(hubng, rclient):
    """curl -r 0-0 with an If-Range: a stale validator gets the whole file (200, a
    download), the current one gets the byte (206, a probe)."""
    url = hubng.url(f"{R}/big.bin")
    etag = requests.head(url, timeout=10).headers["ETag"]
    code = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-r", "0-0", "-H",
               f"If-Range: {etag}", url).stdout
    assert code == b"206"
    assert counted(rclient, hubng)["files"] == 0
    code = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-r", "0-0", "-H",
               'If-Range: "stale-etag"', url).stdout
    assert code == b"200"
    assert counted(rclient, hubng) == {"downloads": 1, "authenticated": 0, "anonymous": 1,
                                      "files": 1}
