"""hubstatsd on its own (no nginx in front), over raw sockets: request smuggling shapes
(RFC 9112 §6.1/§6.3), request-target forms (§3.2), HEAD (RFC 9110 §9.3.2), CORS on
the read endpoints, the header timeout against slowloris, and the connection cap.
Every refusal must also close the connection."""
import time

import pytest
import requests

from harness.daemon import Hubstatsd
from harness.redis import RedisServer
from rawhttp import Conn, request, wait_closed

ADMIN = "admin-secret-hardening"
STATS = "/models/demo/tiny-model/stats"
SMUGGLED = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled-by-attacker\r\n\r\n"


@pytest.fixture(scope="module")
def backends(tmp_path_factory, pg_server):
    pg_server.psql('CREATE DATABASE "hardening"', db="postgres")

    class Pg:
        dsn = f"host=127.0.0.1 port={pg_server.port} dbname=hardening user=postgres"

    rs = RedisServer(tmp_path_factory.mktemp("redis"))
    yield rs, Pg
    rs.stop()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, backends):
    rs, pg = backends
    d = Hubstatsd(tmp_path_factory.mktemp("d"), redis=rs, postgres=pg, admin_token=ADMIN,
                  settings={"http": {"idle_timeout": "30s"}})
    d.add_repo("model", "demo", "tiny-model")
    d.add_repo("model", "demo", "secret", private=True)
    yield d
    d.stop()


def send(daemon, data: bytes):
    """Sends raw bytes; returns (the responses read until the server closed, closed?)."""
    c = Conn(daemon.port)
    c.send(data)
    out = []
    while True:
        r = c.response()
        if r is None:
            break
        out.append(r)
        if r[1].get("connection", "").lower() == "close":
            break
    closed = c.eof or c.closed_by_server(5)
    c.close()
    return out, closed


def assert_refused(daemon, data: bytes, status: int = 400):
    responses, closed = send(daemon, data)
    assert [r[0] for r in responses] == [status], responses
    assert responses[0][2] == (b'{"detail":"Bad Request"}' if status == 400
                               else b'{"detail":"Not Implemented"}')
    assert closed, "connection left open after the refusal"
    assert not any(r[1].get("x-request-id") == "smuggled-by-attacker" for r in responses)


# --- 1. framing -------------------------------------------------------------------

def test_unknown_transfer_encoding_with_content_length_is_not_smuggled(daemon):
    body = b"AAAAA" + SMUGGLED
    assert_refused(daemon, request("POST", "/health", {"Transfer-Encoding": "xchunked",
                                                       "Content-Length": "5"}, body))


@pytest.mark.parametrize("te", ["gzip", "chunked, identity", "xchunked", "chunked, chunked"])
def test_final_coding_not_chunked_is_400_and_closes(daemon, te):
    assert_refused(daemon, request("POST", "/health", {"Transfer-Encoding": te},
                                   b"0\r\n\r\n" + SMUGGLED))


def test_unsupported_coding_before_chunked_is_400_and_closes(daemon):
    assert_refused(daemon, request("POST", "/health", {"Transfer-Encoding": "gzip, chunked"},
                                   b"0\r\n\r\n" + SMUGGLED))


def test_chunked_with_content_length_is_400_and_closes(daemon):
    assert_refused(daemon, request("POST", "/health", {"Transfer-Encoding": "chunked",
                                                       "Content-Length": "5"},
                                   b"0\r\n\r\n" + SMUGGLED))


def test_transfer_encoding_in_http10_is_400(daemon):
    assert_refused(daemon, request("POST", "/health", {"Transfer-Encoding": "chunked"},
                                   b"0\r\n\r\n", version="HTTP/1.0"))


def test_chunked_alone_is_still_served(daemon):
    # A real chunked body, then a second request on the same connection: both answered.
    data = request("POST", "/health", {"Transfer-Encoding": "chunked"}, b"3\r\nabc\r\n0\r\n\r\n")
    c = Conn(daemon.port)
    c.send(data + request("GET", "/health"))
    first, second = c.response(), c.response()
    assert first[0] == 405  # /health is GET only; the framing was fine
    assert second[0] == 200 and second[2] == b'{"status":"ok"}'
    c.close()


def test_host_header_rules(daemon):
    assert_refused(daemon, b"GET /health HTTP/1.1\r\n\r\n")
    assert_refused(daemon, b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    responses, _ = send(daemon, b"GET /health HTTP/1.0\r\n\r\n")
    assert responses[0][0] == 200


# --- 3. request targets -----------------------------------------------------------

def test_target_without_leading_slash_is_400(daemon):
    assert_refused(daemon, request("GET", STATS.lstrip("/")))


@pytest.mark.parametrize("method,target", [("OPTIONS", "*"), ("GET", "*"),
                                           ("CONNECT", "127.0.0.1:443"),
                                           ("GET", "127.0.0.1:443"),
                                           ("GET", "http://user@127.0.0.1" + STATS),
                                           ("GET", STATS + "#frag")])
def test_asterisk_authority_and_bad_forms_are_400(daemon, method, target):
    assert_refused(daemon, request(method, target))


def test_absolute_form_is_served_like_origin_form(daemon):
    origin, _ = send(daemon, request("GET", STATS, {"Connection": "close"}))
    absolute, _ = send(daemon, request("GET", f"http://hub.example:8080{STATS}",
                                       {"Connection": "close"}))
    assert origin[0][0] == absolute[0][0] == 200
    assert origin[0][2] == absolute[0][2]
    query, _ = send(daemon, request("GET", "HTTP://hub.example/api/trending?limit=101",
                                    {"Connection": "close"}))
    assert query[0][0] == 422  # the query string came through


# --- 4. HEAD ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/health", STATS, "/api/models/demo/tiny-model/stats/recent",
                                  "/models/demo/secret/stats", "/api/trending",
                                  "/models/demo/tiny-model/stats/badge",
                                  "/models/demo/tiny-model/stats/chart.svg", "/openapi.json",
                                  "/models/demo/tiny-model/stats/files",
                                  "/api/models/demo/tiny-model/stats/clients",
                                  "/models/demo/secret/stats/files"])
def test_head_answers_like_get_without_body(daemon, path):
    c = Conn(daemon.port)
    # Pipelined: HEAD, then GET. If HEAD sent a body, the GET's response would be garbled.
    c.send(request("HEAD", path) + request("GET", path))
    head = c.response(head=True)
    get = c.response()
    c.close()
    assert head[0] == get[0] and head[0] in (200, 404)
    assert head[1]["content-length"] == get[1]["content-length"] == str(len(get[2]))
    assert head[1].get("content-type") == get[1].get("content-type")
    assert head[1].get("cache-control") == get[1].get("cache-control")
    assert head[2] == b""


def test_head_where_there_is_no_get_is_405(daemon):
    r = requests.head(daemon.url("/api/admin/repos/models/demo/tiny-model/private"), timeout=5)
    assert r.status_code == 405
    assert r.headers["Allow"] == "PUT"


# --- 5. CORS ----------------------------------------------------------------------

READ_ENDPOINTS = [STATS, "/api/models/demo/tiny-model/stats", "/models/demo/tiny-model/stats/recent",
                  "/api/trending", "/models/demo/tiny-model/stats/badge",
                  "/models/demo/tiny-model/stats/chart.svg",
                  "/models/demo/tiny-model/stats/files", "/api/models/demo/tiny-model/stats/files",
                  "/models/demo/tiny-model/stats/clients",
                  "/api/models/demo/tiny-model/stats/clients"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_read_endpoints_answer_cors(daemon, path):
    origin = "http://page.example:8000"
    pre = requests.options(daemon.url(path), timeout=5, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.content == b""
    r = requests.get(daemon.url(path), timeout=5, headers={"Origin": origin})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"]


def test_cors_on_errors_of_read_endpoints(daemon):
    # The page must be able to read the 404 of a private/missing repo, like any answer.
    r = requests.get(daemon.url("/models/demo/secret/stats"), timeout=5,
                     headers={"Origin": "http://page.example"})
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/api/admin/repos", "/api/admin/users", "/api/admin/tokens",
                                  "/metrics", "/health"])
def test_no_cors_on_admin_and_other_routes(daemon, path):
    pre = requests.options(daemon.url(path), timeout=5, headers={
        "Origin": "http://page.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 405
    assert "Access-Control-Allow-Origin" not in pre.headers
    r = requests.get(daemon.url(path), timeout=5, headers={
        "Origin": "http://page.example", "Authorization": f"Bearer {ADMIN}"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_with_a_list_of_origins(tmp_path, backends):
    rs, pg = backends
    d = Hubstatsd(tmp_path, redis=rs, postgres=pg, settings={
        "http": {"cors": {"allow_origins": "https://a.example, http://b.example:8080"}}})
    try:
        ok = requests.get(d.url("/api/trending"), timeout=5,
                          headers={"Origin": "http://b.example:8080"})
        assert ok.headers["Access-Control-Allow-Origin"] == "http://b.example:8080"
        assert "Origin" in ok.headers["Vary"]
        other = requests.get(d.url("/api/trending"), timeout=5,
                             headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "Access-Control-Allow-Origin" not in other.headers
        assert "Origin" in other.headers["Vary"]
        pre = requests.options(d.url("/api/trending"), timeout=5, headers={
            "Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
        assert pre.headers["Access-Control-Allow-Origin"] == "https://a.example"
    finally:
        d.stop()


def test_bad_cors_origin_fails_at_startup_naming_the_key(tmp_path, backends):
    rs, pg = backends
    d = Hubstatsd(tmp_path, redis=rs, postgres=pg, start=False,
                  settings={"http": {"cors": {"allow_origins": "a.example"}}})
    with pytest.raises(RuntimeError) as e:
        d.start(timeout=10)
    assert "http.cors.allow_origins" in str(e.value)


# --- header timeout and connection cap --------------------------------------------

def slowloris(port: int, n: int) -> list[Conn]:
    conns = []
    for _ in range(n):
        c = Conn(port)
        c.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes the header
        conns.append(c)
    return conns


@pytest.fixture(scope="module")
def quick_header_daemon(tmp_path_factory, backends):
    rs, pg = backends
    d = Hubstatsd(tmp_path_factory.mktemp("h"), redis=rs, postgres=pg,
                  settings={"http": {"header_timeout": "1s", "idle_timeout": "30s"}})
    yield d
    d.stop()


def test_header_timeout_closes_slowloris_connections(quick_header_daemon):
    daemon = quick_header_daemon
    conns = slowloris(daemon.port, 500)
    start = time.monotonic()
    # Keep dribbling header lines: the deadline is for the whole header, not per byte.
    for _ in range(3):
        time.sleep(0.25)
        for c in conns:
            try:
                c.send(b"X-a: b\r\n")
            except OSError:
                pass
    wait_closed(conns, timeout=10)
    took = time.monotonic() - start
    for c in conns:
        c.close()
    assert took < 5, f"slowloris connections stayed open {took:.1f}s (header_timeout 1s)"
    assert requests.get(daemon.url("/health"), timeout=5).status_code == 200


def test_idle_keepalive_connection_waits_for_the_idle_timeout_not_the_header_one(
        quick_header_daemon):
    c = Conn(quick_header_daemon.port)
    c.send(request("GET", "/health"))
    assert c.response()[0] == 200
    assert not c.closed_by_server(2.0)  # header_timeout is 1s; idle_timeout 30s
    c.send(request("GET", "/health"))
    assert c.response()[0] == 200
    c.close()


def test_connection_cap_refuses_and_logs(tmp_path, backends):
    rs, pg = backends
    d = Hubstatsd(tmp_path, redis=rs, postgres=pg,
                  settings={"http": {"max_connections": 20, "header_timeout": "2s"}})
    try:
        held = slowloris(d.port, 20)
        time.sleep(0.3)  # accepted
        extra = slowloris(d.port, 30)
        refused = sum(1 for c in extra if c.closed_by_server(2.0))
        assert refused == 30
        log = d.log_text()
        assert "connection limit reached" in log and "max_connections=20" in log
        # A few lines, not one per refused connection.
        assert log.count("connection limit reached") <= 3
        wait_closed(held, timeout=10)  # the header timeout frees the slots
        for c in held + extra:
            c.close()
        assert requests.get(d.url("/health"), timeout=5).status_code == 200
    finally:
        d.stop()


def test_pipelined_request_header_has_the_header_timeout_too(quick_header_daemon):
    # A complete request and the start of a second one in the same packet: the second
    # header's deadline is the header timeout (1s), not the idle timeout (30s).
    c = Conn(quick_header_daemon.port)
    c.send(request("GET", "/health") + b"GET /health HTTP/1.1\r\nHost: x\r\n")
    assert c.response()[0] == 200
    start = time.monotonic()
    assert c.closed_by_server(5.0), "the half-sent pipelined request kept the connection open"
    assert time.monotonic() - start < 3
    c.close()
