"""catalog.backend: kohakuhub against a real PostgreSQL database that this test creates
with KohakuHub's schema (reference-notes: "user", token, session, repository,
userorganization, repositorylike) and data. hubstatsd connects to it as a role that
may only SELECT, and the hub's tables are checked unchanged afterwards."""
import hashlib

import pytest

from catalog.services import Client, Hubstatsd, add_redis_downloads
from harness.ports import wait_until

# KohakuHub's tables as its peewee models create them (lower-case class names,
# foreign keys <field>_id, naive timestamps).
KOHAKUHUB_SCHEMA = """
CREATE TABLE "user" (
  id serial PRIMARY KEY, username varchar(255) NOT NULL UNIQUE, email varchar(255),
  password_hash varchar(255), email_verified boolean NOT NULL DEFAULT false,
  is_active boolean NOT NULL DEFAULT true, is_org boolean NOT NULL DEFAULT false,
  full_name varchar(255), created_at timestamp NOT NULL DEFAULT now());
CREATE TABLE token (
  id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES "user" (id),
  token_hash varchar(255) NOT NULL UNIQUE, name varchar(255) NOT NULL,
  last_used timestamp, created_at timestamp NOT NULL DEFAULT now());
CREATE TABLE session (
  id serial PRIMARY KEY, session_id varchar(255) NOT NULL UNIQUE,
  user_id integer NOT NULL REFERENCES "user" (id), secret varchar(255) NOT NULL,
  expires_at timestamp NOT NULL, created_at timestamp NOT NULL DEFAULT now());
CREATE TABLE repository (
  id serial PRIMARY KEY, repo_type varchar(255) NOT NULL, namespace varchar(255) NOT NULL,
  name varchar(255) NOT NULL, full_id varchar(255) NOT NULL, private boolean NOT NULL,
  owner_id integer REFERENCES "user" (id), downloads integer NOT NULL DEFAULT 0,
  likes_count integer NOT NULL DEFAULT 0, created_at timestamp NOT NULL DEFAULT now());
CREATE UNIQUE INDEX repository_repo_type_namespace_name
  ON repository (repo_type, namespace, name);
CREATE TABLE userorganization (
  id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES "user" (id),
  organization_id integer NOT NULL REFERENCES "user" (id), role varchar(255) NOT NULL,
  created_at timestamp NOT NULL DEFAULT now());
CREATE TABLE repositorylike (
  id serial PRIMARY KEY, repository_id integer NOT NULL REFERENCES repository (id),
  user_id integer NOT NULL REFERENCES "user" (id), created_at timestamp NOT NULL DEFAULT now());
CREATE UNIQUE INDEX repositorylike_repository_id_user_id
  ON repositorylike (repository_id, user_id);
"""

HUB_DATA = """
INSERT INTO "user" (username, is_org, is_active, full_name) VALUES
  ('alice', false, true, 'Alice'), ('bob', false, true, 'Bob'), ('eve', false, true, 'Eve'),
  ('mallory', false, false, 'Inactive'), ('acme', true, true, 'ACME Inc');
INSERT INTO userorganization (user_id, organization_id, role)
  SELECT u.id, o.id, 'member' FROM "user" u, "user" o WHERE u.username = 'bob' AND o.username = 'acme';
INSERT INTO repository (repo_type, namespace, name, full_id, private, likes_count, downloads) VALUES
  ('model', 'alice', 'public-model', 'alice/public-model', false, 7, 100),
  ('model', 'alice', 'secret-model', 'alice/secret-model', true, 3, 50),
  ('model', 'acme', 'team-model', 'acme/team-model', true, 2, 10),
  ('model', 'mallory', 'private-m', 'mallory/private-m', true, 0, 0),
  ('dataset', 'acme', 'open-data', 'acme/open-data', false, 5, 0);
INSERT INTO repositorylike (repository_id, user_id)
  SELECT r.id, u.id FROM repository r, "user" u WHERE r.name = 'public-model' AND u.username = 'bob';
INSERT INTO token (user_id, token_hash, name)
  SELECT id, :'alice_hash', 'cli' FROM "user" WHERE username = 'alice';
INSERT INTO token (user_id, token_hash, name)
  SELECT id, :'bob_hash', 'cli' FROM "user" WHERE username = 'bob';
INSERT INTO token (user_id, token_hash, name)
  SELECT id, :'eve_hash', 'cli' FROM "user" WHERE username = 'eve';
INSERT INTO token (user_id, token_hash, name)
  SELECT id, :'mallory_hash', 'cli' FROM "user" WHERE username = 'mallory';
INSERT INTO session (session_id, user_id, secret, expires_at)
  SELECT 'sess-alice-valid', id, 's', (now() AT TIME ZONE 'UTC') + interval '1 day'
  FROM "user" WHERE username = 'alice';
INSERT INTO session (session_id, user_id, secret, expires_at)
  SELECT 'sess-alice-expired', id, 's', (now() AT TIME ZONE 'UTC') - interval '1 minute'
  FROM "user" WHERE username = 'alice';
INSERT INTO session (session_id, user_id, secret, expires_at)
  SELECT 'sess-bob-valid', id, 's', (now() AT TIME ZONE 'UTC') + interval '1 day'
  FROM "user" WHERE username = 'bob';
"""

TOKENS = {u: f"hub-token-of-{u}-0123456789" for u in ("alice", "bob", "eve", "mallory")}
HUB_TABLES = ["\"user\"", "token", "session", "repository", "userorganization", "repositorylike"]


def sha3(token):
    return hashlib.sha3_512(token.encode()).hexdigest()


def hub_checksum(pg, db):
    out = []
    for t in HUB_TABLES:
        out.append(pg.query(f"SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) "
                           f"FROM {t} x", db=db)[0][0])
    return out


@pytest.fixture(scope="module")
def hub(pg):
    pg.query('CREATE DATABASE kohakuhub', db="postgres")
    pg.query(KOHAKUHUB_SCHEMA, db="kohakuhub")
    pg.query(HUB_DATA, db="kohakuhub", params={f"{u}_hash": sha3(t) for u, t in TOKENS.items()})
    # A role that can read the hub and nothing else.
    pg.query("CREATE ROLE hub_ro LOGIN; GRANT CONNECT ON DATABASE kohakuhub TO hub_ro",
             db="postgres")
    pg.query("GRANT USAGE ON SCHEMA public TO hub_ro; "
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO hub_ro", db="kohakuhub")
    before = hub_checksum(pg, "kohakuhub")
    yield
    assert hub_checksum(pg, "kohakuhub") == before, "hubstatsd changed the hub's tables"


@pytest.fixture(scope="module")
def daemon(pg, redis_server, hub):
    d = Hubstatsd(pg.dsn_for("hubstats"), redis_server.port,
                  "  backend: kohakuhub\n  cache_ttl: 300ms\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for('kohakuhub', user='hub_ro')}\"\n    pool_size: 2\n")
    d.start()
    try:
        yield d
    finally:
        d.stop()


def client(daemon, who):
    b = daemon.base
    return {
        "anonymous": lambda: Client(b),
        "owner": lambda: Client(b, token=TOKENS["alice"]),
        "owner_session": lambda: Client(b, cookie="sess-alice-valid"),
        "member": lambda: Client(b, token=TOKENS["bob"]),
        "member_session": lambda: Client(b, cookie="sess-bob-valid"),
        "outsider": lambda: Client(b, token=TOKENS["eve"]),
        "expired_session": lambda: Client(b, cookie="sess-alice-expired"),
        "inactive_user": lambda: Client(b, token=TOKENS["mallory"]),
        "garbage": lambda: Client(b, token="garbage-token"),
        "garbage_session": lambda: Client(b, cookie="no-such-session"),
    }[who]()


VISIBLE = {
    "public-model": {"anonymous", "owner", "owner_session", "member", "member_session",
                     "outsider", "expired_session", "inactive_user", "garbage",
                     "garbage_session"},
    "secret-model": {"owner", "owner_session"},
    "team-model": {"member", "member_session"},
}
NS = {"public-model": "alice", "secret-model": "alice", "team-model": "acme"}
LIKES = {"public-model": 7, "secret-model": 3, "team-model": 2}
MISSING_TWIN = {"public-model": "nopub-model1", "secret-model": "absent-model",
                "team-model": "gone-model"}


@pytest.fixture(scope="module")
def suffixes(daemon):
    """stats and stats/recent, plus issue 5's chart and badge when this daemon has them."""
    out = ["stats", "stats/recent"]
    for suffix in ("stats/chart.svg", "stats/badge"):
        if Client(daemon.base).get(f"/models/alice/public-model/{suffix}").status_code == 200:
            out.append(suffix)
    return out


@pytest.mark.parametrize("prefix", ["", "/api"])
@pytest.mark.parametrize("who", sorted(VISIBLE["public-model"]))
def test_permissions_from_the_hub(daemon, suffixes, who, prefix):
    c = client(daemon, who)
    for name, readers in VISIBLE.items():
        ns = NS[name]
        for suffix in suffixes:
            r = c.get(f"{prefix}/models/{ns}/{name}/{suffix}")
            cell = (who, name, suffix)
            if who in readers:
                assert r.status_code == 200, cell
                if suffix == "stats":
                    # likes come from repository.likes_count
                    assert r.json()["likes"] == LIKES[name], cell
            else:
                assert r.status_code == 404, cell
                assert r.headers["X-Error-Code"] == "RepoNotFound"
                twin = MISSING_TWIN[name]
                m = c.get(f"{prefix}/models/{ns}/{twin}/{suffix}")
                assert m.status_code == 404
                assert r.content == m.content.replace(twin.encode(), name.encode()), cell
                strip = {"x-request-id", "date"}
                rh = {k.lower(): v for k, v in r.headers.items() if k.lower() not in strip}
                mh = {k.lower(): v.replace(twin, name) for k, v in m.headers.items()
                      if k.lower() not in strip}
                assert rh == mh, cell


def test_inactive_owner_cannot_read_own_private_repo(daemon):
    r = client(daemon, "inactive_user").get("/models/mallory/private-m/stats")
    assert r.status_code == 404


def test_like_and_admin_routes_are_the_hubs(daemon):
    """With this backend hubstatsd serves no likes or admin API (the hub does)."""
    c = client(daemon, "owner")
    for method, path in [("GET", "/api/models/alice/public-model/like"),
                         ("POST", "/api/models/alice/public-model/like"),
                         ("GET", "/api/models/alice/public-model/likers"),
                         ("GET", "/api/users/alice/likes"),
                         ("GET", "/api/admin/repos")]:
        r = c.request(method, path)
        assert r.status_code == 404, (method, path)
        assert r.json() == {"detail": "Not Found"}


def test_trending_per_caller(daemon, redis_server):
    rc = redis_server.client()
    add_redis_downloads(rc, "model", "acme", "team-model", 30)
    add_redis_downloads(rc, "model", "alice", "secret-model", 20)
    add_redis_downloads(rc, "model", "alice", "public-model", 10)
    add_redis_downloads(rc, "model", "mallory", "private-m", 5)
    add_redis_downloads(rc, "dataset", "acme", "open-data", 4)
    rc.close()
    public = [("alice/public-model", False, 7)]
    expect = {
        "anonymous": public, "garbage": public, "outsider": public,
        "expired_session": public, "inactive_user": public,
        "owner": [("alice/secret-model", True, 3)] + public,
        "owner_session": [("alice/secret-model", True, 3)] + public,
        "member": [("acme/team-model", True, 2)] + public,
    }

    def ids(c, **params):
        r = c.get("/api/trending", params=params)
        assert r.status_code == 200
        return [(e["id"], e["private"], e["likes"]) for e in r.json()["trending"]]

    for who, want in expect.items():
        c = client(daemon, who)
        wait_until(lambda: ids(c) == want, timeout=10, what=f"trending for {who}")
        assert ids(c, limit=1) == want[:1]
    assert ids(client(daemon, "anonymous"), repo_type="dataset") == [("acme/open-data", False, 5)]


def test_hub_changes_take_effect_within_ttl(daemon, pg):
    """Deleting a token, expiring a session, removing a member and making a repo
    private in the hub show within catalog.cache_ttl (300ms; polled with a deadline)."""
    eve = client(daemon, "outsider")
    assert eve.get("/models/alice/public-model/stats").status_code == 200
    # These changes are the hub's own doing; done as superuser in this test, then undone so
    # the hub checksum at teardown still matches.
    pg.query("UPDATE repository SET private = true WHERE name = 'public-model'", db="kohakuhub")
    try:
        wait_until(lambda: eve.get("/models/alice/public-model/stats").status_code == 404,
                   timeout=10, what="repo made private to be hidden")
        assert client(daemon, "owner").get("/models/alice/public-model/stats").status_code == 200
    finally:
        pg.query("UPDATE repository SET private = false WHERE name = 'public-model'",
                db="kohakuhub")
    wait_until(lambda: eve.get("/models/alice/public-model/stats").status_code == 200,
               timeout=10, what="repo public again")

    bob = client(daemon, "member")
    assert bob.get("/models/acme/team-model/stats").status_code == 200
    saved = pg.query("SELECT id, user_id, organization_id, role, created_at FROM userorganization",
                    db="kohakuhub")
    pg.query("DELETE FROM userorganization", db="kohakuhub")
    try:
        wait_until(lambda: bob.get("/models/acme/team-model/stats").status_code == 404,
                   timeout=10, what="removed member to lose access")
    finally:
        for row in saved:
            pg.query("INSERT INTO userorganization (id, user_id, organization_id, role, created_at) "
                    "VALUES (:'id', :'u', :'o', :'r', :'c')", db="kohakuhub",
                    params={"id": row[0], "u": row[1], "o": row[2], "r": row[3], "c": row[4]})

    alice = client(daemon, "owner")
    assert alice.get("/models/alice/secret-model/stats").status_code == 200
    saved = pg.query("SELECT id, user_id, token_hash, name, created_at FROM token "
                    "WHERE token_hash = :'h'", db="kohakuhub", params={"h": sha3(TOKENS["alice"])})
    pg.query("DELETE FROM token WHERE token_hash = :'h'", db="kohakuhub",
            params={"h": sha3(TOKENS["alice"])})
    try:
        wait_until(lambda: alice.get("/models/alice/secret-model/stats").status_code == 404,
                   timeout=10, what="deleted token to become anonymous")
    finally:
        row = saved[0]
        pg.query("INSERT INTO token (id, user_id, token_hash, name, created_at) "
                "VALUES (:'id', :'u', :'h', :'n', :'c')", db="kohakuhub",
                params={"id": row[0], "u": row[1], "h": row[2], "n": row[3], "c": row[4]})


def test_same_database_mode(pg, redis_server, hub):
    """Without catalog.kohakuhub.dsn, hubstats' tables live in schema hubstats of the
    hub's own database, next to the hub's tables, which stay untouched."""
    d = Hubstatsd(pg.dsn_for("kohakuhub"), redis_server.port, "  backend: kohakuhub\n")
    d.start()
    try:
        r = Client(d.base, token=TOKENS["alice"]).get("/api/models/alice/secret-model/stats")
        assert r.status_code == 200 and r.json()["likes"] == 3
        assert Client(d.base).get("/api/models/alice/secret-model/stats").status_code == 404
        tables = pg.query("SELECT table_name FROM information_schema.tables "
                         "WHERE table_schema = 'hubstats'", db="kohakuhub")
        assert ["daily_downloads"] in tables
    finally:
        d.stop()


def test_bad_catalog_config_fails_startup_naming_the_key(pg, redis_server):
    d = Hubstatsd(pg.dsn_for("hubstats"), redis_server.port, "  backend: kohakuhb\n")
    with pytest.raises(RuntimeError) as e:
        d.start()
    d.stop()
    assert "catalog.backend: expected builtin or kohakuhub" in str(e.value)


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_sessions_expire_in_any_database_time_zone(pg, redis_server, zone):
    """KohakuHub writes timezone-aware UTC datetimes into its `timestamp` columns, so
    PostgreSQL stores them as wall time in the database's TimeZone. Sessions written that
    way (a timestamptz into the column, as the hub's driver sends them) must expire on
    time whatever that zone is: east of UTC an expired session must not read a private
    repo; west of UTC a live one must."""
    db = "kohakuhub_" + zone.split("/")[1].lower()
    pg.query(f"CREATE DATABASE {db}", db="postgres")
    pg.query(f"ALTER DATABASE {db} SET timezone TO '{zone}'", db="postgres")
    pg.query(KOHAKUHUB_SCHEMA, db=db)
    pg.query("""
      INSERT INTO "user" (username) VALUES ('alice');
      INSERT INTO repository (repo_type, namespace, name, full_id, private)
        VALUES ('model', 'alice', 'secret-model', 'alice/secret-model', true);
      INSERT INTO session (session_id, user_id, secret, expires_at) VALUES
        ('expired-2h-ago', 1, 's', now() - interval '2 hours'),
        ('expired-1min-ago', 1, 's', now() - interval '1 minute'),
        ('live-for-1h', 1, 's', now() + interval '1 hour'),
        ('live-for-1min', 1, 's', now() + interval '1 minute');""", db=db)
    # The stored wall time is the zone's, not UTC (what makes the old comparison wrong).
    assert pg.query("SELECT current_setting('TimeZone')", db=db) == [[zone]]
    d = Hubstatsd(pg.dsn_for("hubstats"), redis_server.port,
                  "  backend: kohakuhub\n  kohakuhub:\n"
                  f"    dsn: \"{pg.dsn_for(db)}\"\n    pool_size: 2\n")
    d.start()
    try:
        for sid, readable in [("expired-2h-ago", False), ("expired-1min-ago", False),
                              ("live-for-1h", True), ("live-for-1min", True)]:
            r = Client(d.base, cookie=sid).get("/api/models/alice/secret-model/stats")
            assert r.status_code == (200 if readable else 404), (zone, sid)
    finally:
        d.stop()


def test_credentials_read_as_the_hub_reads_them(daemon):
    """KohakuHub authenticates the part of `Bearer <token>|<url>,<external token>` before the
    first '|', and tries the session cookie before the token (auth/dependencies.py)."""
    b = daemon.base
    path = "/api/models/alice/secret-model/stats"
    ext = "|https://huggingface.co,hf_external_token"
    assert Client(b, token=TOKENS["alice"] + ext).get(path).status_code == 200
    assert Client(b, token=TOKENS["alice"] + ext + "|https://b.example,x").get(
        path).status_code == 200
    assert Client(b, token=ext).get(path).status_code == 404
    assert Client(b, token=ext, cookie="sess-alice-valid").get(path).status_code == 200
    # Session first: bob's live session with alice's token is bob (no access to alice's repo);
    # an expired session falls through to the token.
    assert Client(b, token=TOKENS["alice"], cookie="sess-bob-valid").get(
        path).status_code == 404
    assert Client(b, token=TOKENS["alice"], cookie="sess-alice-expired").get(
        path).status_code == 200
    assert Client(b, token=TOKENS["bob"], cookie="sess-alice-valid").get(
        path).status_code == 200
