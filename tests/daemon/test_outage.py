"""Redis down or PostgreSQL down: the API answers 503 with a JSON body (never hangs),
and comes back by itself when the server returns."""
import pytest
import requests

from harness.ports import wait_until


@pytest.fixture
def repo(stack):
    stack.add_repo("model", "demo", "m")
    stack.download("model", "demo", "m", ip="10.9.0.1")
    wait_until(lambda: stack.get("/models/demo/m/stats").json()["downloads"] == 1, timeout=15,
               what="the download to count")
    return stack


def direct(stack, path):
    # Straight to the daemon: nginx's proxy timeouts must not hide a hang. The client
    # timeout bounds the wait; a hang fails the test.
    return requests.get(stack.daemon.url(path), timeout=5)


@pytest.mark.parametrize("path", ["/models/demo/m/stats", "/models/demo/m/stats/recent",
                                  "/api/trending"])
def test_redis_down_then_recovery(repo, path):
    s = repo
    s.redis.stop()
    r = direct(s, path)
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": "Service temporarily unavailable"}
    assert r.headers["X-Request-Id"]
    assert s.get(path).status_code == 503  # through nginx too
    s.redis.start()  # same port, empty data set
    wait_until(lambda: direct(s, path).status_code == 200, timeout=15, what="recovery")


def test_postgres_down_then_recovery(repo):
    s = repo
    s.pg.server.stop()
    try:
        # The catalog may answer from its cache for cache_ttl; after that, 503.
        wait_until(lambda: direct(s, "/models/demo/m/stats").status_code == 503, timeout=15,
                   what="503 while PostgreSQL is down")
        r = direct(s, "/models/demo/m/stats/recent")
        assert r.status_code == 503
        assert r.json() == {"detail": "Service temporarily unavailable"}
    finally:
        s.pg.server.start()
    wait_until(lambda: direct(s, "/models/demo/m/stats").status_code == 200, timeout=20,
               what="recovery")
    assert direct(s, "/models/demo/m/stats").json() == {"downloads": 1, "likes": 0}
