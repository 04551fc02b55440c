"""The likes API of the builtin catalog (KohakuHub's paths and shapes), including
the concurrency cases: counts must be exact under concurrent likes and unlikes."""
import concurrent.futures

import pytest

from catalog.services import Client


@pytest.fixture(scope="module")
def crowd(world, admin):
    """50 extra users with one token each."""
    tokens = {}
    for i in range(50):
        u = f"fan{i:02d}"
        assert admin.post("/api/admin/users", json={"username": u}).status_code == 201
        tokens[u] = world.new_token(u)
    return tokens


def new_repo(admin, name, private=False, ns="alice"):
    r = admin.post("/api/admin/repos", json={"type": "model", "namespace": ns, "name": name,
                                             "private": private})
    assert r.status_code == 201, r.text
    return f"/api/models/{ns}/{name}"


def likes_of(client, path):
    r = client.get(path + "/stats")
    assert r.status_code == 200
    return r.json()["likes"]


def test_like_unlike_shapes(world, admin):
    path = new_repo(admin, "shapes")
    alice = world.client("owner")
    r = alice.post(path + "/like")
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Repository liked successfully",
                        "likes_count": 1}
    r = alice.post(path + "/like")
    assert r.status_code == 400
    assert r.json() == {"detail": {"error": "Repository already liked"}}
    assert alice.get(path + "/like").json() == {"liked": True}
    assert world.client("anonymous").get(path + "/like").json() == {"liked": False}
    assert world.client("member").get(path + "/like").json() == {"liked": False}
    r = alice.delete(path + "/like")
    assert r.json() == {"success": True, "message": "Repository unliked successfully",
                        "likes_count": 0}
    r = alice.delete(path + "/like")
    assert r.status_code == 400
    assert r.json() == {"detail": {"error": "Repository not liked"}}
    # Same routes without /api.
    short = path[len("/api"):]
    assert alice.post(short + "/like").json()["likes_count"] == 1
    assert likes_of(alice, short) == 1
    assert alice.delete(short + "/like").json()["likes_count"] == 0


def test_unauthenticated_like_is_401(world, admin):
    path = new_repo(admin, "noauth")
    for who in ("anonymous", "revoked", "garbage"):
        c = world.client(who)
        for method in ("POST", "DELETE"):
            r = c.request(method, path + "/like")
            assert r.status_code == 401, (who, method)
            assert r.json() == {"detail": "Not authenticated"}


def test_likers_newest_first_with_fullname_fallback_and_limit(world, admin, crowd):
    path = new_repo(admin, "likers")
    order = ["fan00", "fan01", "fan02", "alice", "bob"]
    for u in order:
        tok = crowd.get(u) or world.tokens[u]
        assert Client(world.daemon.base, token=tok).post(path + "/like").status_code == 200
    r = world.client("anonymous").get(path + "/likers")
    assert r.status_code == 200
    assert r.json() == [
        {"user": "bob", "fullname": "Bob", "avatarUrl": None},
        {"user": "alice", "fullname": "Alice", "avatarUrl": None},
        {"user": "fan02", "fullname": "fan02", "avatarUrl": None},
        {"user": "fan01", "fullname": "fan01", "avatarUrl": None},
        {"user": "fan00", "fullname": "fan00", "avatarUrl": None},
    ]
    assert [x["user"] for x in world.client("anonymous").get(
        path + "/likers", params={"limit": 2}).json()] == ["bob", "alice"]
    r = world.client("anonymous").get(path + "/likers", params={"limit": 0})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]
    assert r.json()["detail"][0]["type"] == "greater_than_equal"


def test_user_likes_skip_private_repos_the_caller_cannot_see(world, admin):
    pub = new_repo(admin, "ul-public")
    priv = new_repo(admin, "ul-private", private=True)
    team = new_repo(admin, "ul-team", private=True, ns="acme")
    # bob (acme member) likes the public and the team repo; alice likes her two repos.
    bob = world.client("member")
    alice = world.client("owner")
    assert bob.post(pub + "/like").status_code == 200
    assert bob.post(team + "/like").status_code == 200
    assert alice.post(pub + "/like").status_code == 200
    assert alice.post(priv + "/like").status_code == 200
    # bob cannot like alice's private repo: it does not exist for him.
    r = bob.post(priv + "/like")
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound"

    def names(client, user, **params):
        r = client.get(f"/api/users/{user}/likes", params=params)
        assert r.status_code == 200, r.text
        for e in r.json():
            assert e["createdAt"].endswith("+00:00") and "T" in e["createdAt"]
            assert e["repo"]["type"] == "model"
        # Only this test's repos: other tests of the module like other repos too.
        return [e["repo"]["name"] for e in r.json() if "/ul-" in e["repo"]["name"]]

    assert names(bob, "bob") == ["acme/ul-team", "alice/ul-public"]
    assert names(world.client("anonymous"), "bob") == ["alice/ul-public"]
    assert names(world.client("outsider"), "bob") == ["alice/ul-public"]
    assert names(alice, "bob") == ["alice/ul-public"]
    assert names(alice, "alice") == ["alice/ul-private", "alice/ul-public"]
    assert names(world.client("member"), "alice") == ["alice/ul-public"]
    # The limit counts visible entries only: alice's newest like is private.
    r = world.client("anonymous").get("/api/users/alice/likes", params={"limit": 1})
    assert [e["repo"]["name"] for e in r.json()] == ["alice/ul-public"]
    r = alice.get("/api/users/alice/likes", params={"limit": 1})
    assert [e["repo"]["name"] for e in r.json()] == ["alice/ul-private"]
    # Without /api too.
    assert world.client("anonymous").get("/users/bob/likes").json()[0]["repo"]["name"] == \
        "alice/ul-public"
    r = world.client("anonymous").get("/api/users/nobody-here/likes")
    assert r.status_code == 404
    assert r.json() == {"detail": {"error": "User not found"}}


def test_50_concurrent_likes_by_50_users_count_exactly_50(world, admin, crowd):
    path = new_repo(admin, "popular")

    def like(tok):
        return Client(world.daemon.base, token=tok).post(path + "/like")

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(like, crowd.values()))
    assert [r.status_code for r in results] == [200] * 50
    # Every response saw a distinct count: the increments were serialized.
    assert sorted(r.json()["likes_count"] for r in results) == list(range(1, 51))
    anon = world.client("anonymous")
    assert likes_of(anon, path) == 50
    assert len(anon.get(path + "/likers", params={"limit": 100}).json()) == 50


def test_20_concurrent_like_then_unlike_leaves_the_right_count(world, admin, crowd):
    path = new_repo(admin, "churn")
    users = list(crowd.values())[:20]

    def like_then_unlike(tok):
        c = Client(world.daemon.base, token=tok)
        a = c.post(path + "/like")
        b = c.delete(path + "/like")
        return a.status_code, b.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(like_then_unlike, users))
    assert results == [(200, 200)] * 20
    anon = world.client("anonymous")
    assert likes_of(anon, path) == 0
    assert anon.get(path + "/likers").json() == []


def test_mixed_concurrent_likes_and_unlikes(world, admin, crowd):
    path = new_repo(admin, "mixed")
    users = list(crowd.values())
    first, second = users[:20], users[20:40]
    for tok in first:
        assert Client(world.daemon.base, token=tok).post(path + "/like").status_code == 200

    def act(args):
        tok, method = args
        return Client(world.daemon.base, token=tok).request(method, path + "/like").status_code

    # 10 of the first group unlike, 20 new users like, and 10 of the first group try
    # to like again (already liked), all at once.
    work = [(t, "DELETE") for t in first[:10]] + [(t, "POST") for t in second] + \
        [(t, "POST") for t in first[10:]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        codes = list(pool.map(act, work))
    assert codes == [200] * 30 + [400] * 10
    anon = world.client("anonymous")
    assert likes_of(anon, path) == 30
    assert len(anon.get(path + "/likers", params={"limit": 100}).json()) == 30


def test_deleting_a_repo_drops_its_likes(world, admin):
    path = new_repo(admin, "doomed")
    assert world.client("owner").post(path + "/like").status_code == 200
    assert admin.delete("/api/admin/repos/models/alice/doomed").status_code == 200
    assert "alice/doomed" not in [e["repo"]["name"] for e in
                                  world.client("owner").get("/api/users/alice/likes").json()]
    new_repo(admin, "doomed")
    assert likes_of(world.client("anonymous"), path) == 0
