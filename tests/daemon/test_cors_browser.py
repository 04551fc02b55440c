"""The specification's JavaScript example (the StatsAPI class, spec_examples/stats_api.js)
in headless Chromium, from a page served on another port - another origin - calling
hubstatsd directly: anonymously and with a Bearer token (which makes the browser send a
CORS preflight first). The page writes what it got into its DOM; --dump-dom reads it."""
import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from harness.daemon import Hubstatsd
from harness.ports import free_port
from harness.redis import RedisServer

CHROMIUM = shutil.which("chromium")
HERE = Path(__file__).resolve().parent
ADMIN = "admin-secret-cors"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>stats</title></head>
<body><pre id="out">pending</pre>
<script>
%(stats_api)s
(async () => {
  const out = {};
  const run = async (key, fn) => {
    try { out[key] = await fn(); } catch (e) { out[key] = {error: String(e)}; }
  };
  const anon = new StatsAPI(%(base)s);
  const owner = new StatsAPI(%(base)s, %(token)s);
  await run('anon_stats', () => anon.getRepoStats('model', 'demo', 'tiny-model'));
  await run('anon_trending', () => anon.getTrending('model', 7, 10));
  await run('anon_growth', () => anon.analyzeGrowth('model', 'demo', 'tiny-model', 30));
  await run('anon_private', () => anon.getRepoStats('model', 'demo', 'secret'));
  await run('token_private', () => owner.getRepoStats('model', 'demo', 'secret'));
  await run('token_recent', () => owner.getRecentStats('model', 'demo', 'secret', 7));
  document.getElementById('out').textContent = JSON.stringify(out);
})();
</script></body></html>
"""


@pytest.fixture(autouse=True)
def need_chromium():
    if CHROMIUM is None:
        pytest.fail("chromium not installed: apt-get install -y chromium")


@pytest.fixture
def page_server(tmp_path):
    """A static web server on another port: the page's origin."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield root, httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def world(tmp_path, redis, pg_db):
    def make(settings=None):
        d = Hubstatsd(tmp_path, redis=redis, postgres=pg_db, admin_token=ADMIN,
                      settings=settings or {})
        d.add_repo("model", "demo", "tiny-model")
        d.add_repo("model", "demo", "secret", private=True)
        token = d.add_user("demo")
        made.append(d)
        return d, token
    made = []
    yield make
    for d in made:
        d.stop()


def run_page(tmp_path, page_server, daemon, token) -> dict:
    root, port = page_server
    stats_api = (HERE / "spec_examples" / "stats_api.js").read_text()
    (root / "index.html").write_text(PAGE % {
        "stats_api": stats_api, "base": json.dumps(f"http://127.0.0.1:{daemon.port}"),
        "token": json.dumps(token)})
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=10000", "--dump-dom", f"http://127.0.0.1:{port}/index.html"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    assert m, r.stdout[-2000:]
    assert m.group(1) != "pending", "the page's script did not finish"
    return json.loads(html.unescape(m.group(1)))


def test_spec_javascript_example_from_another_origin(tmp_path, page_server, world):
    daemon, token = world()
    out = run_page(tmp_path, page_server, daemon, token)
    assert out["anon_stats"] == {"downloads": 0, "likes": 0}
    assert out["anon_trending"]["trending"] == []
    assert out["anon_growth"] == {"totalDownloads": 0, "avgDailyDownloads": 0,
                                  "growthRatePercent": 0, "trend": "stable"}
    # Anonymous: the private repo is a 404 whose body the page can read.
    assert out["anon_private"] == {"detail": "Repository 'demo/secret' (model) not found"}
    # With the owner's token (a preflighted request): the private repo's numbers.
    assert out["token_private"] == {"downloads": 0, "likes": 0}
    assert len(out["token_recent"]["stats"]) == 7
    log = daemon.log_text()
    assert "method=OPTIONS" in log, "the browser sent no preflight for the Bearer request"


def test_origin_not_allowed_is_refused_by_the_browser(tmp_path, page_server, world):
    daemon, token = world({"http": {"cors": {"allow_origins": "https://elsewhere.example"}}})
    out = run_page(tmp_path, page_server, daemon, token)
    for key in ("anon_stats", "token_private"):
        assert out[key] == {"error": "TypeError: Failed to fetch"}, out
