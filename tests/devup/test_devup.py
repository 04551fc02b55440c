"""scripts/dev-up end to end: the README's first command brings up the whole stack at
http://127.0.0.1:28080 (Redis, PostgreSQL, hubstatsd, fcgiwrap and nginx with the module),
and what it serves behaves as documented: counted downloads (files and git), stats,
private-repo rules with the tokens it writes, trending, and the specification's Python
examples unchanged against http://localhost:28080. scripts/dev-down stops it all.

Uses the ctest build (HUBSTATS_DEVUP_NO_BUILD=1) and its own state directory."""
import subprocess
import sys
from pathlib import Path

import pytest
import requests

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

from harness.ports import wait_until  # noqa: E402
from harness.stack_script import read_env, stack_script  # noqa: E402

BASE = "http://127.0.0.1:28080"
PORTS = (28080, 28081, 26379, 25432)


def wait_for(probe):
    # Events reach Redis asynchronously, after the response went out.
    return wait_until(probe, timeout=15.0, interval=0.05, what="the download to be counted")


def nginx_alerts(run):
    error_log = run / "logs/nginx-error.log"
    return [l for l in error_log.read_text().splitlines() if "[alert]" in l] \
        if error_log.exists() else []


@pytest.fixture(scope="module")
def stack():
    with stack_script("dev-up", "dev-down", "HUBSTATS_RUN_DIR", "HUBSTATS_DEVUP_NO_BUILD",
                      PORTS, after_down=nginx_alerts) as (run, out):
        assert "http://127.0.0.1:28080" in out
        yield {"run": run, "tokens": read_env(run / "tokens.env"), "out": out}


def get(path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(BASE + path, headers=headers, timeout=10, **kw)


def today_row(repo_path):
    r = get(f"/api/{repo_path}/stats/recent", params={"days": 1})
    assert r.status_code == 200, r.text
    return r.json()["stats"][0]


def test_tokens_file_has_the_three_tokens(stack):
    assert set(stack["tokens"]) == {"HUBSTATS_ADMIN_TOKEN", "DEMO_TOKEN", "OUTSIDER_TOKEN"}
    assert all(len(v) >= 16 for v in stack["tokens"].values())
    assert (stack["run"] / "tokens.env").stat().st_mode & 0o077 == 0


def test_demo_files_are_served_and_counted(stack):
    # Two anonymous users (realip trusts X-Forwarded-For from loopback) and one repeat.
    for ip, path in [("198.51.100.1", "/models/demo/tiny-model/resolve/main/config.json"),
                     ("198.51.100.1", "/models/demo/tiny-model/resolve/main/README.md"),
                     ("198.51.100.2", "/demo/tiny-model/resolve/main/model.safetensors")]:
        r = get(path, headers={"X-Forwarded-For": ip})
        assert r.status_code == 200, path
    assert len(get("/models/demo/tiny-model/resolve/main/model.safetensors").content) >= 1 << 20
    assert get("/models/demo/tiny-model/resolve/main/missing.bin").status_code == 404
    assert requests.head(BASE + "/models/demo/tiny-model/resolve/main/config.json").ok

    def settled():
        row = today_row("models/demo/tiny-model")
        return row if row["files"] >= 4 else None
    row = wait_for(settled)
    # 3 identities (2 forwarded + the plain local client), 4 countable files.
    assert row == {"date": row["date"], "downloads": 3, "authenticated": 0, "anonymous": 3,
                   "files": 4}
    # All-time: what was just counted + the history dev-up imported for the repo
    # (scripts/dev-seed-history: the stand-in hub's repository.downloads, 897).
    assert get("/models/demo/tiny-model/stats").json() == {"downloads": 3 + 897, "likes": 0}
    # The past days show that history (the dashboard's chart on first run).
    past = get("/api/models/demo/tiny-model/stats/recent", params={"days": 22}).json()["stats"]
    assert all(r["downloads"] > 0 for r in past[:-1])


def test_git_clone_through_nginx_counts_one_download(stack, tmp_path):
    before = today_row("datasets/demo/tiny-dataset")
    clone = subprocess.run(["git", "clone", "-q", f"{BASE}/datasets/demo/tiny-dataset.git",
                            str(tmp_path / "ds")], capture_output=True, text=True, timeout=60)
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "ds/data.csv").read_text().startswith("id,text,label")
    row = wait_for(lambda: (lambda r: r if r["files"] > before["files"] else None)(
        today_row("datasets/demo/tiny-dataset")))
    assert row["downloads"] == before["downloads"] + 1
    assert row["files"] == before["files"] + 1


def test_private_repo_follows_the_tokens(stack):
    tokens = stack["tokens"]
    assert get("/models/demo/secret-model/resolve/main/config.json",
               token=tokens["DEMO_TOKEN"]).status_code == 200
    owner = get("/models/demo/secret-model/stats", token=tokens["DEMO_TOKEN"])
    assert owner.status_code == 200
    for token in (None, tokens["OUTSIDER_TOKEN"], "garbage-token"):
        r = get("/models/demo/secret-model/stats", token=token)
        assert r.status_code == 404
        assert r.headers["X-Error-Code"] == "RepoNotFound"
        assert r.headers["X-Error-Message"] == "Repository 'demo/secret-model' (model) not found"
    wait_for(lambda: get("/models/demo/secret-model/stats",
                         token=tokens["DEMO_TOKEN"]).json()["downloads"] == 1)
    mine = get("/api/trending", token=tokens["DEMO_TOKEN"]).json()["trending"]
    public = get("/api/trending").json()["trending"]
    assert {"id": "demo/secret-model", "private": True} .items() <= \
        next(e for e in mine if e["id"] == "demo/secret-model").items()
    assert all(e["id"] != "demo/secret-model" for e in public)
    assert [e["id"] for e in public][:1] == ["demo/tiny-model"]


def test_spec_examples_run_unchanged_against_localhost_28080(stack, tmp_path):
    admin = stack["tokens"]["HUBSTATS_ADMIN_TOKEN"]
    # The examples use myorg/mymodel and myorg/mydataset: register them first.
    for body in ({"type": "model", "namespace": "myorg", "name": "mymodel"},
                 {"type": "dataset", "namespace": "myorg", "name": "mydataset"}):
        r = requests.post(BASE + "/api/admin/repos", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code in (201, 409), r.text
    # The endpoint snippets, verbatim (the /stats/recent one also needs matplotlib).
    snippets = '''
import requests
response = requests.get(
"http://localhost:28080/models/myorg/mymodel/stats"
)
stats = response.json()
print(f"Downloads: {stats['downloads']:,}")
print(f"Likes: {stats['likes']}")
response = requests.get(
    "http://localhost:28080/api/trending",
    params={
        "repo_type": "model",
        "days": 7,
        "limit": 10
    }
)
trending = response.json()
print("Top Trending Models:")
for i, repo in enumerate(trending["trending"], 1):
    print(f"{i}. {repo['id']}")
    print(f"   Recent downloads: {repo['recent_downloads']:,}")
    print(f"   Total downloads: {repo['downloads']:,}")
    print(f"   Likes: {repo['likes']}")
    print()
'''
    out = subprocess.run([sys.executable, "-c", snippets], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Downloads: 0" in out.stdout and "1. demo/tiny-model" in out.stdout
    # The usage examples, with BASE_URL left at http://localhost:28080 and a real token.
    runner = TESTS / "daemon/spec_examples/run_examples.py"
    out = subprocess.run([sys.executable, str(runner), "http://localhost:28080",
                          stack["tokens"]["DEMO_TOKEN"]], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "=== Statistics Summary: myorg/mymodel ===" in out.stdout
    assert "demo/tiny-model" in out.stdout  # the trending monitor lists it
    csvs = list(tmp_path.glob("myorg_mymodel_stats_*.csv"))
    assert len(csvs) == 1
    lines = csvs[0].read_text().splitlines()
    assert lines[0] == "date,downloads,authenticated,anonymous,files"
    assert len(lines) == 1 + 90



def test_unknown_routes_get_the_daemons_json_404(stack):
    for path in ("/no/such/route", "/api/nope", "/models/demo"):
        r = get(path)
        assert r.status_code == 404, path
        assert r.json() == {"detail": "Not Found"}
        assert r.headers.get("X-Request-Id")
    assert get("/dashboard").headers["Content-Type"].startswith("text/html")
    assert "hubstatsd_http_requests_total" in get("/metrics").text
