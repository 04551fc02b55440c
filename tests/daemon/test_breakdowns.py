"""Issue 12 endpoints through nginx and the real hubstatsd: /stats/files and
/stats/clients (with and without /api): shapes, sort order, defaults, bounds (422),
access rules (a private repo is a 404 byte-identical to a missing one) and exact counts
combining PostgreSQL and the unfolded Redis residual across the daemon's folds.

The per-file and per-client counts are written here as the module's record script
writes them (docs/redis-keys.md: a record of the breakdown log hs:{tag}:x:D, or the
hashes hs:{tag}:p:D and hs:{tag}:c:D a compaction leaves; the days set and the repo's
dirty shard)."""
import datetime

import pytest

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
NOT_FOUND = {"detail": "Repository 'demo/secret' (model) not found"}


def fnv1a(s: str) -> int:
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def write(stack, tag, day, paths=None, clients=None, bots=0, as_log=True):
    """Adds per-file counts {path: files} and per-client counts {family: (downloads,
    files)} for the repo-day, like the module's record script: as one record of the
    breakdown log (what every batch appends), or into the hashes (what a compaction of
    the log leaves, as_log=False)."""
    d = f"{day:%Y%m%d}"
    with stack.redis.client() as r:
        if as_log:
            fams = list((clients or {}).items())
            rec = "".join(f"f{fam}\t{fi}\n" for fam, (_, fi) in fams) + \
                "".join(f"p{p}\t{n}\n" for p, n in (paths or {}).items()) + \
                "d" + ",".join(str(dl) for _, (dl, _) in fams) + "\n"
            r.execute("APPEND", f"hs:{{{tag}}}:x:{d}", rec)
        else:
            for p, n in (paths or {}).items():
                r.execute("HINCRBY", f"hs:{{{tag}}}:p:{d}", p, n)
            for fam, (dl, fi) in (clients or {}).items():
                r.execute("HINCRBY", f"hs:{{{tag}}}:c:{d}", f"d:{fam}", dl)
                r.execute("HINCRBY", f"hs:{{{tag}}}:c:{d}", f"f:{fam}", fi)
        if bots:
            r.execute("HINCRBY", f"hs:{{{tag}}}:d:{d}", "bots", bots)
        r.execute("SADD", f"hs:{{{tag}}}:days", d)
        r.execute("SADD", f"hs:{{dirty:{fnv1a(tag) % 16}}}", tag)


def fold(stack):
    r = stack.daemon.command("fold", "--once")
    assert r.returncode == 0, r.stdout


def unfolded(stack, tag):
    with stack.redis.client() as r:
        return r.keys(f"hs:{{{tag}}}:[pcfx]*:*")


@pytest.fixture
def repos(stack):
    stack.add_repo("model", "demo", "public")
    stack.add_repo("model", "demo", "secret", private=True)
    return {"demo": stack.daemon.add_user("demo"), "outsider": stack.daemon.add_user("outsider")}


def period(days):
    return {"start": (TODAY - datetime.timedelta(days=days - 1)).isoformat(),
            "end": TODAY.isoformat(), "days": days}


def test_files_and_clients_exact_sorted_across_folds(stack, repos):
    tag = "model/demo/public"
    day2 = TODAY - datetime.timedelta(days=2)
    old = TODAY - datetime.timedelta(days=40)  # outside the default 30 days
    write(stack, tag, TODAY, {"model.safetensors": 5, "config.json": 7, "(git)": 2},
          {"git": (2, 2), "huggingface_hub": (3, 12), "bot": (1, 4)}, bots=4)
    write(stack, tag, day2, {"model.safetensors": 2, "a.bin": 7},
          {"curl": (3, 9), "git": (1, 1)}, as_log=False)
    write(stack, tag, old, {"old.bin": 100}, {"wget": (50, 100)})
    # Sorted by files descending, then path (bytewise).
    files_30 = [{"path": "a.bin", "files": 7}, {"path": "config.json", "files": 7},
                {"path": "model.safetensors", "files": 7}, {"path": "(git)", "files": 2}]
    clients_30 = [{"client": "curl", "downloads": 3, "files": 9},
                  {"client": "git", "downloads": 3, "files": 3},
                  {"client": "huggingface_hub", "downloads": 3, "files": 12},
                  {"client": "bot", "downloads": 1, "files": 4}]
    clients_1 = [{"client": "huggingface_hub", "downloads": 3, "files": 12},
                 {"client": "git", "downloads": 2, "files": 2},
                 {"client": "bot", "downloads": 1, "files": 4}]

    def check():
        for prefix in ("", "/api"):
            r = stack.get(f"{prefix}/models/demo/public/stats/files")
            assert r.status_code == 200, r.text
            assert r.json() == {"files": files_30, "period": period(30)}
            assert list(r.json()) == ["files", "period"]
            assert list(r.json()["files"][0]) == ["path", "files"]
            r = stack.get(f"{prefix}/models/demo/public/stats/files", params={"days": "1"})
            assert r.json()["files"] == [{"path": "config.json", "files": 7},
                                         {"path": "model.safetensors", "files": 5},
                                         {"path": "(git)", "files": 2}]
            r = stack.get(f"{prefix}/models/demo/public/stats/files", params={"days": "41"})
            assert r.json()["files"][0] == {"path": "old.bin", "files": 100}
            r = stack.get(f"{prefix}/models/demo/public/stats/clients")
            assert r.status_code == 200, r.text
            assert r.json() == {"clients": clients_30, "period": period(30)}
            assert list(r.json()["clients"][0]) == ["client", "downloads", "files"]
            r = stack.get(f"{prefix}/models/demo/public/stats/clients", params={"days": "1"})
            assert r.json() == {"clients": clients_1, "period": period(1)}

    check()  # all in Redis
    fold(stack)
    assert unfolded(stack, tag) == []
    assert int(stack.pg.rows("SELECT sum(files) FROM hubstats.daily_paths WHERE name = 'public'")
               [0][0]) == 5 + 7 + 2 + 2 + 7 + 100
    assert stack.pg.rows("SELECT bots FROM hubstats.daily_downloads WHERE name = 'public' "
                         f"AND day = '{TODAY.isoformat()}'") == [["4"]]
    check()  # all from PostgreSQL
    write(stack, tag, TODAY, {"a.bin": 1}, {"curl": (1, 1)})
    files_30 = [{"path": "a.bin", "files": 8}] + files_30[1:]
    clients_30[0] = {"client": "curl", "downloads": 4, "files": 10}
    clients_1 = [{"client": "huggingface_hub", "downloads": 3, "files": 12},
                 {"client": "git", "downloads": 2, "files": 2},
                 {"client": "bot", "downloads": 1, "files": 4},
                 {"client": "curl", "downloads": 1, "files": 1}]

    def check_new():
        for prefix in ("", "/api"):
            r = stack.get(f"{prefix}/models/demo/public/stats/files")
            assert r.json() == {"files": files_30, "period": period(30)}
            r = stack.get(f"{prefix}/models/demo/public/stats/clients")
            assert r.json() == {"clients": clients_30, "period": period(30)}
            r = stack.get(f"{prefix}/models/demo/public/stats/clients", params={"days": "1"})
            assert r.json()["clients"] == clients_1

    check_new()  # PostgreSQL plus the new residual
    fold(stack)
    assert unfolded(stack, tag) == []
    check_new()


def test_files_limit_default_and_bounds(stack, repos):
    tag = "model/demo/public"
    write(stack, tag, TODAY, {f"f{i:03d}.bin": 1000 - i for i in range(120)})
    r = stack.get("/models/demo/public/stats/files")
    got = r.json()["files"]
    assert len(got) == 100  # default limit
    assert got == [{"path": f"f{i:03d}.bin", "files": 1000 - i} for i in range(100)]
    assert len(stack.get("/models/demo/public/stats/files?limit=1000").json()["files"]) == 120
    assert stack.get("/models/demo/public/stats/files?limit=3").json()["files"] == got[:3]


@pytest.mark.parametrize("query,err", [
    ("days=0", ("greater_than_equal", "days", "Input should be greater than or equal to 1",
                "0", {"ge": 1})),
    ("days=366", ("less_than_equal", "days", "Input should be less than or equal to 365",
                  "366", {"le": 365})),
    ("days=x", ("int_parsing", "days",
                "Input should be a valid integer, unable to parse string as an integer", "x",
                None)),
])
@pytest.mark.parametrize("endpoint", ["files", "clients"])
def test_bad_days_answer_422_fastapi_shape(stack, repos, endpoint, query, err):
    type_, loc, msg, inp, ctx = err
    want = {"type": type_, "loc": ["query", loc], "msg": msg, "input": inp}
    if ctx:
        want["ctx"] = ctx
    for prefix in ("", "/api"):
        r = stack.get(f"{prefix}/models/demo/public/stats/{endpoint}?{query}")
        assert r.status_code == 422
        assert r.json() == {"detail": [want]}


def test_bad_limit_answers_422(stack, repos):
    r = stack.get("/models/demo/public/stats/files?limit=0&days=400")
    assert r.status_code == 422
    assert r.text == (
        '{"detail":[{"type":"less_than_equal","loc":["query","days"],'
        '"msg":"Input should be less than or equal to 365","input":"400","ctx":{"le":365}},'
        '{"type":"greater_than_equal","loc":["query","limit"],'
        '"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}}]}')
    r = stack.get("/api/models/demo/public/stats/files?limit=1001")
    assert r.status_code == 422
    assert r.json()["detail"][0]["ctx"] == {"le": 1000}


def error_view(r):
    return (r.status_code, r.headers.get("X-Error-Code"), r.headers.get("X-Error-Message"), r.text)


@pytest.mark.parametrize("path", ["/models/demo/{}/stats/files", "/api/models/demo/{}/stats/files",
                                  "/models/demo/{}/stats/clients?days=3",
                                  "/api/models/demo/{}/stats/clients"])
def test_private_repo_is_indistinguishable_from_a_missing_one(stack, repos, path):
    write(stack, "model/demo/secret", TODAY, {"weights.bin": 3}, {"curl": (1, 3)})
    for token in (None, repos["outsider"], "garbage-token"):
        hidden = stack.get(path.format("secret"), token=token)
        assert hidden.status_code == 404
        assert hidden.json() == NOT_FOUND
        assert hidden.headers["X-Error-Code"] == "RepoNotFound"
        missing = stack.get(path.format("secreu"), token=token)
        assert error_view(missing) == (404, "RepoNotFound",
                                       "Repository 'demo/secreu' (model) not found",
                                       hidden.text.replace("secret", "secreu"))
    owner = stack.get(path.format("secret"), token=repos["demo"])
    assert owner.status_code == 200
    body = owner.json()
    assert body.get("files", body.get("clients"))
