"""/dashboard in headless Chromium (Debian's chromium) against the real, seeded stack
through nginx: the trending tables and a repo page (chart, daily table, CSV link) show
the demo data; screenshots are kept in tests/artifacts/ (PNG, checked non-trivial)."""
import html
import re
import shutil
import struct
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from harness.paths import SOURCE_DIR

CHROMIUM = shutil.which("chromium")
ARTIFACTS = SOURCE_DIR / "tests" / "artifacts"
TINY = ("model", "demo", "tiny-model")



@pytest.fixture(autouse=True)
def need_chromium():
    # Fail, not skip: a dashboard suite that silently passes without a browser tests nothing.
    if CHROMIUM is None:
        pytest.fail("chromium not installed: apt-get install -y chromium")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)


def dump_dom(tmp_path, url) -> str:
    r = chromium(tmp_path, "--dump-dom", url)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "<html" in r.stdout, r.stderr[-2000:]
    return r.stdout


def rows(dom: str, tbody_id: str) -> list[list[str]]:
    m = re.search(rf'<tbody id="{tbody_id}">(.*?)</tbody>', dom, re.S)
    assert m, f"no tbody#{tbody_id}"
    out = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        out.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return out


def text_of(dom: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert m, element_id
    return html.unescape(m.group(1))


def attr_of(dom: str, element_id: str, attr: str) -> str:
    m = re.search(rf'<[^>]*id="{element_id}"[^>]*>', dom)
    assert m, element_id
    a = re.search(rf'\s{attr}="([^"]*)"', m.group(0))
    return html.unescape(a.group(1)) if a else ""


def screenshot(tmp_path, url, name) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / name
    out.unlink(missing_ok=True)
    r = chromium(tmp_path, f"--screenshot={out}", "--window-size=1280,900",
                 "--hide-scrollbars", url)
    assert r.returncode == 0, r.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (1280, 900)
    assert len(data) > 20_000, f"{name}: only {len(data)} bytes, probably blank"
    return out


def fmt(n: int) -> str:
    return f"{n:,}"


def test_trending_view_shows_seeded_repos(stack, tmp_path):
    dom = dump_dom(tmp_path, stack.url("/dashboard"))
    models = rows(dom, "trending-model")
    # Ranked by downloads in the last 7 days: big-model, then tiny-model; the private
    # repo is not shown to an anonymous visitor, quiet-model has no downloads.
    assert [r[1] for r in models] == ["demo/big-model", "demo/tiny-model"]
    big = ("model", "demo", "big-model")
    assert models[0] == ["1", "demo/big-model", fmt(stack.recent_total(big, 7)),
                         fmt(stack.all_time(big)), "0"]
    assert models[1][2:4] == [fmt(stack.recent_total(TINY, 7)), fmt(stack.all_time(TINY))]
    assert [r[1] for r in rows(dom, "trending-dataset")] == ["demo/corpus"]
    assert [r[1] for r in rows(dom, "trending-space")] == ["demo/app"]
    assert "alice/secret" not in dom
    assert 'href="#model/demo/tiny-model"' in dom
    screenshot(tmp_path, stack.url("/dashboard"), "dashboard-trending.png")


def test_repo_page_shows_chart_table_and_csv(stack, tmp_path):
    url = stack.url("/dashboard#model/demo/tiny-model")
    dom = dump_dom(tmp_path, url)
    assert text_of(dom, "repo-title") == "model demo/tiny-model"
    assert text_of(dom, "repo-downloads") == fmt(stack.all_time(TINY))
    assert text_of(dom, "repo-error") == ""
    expected = stack.daily(TINY, 30)
    table = rows(dom, "daily")
    assert table == [[d["date"], fmt(d["downloads"]), fmt(d["authenticated"]),
                      fmt(d["anonymous"]), fmt(d["files"])] for d in reversed(expected)]
    assert text_of(dom, "repo-period-total") == fmt(sum(d["downloads"] for d in expected))
    assert attr_of(dom, "chart", "src") == "/models/demo/tiny-model/stats/chart.svg?days=30"
    csv_href = attr_of(dom, "csv", "href")
    prefix = "data:text/csv;charset=utf-8,"
    assert csv_href.startswith(prefix)
    csv = urllib.parse.unquote(csv_href[len(prefix):]).splitlines()
    assert csv[0] == "date,downloads,authenticated,anonymous,files"
    assert csv[1:] == [f"{d['date']},{d['downloads']},{d['authenticated']},{d['anonymous']},"
                       f"{d['files']}" for d in expected]
    assert attr_of(dom, "csv", "download").endswith(".csv")
    # Top files and the client split of the period (issue 12): PostgreSQL (a folded
    # past day) plus today's Redis residual.
    assert rows(dom, "files") == [[p, fmt(n)] for p, n in stack.files(30)]
    # config.json: 6 seeded on a past day + 5 live fetches through nginx today.
    assert rows(dom, "files")[0] == ["config.json", "11"]
    clients = stack.clients(30)
    total = sum(c[1] for c in clients)
    assert rows(dom, "clients") == [[c, fmt(dl), f"{100 * dl / total:.1f}%", fmt(fi)]
                                    for c, dl, fi in clients]
    assert [r[0] for r in rows(dom, "clients")] == ["other", "git", "huggingface_hub", "bot", "curl"]
    shot = screenshot(tmp_path, url, "dashboard-repo.png")
    assert shot.exists()


def test_query_form_and_unknown_repo(stack, tmp_path):
    dom = dump_dom(tmp_path, stack.url("/dashboard?repo=dataset/demo/corpus"))
    assert text_of(dom, "repo-title") == "dataset demo/corpus"
    assert text_of(dom, "repo-downloads") == "40"
    # A private repo, anonymously: the API's 404 message, no data.
    dom = dump_dom(tmp_path, stack.url("/dashboard#model/alice/secret"))
    assert text_of(dom, "repo-error") == "Repository 'alice/secret' (model) not found"
    assert rows(dom, "daily") == []
