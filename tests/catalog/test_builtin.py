"""Access control of the builtin catalog through the real hubstatsd: every caller x
every repo x every per-repo endpoint, trending per caller, and cache expiry."""
import pytest

from catalog.services import Client, add_redis_downloads
from harness.ports import wait_until

CALLERS = ["anonymous", "owner", "member", "outsider", "revoked", "garbage"]
AUTHENTICATED = {"owner": "alice", "member": "bob", "outsider": "eve"}
# Which callers may read which repo (the rule of reference-notes: owner = username equal
# to the namespace; member of the organization named by the namespace).
READERS = {
    "public": set(CALLERS),
    "org_public": set(CALLERS),
    "private": {"owner"},
    "org_private": {"member"},
}
# A missing repo with a name of the same length as each private one, so their 404s can
# be compared byte for byte after substituting the name.
MISSING_TWIN = {"private": "absent-model", "org_private": "gone-model",
                "public": "nopub-model1", "org_public": "nope-model"}
ENDPOINTS = [
    ("GET", "stats"),
    ("GET", "stats/recent"),
    ("GET", "like"),
    ("POST", "like"),
    ("DELETE", "like"),
    ("GET", "likers"),
]
IGNORED_HEADERS = {"x-request-id", "date"}
PICTURES = [("GET", "stats/chart.svg"), ("GET", "stats/badge")]


@pytest.fixture(scope="module")
def endpoints(world):
    """The per-repo endpoints, plus issue 5's chart and badge when this daemon has them."""
    out = list(ENDPOINTS)
    for method, suffix in PICTURES:
        r = world.client("anonymous").get(f"/models/alice/public-model/{suffix}")
        if r.status_code == 200:
            out.append((method, suffix))
    return out


def comparable(resp, substitute=None):
    body = resp.content
    headers = {k.lower(): v for k, v in resp.headers.items() if k.lower() not in IGNORED_HEADERS}
    if substitute:
        old, new = substitute
        body = body.replace(old.encode(), new.encode())
        headers = {k: v.replace(old, new) for k, v in headers.items()}
    return resp.status_code, headers, body


def expected_not_found(ns, name):
    return {"detail": f"Repository '{ns}/{name}' (model) not found"}


@pytest.mark.parametrize("prefix", ["", "/api"])
@pytest.mark.parametrize("repo_key", list(READERS))
@pytest.mark.parametrize("who", CALLERS)
def test_matrix(world, endpoints, who, repo_key, prefix):
    t, ns, name, private = world.repos[repo_key]
    c = world.client(who)
    base = f"{prefix}/{t}s/{ns}/{name}"
    missing_base = f"{prefix}/{t}s/{ns}/{MISSING_TWIN[repo_key]}"
    visible = who in READERS[repo_key]
    authed = who in AUTHENTICATED

    for method, suffix in endpoints:
        cell = f"{who} {method} {base}/{suffix}"
        r = c.request(method, f"{base}/{suffix}")
        assert r.headers.get("X-Request-Id"), cell
        missing = c.request(method, f"{missing_base}/{suffix}")
        if method in ("POST", "DELETE") and not authed:
            # Login is checked first: the same 401 for public, private and missing repos.
            assert r.status_code == 401, cell
            assert r.json() == {"detail": "Not authenticated"}, cell
            assert comparable(r) == comparable(missing), cell
            continue
        if not visible:
            assert r.status_code == 404, cell
            assert r.json() == expected_not_found(ns, name), cell
            assert r.headers["X-Error-Code"] == "RepoNotFound", cell
            assert r.headers["X-Error-Message"] == f"Repository '{ns}/{name}' (model) not found"
            # Identical to a missing repo apart from the name and X-Request-Id.
            assert comparable(r) == comparable(
                missing, (f"{ns}/{MISSING_TWIN[repo_key]}", f"{ns}/{name}")), cell
            continue
        # Visible to this caller.
        assert missing.status_code == 404, cell
        if suffix == "stats":
            assert r.status_code == 200, cell
            assert set(r.json()) == {"downloads", "likes"}, cell
        elif suffix == "stats/recent":
            assert r.status_code == 200, cell
            assert len(r.json()["stats"]) == 30 and r.json()["period"]["days"] == 30, cell
        elif suffix == "like" and method == "GET":
            assert r.status_code == 200 and r.json() == {"liked": False}, cell
        elif suffix == "like" and method == "POST":
            assert r.status_code == 200, cell
            now_likes = c.get(f"{base}/stats").json()["likes"]
            assert now_likes >= 1, cell
            assert r.json() == {"success": True, "message": "Repository liked successfully",
                                "likes_count": now_likes}, cell
            assert c.get(f"{base}/like").json() == {"liked": True}, cell
            assert AUTHENTICATED[who] in [x["user"] for x in c.get(f"{base}/likers").json()]
        elif suffix == "like" and method == "DELETE":
            assert r.status_code == 200, cell
            assert r.json()["message"] == "Repository unliked successfully", cell
            assert c.get(f"{base}/like").json() == {"liked": False}, cell
            again = c.delete(f"{base}/like")
            assert again.status_code == 400, cell
            assert again.json() == {"detail": {"error": "Repository not liked"}}, cell
        elif suffix == "likers":
            assert r.status_code == 200 and isinstance(r.json(), list), cell
        else:  # chart / badge
            assert r.status_code == 200, cell


def test_private_404_is_byte_identical_to_a_deleted_repo(world, admin):
    """The strongest form: the same URL before and after the repo is deleted."""
    r = admin.post("/api/admin/repos", json={"type": "dataset", "namespace": "alice",
                                             "name": "vanishing", "private": True})
    assert r.status_code == 201
    eve = world.client("outsider")
    anon = world.client("anonymous")
    paths = ["/datasets/alice/vanishing/stats", "/api/datasets/alice/vanishing/stats/recent",
             "/api/datasets/alice/vanishing/likers", "/api/datasets/alice/vanishing/like",
             "/datasets/alice/vanishing/stats/chart.svg", "/datasets/alice/vanishing/stats/badge"]
    before = [comparable(c.get(p)) for c in (eve, anon) for p in paths]
    assert all(b[0] == 404 for b in before)
    assert admin.delete("/api/admin/repos/datasets/alice/vanishing").status_code == 200
    after = [comparable(c.get(p)) for c in (eve, anon) for p in paths]
    assert before == after


def trending_ids(client, **params):
    r = client.get("/api/trending", params=params)
    assert r.status_code == 200, r.text
    return [(e["id"], e["private"]) for e in r.json()["trending"]]


def test_trending_per_caller(world, redis_server):
    rc = redis_server.client()
    # Private repos get the most downloads, so a limit applied before filtering would
    # return fewer entries than asked for.
    add_redis_downloads(rc, "model", "acme", "team-model", 50)
    add_redis_downloads(rc, "model", "alice", "secret-model", 40)
    add_redis_downloads(rc, "model", "alice", "public-model", 30)
    add_redis_downloads(rc, "model", "acme", "open-model", 20)
    rc.close()
    public = [("alice/public-model", False), ("acme/open-model", False)]
    expect = {
        "anonymous": public,
        "revoked": public,
        "garbage": public,
        "outsider": public,
        "owner": [("alice/secret-model", True)] + public,
        "member": [("acme/team-model", True)] + public,
    }
    for who, ids in expect.items():
        c = world.client(who)
        assert wait_until(lambda: trending_ids(c) == ids, timeout=10, what=f"trending {who}")
        # The limit is applied after filtering.
        assert trending_ids(c, limit=1) == ids[:1], who
        assert trending_ids(c, limit=2) == ids[:2], who
        assert trending_ids(c, repo_type="dataset") == [], who


def test_revocation_by_another_daemon_takes_effect_within_ttl(world, pg):
    """A change made directly in PostgreSQL (as another daemon would) shows within
    catalog.cache_ttl (300ms here); we poll with a deadline well above it."""
    token = world.new_token("alice")
    c = Client(world.daemon.base, token=token)
    assert c.get("/models/alice/secret-model/stats").status_code == 200
    # PostgreSQL has no SHA3 function: revoke alice's newest token (the one just made).
    pg.query("UPDATE hubstats.tokens SET revoked_at = now() WHERE id = "
            "(SELECT max(t.id) FROM hubstats.tokens t JOIN hubstats.users u "
            "ON u.id = t.user_id WHERE u.username = 'alice')", db="hubstats")
    wait_until(lambda: c.get("/models/alice/secret-model/stats").status_code == 404,
               timeout=10, what="revoked token to become anonymous")
    assert c.get("/models/alice/public-model/stats").status_code == 200


def test_making_repo_private_elsewhere_takes_effect_within_ttl(world, admin, pg):
    r = admin.post("/api/admin/repos", json={"type": "space", "namespace": "alice",
                                             "name": "flip"})
    assert r.status_code == 201
    anon = world.client("anonymous")
    assert anon.get("/spaces/alice/flip/stats").status_code == 200
    pg.query("UPDATE hubstats.repos SET private = true WHERE type = 'space' AND name = 'flip'",
            db="hubstats")
    wait_until(lambda: anon.get("/spaces/alice/flip/stats").status_code == 404, timeout=10,
               what="repo to become hidden")
    assert world.client("owner").get("/spaces/alice/flip/stats").status_code == 200
