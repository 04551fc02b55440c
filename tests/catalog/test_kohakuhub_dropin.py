"""The drop-in, end to end: nginx runs conf/kohakuhub/default.conf itself (KohakuHub's
location layout with hubstats added; only addresses and paths substituted) in front of a
hub that answers like KohakuHub (harness.fake_kohakuhub for the API, resolve and LFS;
git-http-backend through fcgiwrap for git, behind an inner nginx server as `hub-api`),
with hubstatsd (catalog.backend: kohakuhub) on a PostgreSQL database laid out like the
hub's, and a real redis-server.

- A known workload (resolve in all three spellings, HEAD, a missing file, a git clone,
  LFS batch download and upload, a token with external tokens after '|') gives exact
  counts.
- The hub's own routes, likes included, answer exactly as through the same layout
  without hubstats (the hubstats lines stripped, the module not loaded)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from catalog.services import Client, Hubstatsd
from catalog.test_kohakuhub import HUB_DATA, KOHAKUHUB_SCHEMA, TOKENS, sha3
from harness.fake_kohakuhub import FakeKohakuHub
from harness.gitrepo import GIT_HTTP_BACKEND, FcgiWrap, git, make_bare_repo
from harness.nginx import Nginx
from harness.paths import MODULE_PATH
from harness.ports import free_port, wait_until

SOURCE = Path(__file__).resolve().parents[2]
CONF = SOURCE / "conf/kohakuhub/default.conf"
REPO = ("model", "alice", "public-model")
FILES = {"config.json": b'{"a": 1}\n', "model.safetensors": bytes(range(256)) * 16}
LFS_OID = "b" * 64


def strip_hubstats(text):
    """KohakuHub's layout without hubstats: drop the hubstats-only blocks and directives."""
    out, skip, depth = [], False, 0
    openers = ("upstream hubstatsd", "location ~ ^(/api)?/(models|datasets|spaces)/[^/]+/[^/]+/",
               "location = /api/trending", "location = /hubstats/status")
    for line in text.splitlines():
        s = line.strip()
        if not skip and s.startswith(openers):
            skip, depth = True, 0
        if skip:
            depth += line.count("{") - line.count("}")
            if depth == 0 and "}" in line:
                skip = False
            continue
        if re.match(r"hubstats(_\w+)?\s", s):
            continue
        out.append(line)
    return "\n".join(out)


def render(text, inner, hubstatsd_port, redis_port, secret, www):
    return (text.replace("listen 80;", "listen 127.0.0.1:@PORT@;")
            .replace("hub-api:48888", f"127.0.0.1:{inner}")
            .replace("hubstatsd:8090", f"127.0.0.1:{hubstatsd_port}")
            .replace("unix:/run/hubstats/redis.sock", f"127.0.0.1:{redis_port}")
            .replace("/etc/hubstats/secret", str(secret))
            .replace("/var/log/nginx/access.log", "@PREFIX@/access.log")
            .replace("/usr/share/nginx/html", str(www)))


def hub_api_server(inner, fake_port, git_root, fcgi_socket):
    """KohakuHub's API server as nginx sees it: git via git-http-backend, the rest the
    fake hub."""
    return f"""
  server {{
    listen 127.0.0.1:{inner};
    location ~ ^/(?:(?:models|datasets|spaces)/)?(?<gitpath>[^/]+/[^/]+\\.git/(?:info/refs|git-upload-pack|git-receive-pack))$ {{
      client_max_body_size 0;
      fastcgi_pass unix:{fcgi_socket};
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME {GIT_HTTP_BACKEND};
      fastcgi_param GIT_PROJECT_ROOT {git_root};
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO /$gitpath;
    }}
    location / {{ proxy_pass http://127.0.0.1:{fake_port}; }}
  }}
"""


@pytest.fixture(scope="module")
def hubdb(pg):
    pg.query("CREATE DATABASE kohakuhub_dropin", db="postgres")
    pg.query(KOHAKUHUB_SCHEMA, db="kohakuhub_dropin")
    pg.query(HUB_DATA, db="kohakuhub_dropin",
             params={f"{u}_hash": sha3(t) for u, t in TOKENS.items()})
    pg.query("INSERT INTO repository (repo_type, namespace, name, full_id, private) "
             "VALUES ('model', 'myorg', 'mymodel', 'myorg/mymodel', false)", db="kohakuhub_dropin")
    return "kohakuhub_dropin"


@pytest.fixture(scope="module")
def stacks(pg, redis_server, hubdb, tmp_path_factory):
    assert MODULE_PATH.exists(), f"build the module first: {MODULE_PATH}"
    tmp = tmp_path_factory.mktemp("dropin")
    secret = tmp / "secret"
    secret.write_text("kohakuhub-dropin-test-secret-0123456789\n")
    secret.chmod(0o600)
    www = tmp / "www"
    (www).mkdir()
    (www / "index.html").write_text("<html>KohakuHub UI</html>")
    Path(str(www) + "-admin").mkdir()
    git_root = tmp / "git"
    make_bare_repo(git_root / "alice/public-model.git", {"config.json": '{"a": 1}\n'})
    fw = FcgiWrap(tmp)
    d = Hubstatsd(pg.dsn_for("hubstats"), redis_server.port,
                  "  backend: kohakuhub\n  cache_ttl: 300ms\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(hubdb)}\"\n    pool_size: 2\n")
    d.start()
    text = CONF.read_text()
    out = {}
    try:
        for name, conf_text, module in [("hubstats", text, MODULE_PATH),
                                        ("plain", strip_hubstats(text), None)]:
            fake = FakeKohakuHub({"model/alice/public-model": FILES, "model/myorg/mymodel": FILES,
                                  "dataset/acme/open-data": {"data.csv": b"a,b\n"}}).start()
            inner = free_port()
            body = render(conf_text, inner, d.port, redis_server.port, secret, www)
            ng = Nginx(tmp, body + hub_api_server(inner, fake.port, git_root, fw.socket),
                       module_path=module)
            out[name] = (ng, fake)
        yield d, out
    finally:
        for ng, fake in out.values():
            ng.stop()
            fake.stop()
        fw.stop()
        d.stop()


def get(ng, path, method="GET", ua="ua-a", token=None, **kw):
    h = {"User-Agent": ua, "Connection": "close"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(kw.pop("headers", {}))
    return requests.request(method, ng.url(path), headers=h, allow_redirects=False, timeout=10,
                            **kw)


def module_status(ng):
    text = requests.get(ng.url("/hubstats/status"), timeout=10).text
    return {k: int(v) for k, v in (l.split(": ", 1) for l in text.splitlines())}


def test_known_workload_counts_exactly(stacks, tmp_path):
    d, out = stacks
    ng, fake = out["hubstats"]
    alice = TOKENS["alice"]
    r = get(ng, "/models/alice/public-model/resolve/main/config.json")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("http://storage.invalid/")
    assert get(ng, "/models/alice/public-model/resolve/main/config.json").status_code == 302
    assert get(ng, "/api/models/alice/public-model/resolve/main/model.safetensors"
               ).status_code == 302
    h = get(ng, "/models/alice/public-model/resolve/main/config.json", method="HEAD")
    assert h.status_code == 200 and h.headers["X-Linked-Size"] == str(len(FILES["config.json"]))
    m = get(ng, "/models/alice/public-model/resolve/main/missing.bin")
    assert m.status_code == 404 and m.headers["X-Error-Code"] == "EntryNotFound"
    # Legacy spelling with a hub token, then the same token with external tokens after '|'.
    assert get(ng, "/alice/public-model/resolve/main/config.json", token=alice).status_code == 302
    assert get(ng, "/alice/public-model/resolve/main/model.safetensors",
               token=alice + "|https://huggingface.co,hf_external").status_code == 302
    # git clone (protocol v2: ls-refs + fetch), anonymous with git's own User-Agent.
    git("-c", "protocol.version=2", "clone", "-q",
        f"http://127.0.0.1:{ng.port}/models/alice/public-model.git", str(tmp_path / "c"))
    assert (tmp_path / "c/config.json").read_text() == '{"a": 1}\n'
    # LFS batch: a download counts, an upload does not.
    batch = "/models/alice/public-model.git/info/lfs/objects/batch"
    for op in ("download", "upload"):
        body = json.dumps({"operation": op, "objects": [{"oid": LFS_OID, "size": 5}]})
        r = get(ng, batch, method="POST", ua="git-lfs/3.3", data=body,
                headers={"Content-Type": "application/vnd.git-lfs+json"})
        assert r.status_code == 200 and r.json()["objects"][0]["actions"].get(op)
    wait_until(lambda: (lambda s: s["queued"] == 0 and s["sent"] == s["counted"])(
        module_status(ng)), timeout=10, what="module queue drained")
    st = module_status(ng)
    # 3 resolve files anonymous, 2 with the token, the clone's fetch (not its ls-refs),
    # the LFS download batch; not HEAD, the 404, the upload batch.
    assert st["counted"] == 7
    # Through the drop-in, /stats is hubstatsd's, not the hub's own answer.
    s = Client(f"http://127.0.0.1:{ng.port}").get("/api/models/alice/public-model/stats")
    assert s.status_code == 200
    assert (s.json()["downloads"], s.json()["likes"]) == (4, 7)
    assert fake.seen("GET", "/api/models/alice/public-model/stats") == 0
    # The specification's spelling, without /api, too.
    s2 = Client(f"http://127.0.0.1:{ng.port}").get("/models/alice/public-model/stats")
    assert (s2.status_code, s2.json()) == (200, s.json())
    rec = Client(f"http://127.0.0.1:{ng.port}").get(
        "/api/models/alice/public-model/stats/recent?days=1").json()["stats"][0]
    assert {k: rec[k] for k in ("downloads", "authenticated", "anonymous", "files")} == {
        "downloads": 4, "authenticated": 1, "anonymous": 3, "files": 7}


LIKE_SEQUENCE = [
    ("POST", "/api/models/alice/public-model/like", None),
    ("POST", "/api/models/alice/public-model/like", "tok-bob"),
    ("POST", "/api/models/alice/public-model/like", "tok-bob"),
    ("GET", "/api/models/alice/public-model/like", "tok-bob"),
    ("GET", "/api/models/alice/public-model/like", None),
    ("POST", "/api/models/alice/public-model/like", "tok-eve|https://huggingface.co,x"),
    ("GET", "/api/models/alice/public-model/likers", None),
    ("DELETE", "/api/models/alice/public-model/like", "tok-bob"),
    ("DELETE", "/api/models/alice/public-model/like", "tok-bob"),
    ("GET", "/api/users/bob/likes", "tok-bob"),
    ("GET", "/api/models/alice/public-model", None),
    ("GET", "/api/datasets/acme/open-data/likers", None),
    ("GET", "/admin/api/stats", None),
    ("GET", "/org/acme/members", None),
    ("GET", "/models/alice/public-model", None),
]


def test_hub_routes_answer_as_without_hubstats(stacks):
    _, out = stacks
    answers = {}
    for name, (ng, fake) in out.items():
        seq = []
        for method, path, token in LIKE_SEQUENCE:
            r = get(ng, path, method=method, token=token)
            headers = {k.lower(): v for k, v in r.headers.items()
                       if k.lower() not in ("date", "server", "connection")}
            seq.append((method, path, r.status_code, r.content, headers))
            if path.startswith("/api/"):
                assert fake.seen(method, path) > 0, (name, method, path)
        answers[name] = seq
    assert answers["hubstats"] == answers["plain"]
    statuses = [a[2] for a in answers["hubstats"]]
    assert statuses[:4] == [401, 200, 400, 200] and statuses[7:9] == [200, 400]


def test_specification_examples_through_the_dropin(stacks, tmp_path):
    """The specification's Python examples, with BASE_URL at the hub's nginx (its
    /models/…/stats and /api/trending spellings), against counts made through it."""
    _, out = stacks
    ng, _ = out["hubstats"]
    for ua in ("ua-1", "ua-2", "ua-3"):
        assert get(ng, "/models/myorg/mymodel/resolve/main/config.json", ua=ua).status_code == 302
    wait_until(lambda: Client(f"http://127.0.0.1:{ng.port}").get(
        "/models/myorg/mymodel/stats").json()["downloads"] == 3, timeout=10, what="counted")
    runner = SOURCE / "tests/daemon/spec_examples/run_examples.py"
    run = subprocess.run([sys.executable, str(runner), f"http://127.0.0.1:{ng.port}",
                          TOKENS["alice"]], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=120)
    assert run.returncode == 0, run.stdout
    assert "=== Statistics Summary: myorg/mymodel ===" in run.stdout
    assert "Total Downloads: 3" in run.stdout
    assert "myorg/mymodel" in run.stdout.split("##### monitor_trending.py", 1)[1]
