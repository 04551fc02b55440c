"""chart.svg and badge through nginx against the real stack: a well-formed standalone
SVG with the seeded numbers, shields.io badge JSON, and the /stats access rules (a
private repo is exactly a missing one; 422s identical to /stats/recent's)."""
import json
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
TINY = ("model", "demo", "tiny-model")


def human(n: int) -> str:
    """The badge's short form, written independently of the daemon's code."""
    if n < 1000:
        return str(n)
    for unit, size in (("k", 10**3), ("M", 10**6), ("G", 10**9)):
        if n < size * 1000 - size // 2:
            tenths = (n * 10 + size // 2) // size
            if tenths < 100:
                return f"{tenths // 10}" + (f".{tenths % 10}" if tenths % 10 else "") + unit
            return f"{(n + size // 2) // size}{unit}"
    raise AssertionError(n)


def test_chart_svg_is_standalone_and_shows_the_days(stack):
    for prefix in ("", "/api"):
        r = stack.get(prefix + "/models/demo/tiny-model/stats/chart.svg?days=14")
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
        assert r.headers["Cache-Control"] == "public, max-age=300"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        root = ET.fromstring(r.content)  # well-formed XML
        assert root.tag == SVG + "svg"
        assert root.get("viewBox") == "0 0 800 320"
        assert root.find(SVG + "title").text == "model demo/tiny-model"
        assert list(root.iter(SVG + "script")) == []
        assert "href" not in r.text and "url(" not in r.text
        texts = [t.text for t in root.iter(SVG + "text")]
        assert "authenticated" in texts and "anonymous" in texts
        tooltips = [t.text for g in root.iter(SVG + "g") for t in g.findall(SVG + "title")]
        assert len(tooltips) == 14
        for day in stack.daily(TINY, 14):
            assert (f"{day['date']}: {day['downloads']} downloads ({day['authenticated']} "
                    f"authenticated, {day['anonymous']} anonymous)") in tooltips
        total = stack.recent_total(TINY, 14)
        assert f"(14 days): {total:,}" in root.find(SVG + "desc").text


def test_chart_days_default_and_bounds(stack):
    r = stack.get("/models/demo/tiny-model/stats/chart.svg")
    assert r.status_code == 200 and "(30 days)" in r.text
    for days in ("0", "366", "abc"):
        chart = stack.get(f"/models/demo/tiny-model/stats/chart.svg?days={days}")
        recent = stack.get(f"/models/demo/tiny-model/stats/recent?days={days}")
        assert chart.status_code == recent.status_code == 422
        assert chart.json() == recent.json()


def test_badge(stack):
    r = stack.get("/models/demo/big-model/stats/badge")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body == {"schemaVersion": 1, "label": "downloads", "message": "1.5k",
                    "color": "blue", "cacheSeconds": 300}
    assert human(stack.all_time(("model", "demo", "big-model"))) == "1.5k"
    tiny = stack.get("/api/models/demo/tiny-model/stats/badge?period=7d").json()
    assert tiny["message"] == human(stack.recent_total(TINY, 7)) + "/week"
    assert stack.get("/models/demo/tiny-model/stats/badge").json()["message"] == \
        human(stack.all_time(TINY))
    assert stack.get("/models/demo/tiny-model/stats/badge?period=month").status_code == 422


def test_private_repo_is_exactly_a_missing_one(stack):
    for suffix in ("/stats/chart.svg", "/stats/badge"):
        hidden = stack.get("/models/alice/secret" + suffix)
        stats = stack.get("/models/alice/secret/stats")
        assert hidden.status_code == stats.status_code == 404
        for h in ("X-Error-Code", "X-Error-Message", "Content-Type"):
            assert hidden.headers[h] == stats.headers[h]
        assert hidden.content == stats.content
        assert hidden.headers["X-Error-Code"] == "RepoNotFound"
        missing = stack.get("/models/alice/nothing" + suffix)
        assert missing.status_code == 404
        assert missing.headers["X-Error-Code"] == "RepoNotFound"
        assert json.loads(missing.content)["detail"] == \
            "Repository 'alice/nothing' (model) not found"
        owner = stack.get("/models/alice/secret" + suffix, token=stack.alice_token)
        assert owner.status_code == 200
        assert owner.headers["Cache-Control"] == "private, max-age=60"
    owner_badge = stack.get("/models/alice/secret/stats/badge", token=stack.alice_token).json()
    assert owner_badge["message"] == str(stack.all_time(("model", "alice", "secret")))
