"""Fixtures of the catalog suite: a PostgreSQL cluster, redis-server and hubstatsd
(builtin catalog with an admin token) per test module, plus a small world of users,
an organization, repos and tokens registered through the admin API."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402

from harness.redis import RedisServer  # noqa: E402
from catalog.services import ADMIN_TOKEN, Client, Hubstatsd, PostgresServer  # noqa: E402



@pytest.fixture(scope="module")
def pg():
    server = PostgresServer()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    rs = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield rs
    finally:
        rs.stop()


def start_builtin(pg, redis_server, tmpdir, db, cache_ttl="300ms"):
    if db != "hubstats":
        pg.query(f'CREATE DATABASE "{db}"', db="postgres")
    token_file = tmpdir / "admin.token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    d = Hubstatsd(pg.dsn_for(db), redis_server.port,
                  f"  backend: builtin\n  cache_ttl: {cache_ttl}\n"
                  f"  admin_token_file: {token_file}\n")
    return d.start()


@pytest.fixture(scope="module")
def daemon(pg, redis_server, tmp_path_factory):
    d = start_builtin(pg, redis_server, tmp_path_factory.mktemp("daemon"), "hubstats")
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def admin(daemon):
    return Client(daemon.base, token=ADMIN_TOKEN)


class World:
    """alice owns namespace alice; org acme has member bob; eve is an outsider."""

    def __init__(self, daemon, admin):
        self.daemon = daemon
        self.admin = admin
        for u in ("alice", "bob", "eve"):
            r = admin.post("/api/admin/users", json={"username": u, "fullname": u.title()})
            assert r.status_code == 201, r.text
        r = admin.post("/api/admin/orgs/acme/members", json={"username": "bob"})
        assert r.status_code == 200 and r.json()["added"] is True, r.text
        self.repos = {
            "public": ("model", "alice", "public-model", False),
            "private": ("model", "alice", "secret-model", True),
            "org_private": ("model", "acme", "team-model", True),
            "org_public": ("model", "acme", "open-model", False),
        }
        for t, ns, name, priv in self.repos.values():
            r = admin.post("/api/admin/repos",
                           json={"type": t, "namespace": ns, "name": name, "private": priv})
            assert r.status_code == 201, r.text
        self.tokens = {u: self.new_token(u) for u in ("alice", "bob", "eve")}
        revoked = admin.post("/api/admin/tokens", json={"username": "alice", "name": "old"})
        assert revoked.status_code == 201
        self.revoked_token = revoked.json()["token"]
        r = admin.delete(f"/api/admin/tokens/{revoked.json()['id']}")
        assert r.status_code == 200, r.text

    def new_token(self, username):
        r = self.admin.post("/api/admin/tokens", json={"username": username, "name": "t"})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def client(self, who):
        """who: anonymous | owner | member | outsider | revoked | garbage"""
        base = self.daemon.base
        return {
            "anonymous": lambda: Client(base),
            "owner": lambda: Client(base, token=self.tokens["alice"]),
            "member": lambda: Client(base, token=self.tokens["bob"]),
            "outsider": lambda: Client(base, token=self.tokens["eve"]),
            "revoked": lambda: Client(base, token=self.revoked_token),
            "garbage": lambda: Client(base, token="hst_this-is-not-a-token"),
        }[who]()


@pytest.fixture(scope="module")
def world(daemon, admin):
    return World(daemon, admin)
