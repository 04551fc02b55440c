"""A known workload of downloads driven through nginx over three (fake) days gives
exactly the expected /stats, /stats/recent and /api/trending; past days fold into
PostgreSQL and keep serving after their Redis keys are gone."""
import datetime

import pytest

from harness.ports import wait_until

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
D2, D1, D0 = TODAY - datetime.timedelta(days=2), TODAY - datetime.timedelta(days=1), TODAY


def iso(d):
    return d.isoformat()


@pytest.fixture
def workload(stack):
    """Drives the downloads; returns the tokens. Identities are distinct per day, so the
    session window (real time in Redis) never merges days."""
    s = stack
    for repo in [("model", "demo", "alpha"), ("model", "demo", "beta"),
                 ("dataset", "demo", "data"), ("dataset", "demo", "data2")]:
        s.add_repo(*repo)
    s.add_repo("model", "demo", "secret", private=True)
    s.add_repo("model", "ghost", "unlisted")
    s.daemon.admin("DELETE", "/api/admin/repos/models/ghost/unlisted")  # unknown to the catalog
    demo = s.daemon.add_user("demo")
    outsider = s.daemon.add_user("outsider")
    u1 = s.daemon.add_user("u1")
    u2 = s.daemon.add_user("u2")
    u3 = s.daemon.add_user("u3")

    # Day D-2: alpha: 3 anonymous identities x 2 files + 1 authenticated x 1 file.
    s.clock.set_day(D2)
    for i in range(3):
        for f in ("config.json", "model.bin"):
            s.download("model", "demo", "alpha", f, ip=f"10.2.0.{i}")
    s.download("model", "demo", "alpha", token=u1)
    s.download("model", "demo", "beta", ip="10.2.1.1")
    s.wait_counted("model", "demo", "alpha", D2, 7)
    s.wait_counted("model", "demo", "beta", D2, 1)

    # Day D-1: alpha 2 anonymous; beta 5 anonymous; data and data2 2 authenticated each.
    s.clock.set_day(D1)
    for i in range(2):
        s.download("model", "demo", "alpha", ip=f"10.1.0.{i}")
    for i in range(5):
        s.download("model", "demo", "beta", ip=f"10.1.1.{i}")
    for name in ("data", "data2"):
        s.download("dataset", "demo", name, token=u2)
        s.download("dataset", "demo", name, token=u3)
    s.wait_counted("model", "demo", "alpha", D1, 2)
    s.wait_counted("model", "demo", "beta", D1, 5)
    s.wait_counted("dataset", "demo", "data", D1, 2)
    s.wait_counted("dataset", "demo", "data2", D1, 2)

    # Today: alpha 1 anonymous (2 files: one session); secret 3 anonymous; ghost 4.
    s.clock.set_day(D0)
    s.download("model", "demo", "alpha", "config.json", ip="10.0.0.1")
    s.download("model", "demo", "alpha", "model.bin", ip="10.0.0.1")
    for i in range(3):
        s.download("model", "demo", "secret", ip=f"10.0.2.{i}")
    for i in range(4):
        s.download("model", "ghost", "unlisted", ip=f"10.0.3.{i}")
    s.wait_counted("model", "demo", "alpha", D0, 2)
    s.wait_counted("model", "demo", "secret", D0, 3)
    s.wait_counted("model", "ghost", "unlisted", D0, 4)
    return {"demo": demo, "outsider": outsider}


def day_row(d, downloads, auth, anon, files):
    return {"date": iso(d), "downloads": downloads, "authenticated": auth, "anonymous": anon,
            "files": files}


def zero(d):
    return day_row(d, 0, 0, 0, 0)


def test_stats_recent_and_trending_are_exact(stack, workload):
    s = stack
    for prefix in ("", "/api"):
        assert s.get(f"{prefix}/models/demo/alpha/stats").json() == {"downloads": 7, "likes": 0}
        assert s.get(f"{prefix}/models/demo/beta/stats").json() == {"downloads": 6, "likes": 0}
        assert s.get(f"{prefix}/datasets/demo/data/stats").json() == {"downloads": 2, "likes": 0}

    r = s.get("/models/demo/alpha/stats/recent", params={"days": 4})
    assert r.status_code == 200
    assert r.text.startswith('{"stats":[{"date":')  # field order as in the spec
    assert r.json() == {
        "stats": [zero(TODAY - datetime.timedelta(days=3)),
                  day_row(D2, 4, 1, 3, 7), day_row(D1, 2, 0, 2, 2), day_row(D0, 1, 0, 1, 2)],
        "period": {"start": iso(TODAY - datetime.timedelta(days=3)), "end": iso(D0), "days": 4},
    }
    default = s.get("/api/models/demo/beta/stats/recent").json()
    assert len(default["stats"]) == 30 and default["period"]["days"] == 30
    assert [d["downloads"] for d in default["stats"][-3:]] == [1, 5, 0]

    # Trending ranks folded days plus today's live counters: past days this daemon has
    # not read yet are folded by the background fold; run one pass now (another
    # process, as an operator would) and wait until the daemon's index has seen it.
    assert s.daemon.command("fold", "--once").returncode == 0

    def trending(token=None, **params):
        body = s.get("/api/trending", token=token, params=params).json()
        return [(e["id"], e["type"], e["downloads"], e["likes"], e["recent_downloads"], e["private"])
                for e in body["trending"]], body["period"]

    wait_until(lambda: len(trending(repo_type="dataset")[0]) == 2, timeout=15,
               what="the other process's fold to reach the trending index")
    entries, period = trending()
    assert entries == [("demo/alpha", "model", 7, 0, 7, False), ("demo/beta", "model", 6, 0, 6, False)]
    assert period == {"start": iso(TODAY - datetime.timedelta(days=6)), "end": iso(D0), "days": 7}
    # The owner also sees the private repo; an outsider does not. The repo unknown to
    # the catalog is never listed.
    assert trending(workload["demo"], days=1)[0] == [
        ("demo/secret", "model", 3, 0, 3, True), ("demo/alpha", "model", 7, 0, 1, False)]
    assert trending(workload["outsider"], days=1)[0] == [("demo/alpha", "model", 7, 0, 1, False)]
    assert trending(days=2)[0] == [("demo/beta", "model", 6, 0, 5, False),
                                   ("demo/alpha", "model", 7, 0, 3, False)]
    assert trending(days=2, limit=1)[0] == [("demo/beta", "model", 6, 0, 5, False)]
    # A tie on recent and all-time downloads is broken by id.
    assert trending(repo_type="dataset")[0] == [("demo/data", "dataset", 2, 0, 2, False),
                                                ("demo/data2", "dataset", 2, 0, 2, False)]
    assert trending(repo_type="space")[0] == []

    # The private repo and the unlisted one look missing to anonymous callers.
    for path in ("/models/demo/secret/stats", "/models/ghost/unlisted/stats"):
        assert s.get(path).status_code == 404
    assert s.get("/models/demo/secret/stats", token=workload["demo"]).json() == {
        "downloads": 3, "likes": 0}


def test_days_fold_today_included_and_serve_without_redis(stack, workload):
    s = stack
    fold = s.daemon.command("fold", "--once")
    assert fold.returncode == 0, fold.stdout
    with s.redis.client() as r:
        unfolded = [k for k in r.keys("hs:*") if ":d:" in k or ":f:" in k]
    assert unfolded == []  # every folded day left Redis, today too
    rows = s.pg.rows("SELECT namespace, name, day, downloads, authenticated, anonymous, files "
                     "FROM hubstats.daily_downloads ORDER BY namespace, name, day")
    assert rows == [
        ["demo", "alpha", iso(D2), "4", "1", "3", "7"],
        ["demo", "alpha", iso(D1), "2", "0", "2", "2"],
        ["demo", "alpha", iso(D0), "1", "0", "1", "2"],
        ["demo", "beta", iso(D2), "1", "0", "1", "1"],
        ["demo", "beta", iso(D1), "5", "0", "5", "5"],
        ["demo", "data", iso(D1), "2", "2", "0", "2"],
        ["demo", "data2", iso(D1), "2", "2", "0", "2"],
        ["demo", "secret", iso(D0), "3", "0", "3", "3"],
        ["ghost", "unlisted", iso(D0), "4", "0", "4", "4"],
    ]
    # Folding again changes nothing.
    assert s.daemon.command("fold", "--once").returncode == 0
    assert s.pg.rows("SELECT sum(downloads), sum(files) FROM hubstats.daily_downloads") == [["24", "28"]]

    # Redis loses everything: every folded day, today included, still serves from
    # PostgreSQL.
    with s.redis.client() as r:
        r.execute("FLUSHALL")
    assert s.get("/models/demo/alpha/stats").json() == {"downloads": 7, "likes": 0}
    recent = s.get("/models/demo/alpha/stats/recent", params={"days": 3}).json()["stats"]
    assert recent == [day_row(D2, 4, 1, 3, 7), day_row(D1, 2, 0, 2, 2), day_row(D0, 1, 0, 1, 2)]
    wait_until(lambda: [e["id"] for e in s.get("/api/trending").json()["trending"]]
               == ["demo/alpha", "demo/beta"], timeout=10, what="trending after the fold")
    body = s.get("/api/trending").json()["trending"]
    assert [(e["recent_downloads"], e["downloads"]) for e in body] == [(7, 7), (6, 6)]


def test_days_roll_over_with_the_clock(stack, workload):
    """Tomorrow, yesterday's counters are a past day: served (from Redis until they are
    folded), and the period moves."""
    s = stack
    s.clock.set_day(TODAY + datetime.timedelta(days=1))
    r = s.get("/models/demo/alpha/stats/recent", params={"days": 2}).json()
    assert r["stats"] == [day_row(D0, 1, 0, 1, 2), zero(TODAY + datetime.timedelta(days=1))]
    assert r["period"]["end"] == iso(TODAY + datetime.timedelta(days=1))
    assert s.get("/models/demo/alpha/stats").json()["downloads"] == 7
