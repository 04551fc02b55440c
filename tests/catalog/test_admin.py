"""The admin API of the builtin catalog (docs/catalog.md), through the real daemon."""
import pytest

from catalog.services import ADMIN_TOKEN, Client

ADMIN_ROUTES = [
    ("GET", "/api/admin/repos"), ("POST", "/api/admin/repos"),
    ("DELETE", "/api/admin/repos/models/alice/x"),
    ("PUT", "/api/admin/repos/models/alice/x/private"),
    ("GET", "/api/admin/users"), ("POST", "/api/admin/users"),
    ("GET", "/api/admin/orgs/acme/members"), ("POST", "/api/admin/orgs/acme/members"),
    ("DELETE", "/api/admin/orgs/acme/members/bob"),
    ("GET", "/api/admin/tokens"), ("POST", "/api/admin/tokens"),
    ("DELETE", "/api/admin/tokens/1"),
]


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_admin_routes_need_the_admin_token(world, daemon, method, path):
    for c in (Client(daemon.base), Client(daemon.base, token=world.tokens["alice"]),
              Client(daemon.base, token=ADMIN_TOKEN + "x"),
              Client(daemon.base, token=ADMIN_TOKEN[:-1])):
        r = c.request(method, path, json={})
        assert r.status_code == 401, (method, path)
        assert r.json() == {"detail": "Admin token required"}


def test_repo_lifecycle(world, admin):
    r = admin.post("/api/admin/repos", json={"type": "dataset", "namespace": "alice",
                                             "name": "corpus"})
    assert r.status_code == 201
    assert r.json() == {"type": "dataset", "namespace": "alice", "name": "corpus",
                        "private": False, "likes": 0}
    r = admin.post("/api/admin/repos", json={"type": "dataset", "namespace": "alice",
                                             "name": "corpus", "private": True})
    assert r.status_code == 409
    assert r.json() == {"detail": "repository already exists"}
    listed = admin.get("/api/admin/repos").json()
    assert {"type": "dataset", "namespace": "alice", "name": "corpus", "private": False,
            "likes": 0} in listed
    assert listed == sorted(listed, key=lambda x: (x["type"], x["namespace"], x["name"]))

    anon = world.client("anonymous")
    assert anon.get("/api/datasets/alice/corpus/stats").status_code == 200
    # set-private through this daemon takes effect at once (its cache is invalidated).
    r = admin.put("/api/admin/repos/datasets/alice/corpus/private", json={"private": True})
    assert r.status_code == 200 and r.json()["private"] is True
    assert anon.get("/api/datasets/alice/corpus/stats").status_code == 404
    assert world.client("owner").get("/api/datasets/alice/corpus/stats").status_code == 200
    r = admin.put("/api/admin/repos/datasets/alice/corpus/private", json={"private": False})
    assert r.json()["private"] is False
    assert anon.get("/api/datasets/alice/corpus/stats").status_code == 200

    assert admin.delete("/api/admin/repos/datasets/alice/corpus").json() == {"deleted": True}
    assert anon.get("/api/datasets/alice/corpus/stats").status_code == 404
    r = admin.delete("/api/admin/repos/datasets/alice/corpus")
    assert r.status_code == 404 and r.json() == {"detail": "repository not found"}
    r = admin.put("/api/admin/repos/datasets/alice/corpus/private", json={"private": True})
    assert r.status_code == 404


@pytest.mark.parametrize("body,message", [
    ({"namespace": "a", "name": "b"}, "type: required"),
    ({"type": "models", "namespace": "a", "name": "b"}, "type: expected model, dataset or space"),
    ({"type": "model", "name": "b"}, "namespace: required"),
    ({"type": "model", "namespace": "a/b", "name": "b"},
     "namespace: expected 1..96 chars of [A-Za-z0-9._-]"),
    ({"type": "model", "namespace": "a", "name": ".."},
     "name: expected 1..96 chars of [A-Za-z0-9._-]"),
    ({"type": "model", "namespace": "a", "name": "b", "private": "yes"},
     "private: expected a boolean"),
])
def test_add_repo_validation(admin, body, message):
    r = admin.post("/api/admin/repos", json=body)
    assert r.status_code == 400
    assert r.json() == {"detail": message}


def test_malformed_bodies(admin):
    r = admin.post("/api/admin/users", data="{not json", headers={"Content-Type":
                                                                   "application/json"})
    assert r.status_code == 400 and r.json() == {"detail": "body: malformed JSON"}
    r = admin.post("/api/admin/users", json=["alice"])
    assert r.status_code == 400 and r.json() == {"detail": "body: expected a JSON object"}
    r = admin.put("/api/admin/repos/models/alice/public-model/private", json={})
    assert r.status_code == 400 and r.json() == {"detail": "private: required"}


def test_users_and_name_clashes(world, admin):
    r = admin.post("/api/admin/users", json={"username": "carol", "fullname": "Carol C"})
    assert r.status_code == 201
    assert r.json() == {"username": "carol", "fullname": "Carol C"}
    assert admin.post("/api/admin/users", json={"username": "carol"}).status_code == 409
    # A user may not take an org's name and vice versa.
    assert admin.post("/api/admin/users", json={"username": "acme"}).status_code == 409
    r = admin.post("/api/admin/orgs/carol/members", json={"username": "bob"})
    assert r.status_code == 409
    users = admin.get("/api/admin/users").json()
    assert {"username": "carol", "fullname": "Carol C"} in users
    assert [u["username"] for u in users] == sorted(u["username"] for u in users)


def test_org_membership_grants_and_revokes_access(world, admin):
    assert admin.post("/api/admin/repos", json={"type": "model", "namespace": "guild",
                                                "name": "vault", "private": True}).status_code == 201
    eve = world.client("outsider")
    assert eve.get("/models/guild/vault/stats").status_code == 404
    r = admin.post("/api/admin/orgs/guild/members", json={"username": "eve"})
    assert r.json() == {"org": "guild", "username": "eve", "added": True}
    assert admin.post("/api/admin/orgs/guild/members",
                      json={"username": "eve"}).json()["added"] is False
    assert admin.get("/api/admin/orgs/guild/members").json() == ["eve"]
    assert eve.get("/models/guild/vault/stats").status_code == 200
    r = admin.delete("/api/admin/orgs/guild/members/eve")
    assert r.json() == {"org": "guild", "username": "eve", "removed": True}
    assert eve.get("/models/guild/vault/stats").status_code == 404
    assert admin.delete("/api/admin/orgs/guild/members/eve").status_code == 404
    assert admin.post("/api/admin/orgs/guild/members",
                      json={"username": "nobody"}).status_code == 404
    assert admin.get("/api/admin/orgs/no-such-org/members").status_code == 404


def test_tokens_are_shown_once_stored_hashed_and_revocable(world, admin, pg):
    r = admin.post("/api/admin/tokens", json={"username": "eve", "name": "ci"})
    assert r.status_code == 201
    body = r.json()
    token = body["token"]
    assert body["username"] == "eve" and body["name"] == "ci" and token.startswith("hst_")
    listed = admin.get("/api/admin/tokens", params={"username": "eve"}).json()
    entry = next(t for t in listed if t["id"] == body["id"])
    assert entry["revoked"] is False and "token" not in entry
    assert all(t["username"] == "eve" for t in listed)
    # Only the SHA3-512 hex is stored; the token itself appears nowhere in the table.
    rows = pg.query("SELECT token_hash FROM hubstats.tokens WHERE id = :'id'", db="hubstats",
                   params={"id": body["id"]})
    assert len(rows[0][0]) == 128 and rows[0][0] != token
    dump = pg.query("SELECT t::text FROM hubstats.tokens t", db="hubstats")
    assert not any(token in row[0] for row in dump)

    c = Client(world.daemon.base, token=token)
    assert c.post("/api/models/alice/public-model/like").status_code == 200
    r = admin.delete(f"/api/admin/tokens/{body['id']}")
    assert r.json() == {"id": body["id"], "revoked": True}
    # Revoked through this daemon: anonymous at once.
    assert c.delete("/api/models/alice/public-model/like").status_code == 401
    assert admin.delete(f"/api/admin/tokens/{body['id']}").status_code == 404
    entry = next(t for t in admin.get("/api/admin/tokens").json() if t["id"] == body["id"])
    assert entry["revoked"] is True
    assert admin.post("/api/admin/tokens", json={"username": "ghost"}).status_code == 404
    # Clean up eve's like with a fresh token.
    assert world.client("outsider").delete(
        "/api/models/alice/public-model/like").status_code == 200
