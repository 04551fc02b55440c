"""A private repo's existence must not leak through timing: an outsider (or anonymous
caller) asking for a private repo must be answered as fast as for a missing one, with
cold caches (cache_ttl 0: every request looks everything up) and warm ones.

Requests to the private and the missing repo are interleaved in random order on one
keep-alive connection, so drift and load hit both alike. The shift between the two
latency samples is estimated (Hodges-Lehmann) with a 99.9% confidence interval; sampling
continues until that interval is narrower than +-PRECISION_US (25 us: a 50 us difference
is then clearly separated from none), and the test fails when the interval lies
entirely beyond +-LEAK_US (15 us). So a 50 us leak fails it about 9 times in 10 and a
200 us one always, while the few microseconds that remain between the two paths (a
found row vs none) would need an error of four standard errors to fail it. A
Mann-Whitney p-value is reported alongside. The figures are printed (pytest -s)."""
import random
import time

import pytest

from harness.daemon import Hubstatsd
from harness.redis import RedisServer
from rawhttp import Conn, request
from timing_stats import mann_whitney_p, shift_estimate

ADMIN = "admin-secret-timing"
PRIVATE = "/models/acme/secret/stats"
MISSING = "/models/acme/absent/stats"  # same length: same response bytes but the name
CONFIDENCE = 0.999
PRECISION_US = 25.0  # half-width of the interval we sample for: resolves 50 us
LEAK_US = 15.0       # a shift reliably beyond this fails the test
FIRST_ROUND = 400    # pairs; each further round adds half of what was taken
MAX_PAIRS = 20000


@pytest.fixture(scope="module")
def backends(tmp_path_factory, pg_server):
    rs = RedisServer(tmp_path_factory.mktemp("redis"))
    yield rs, pg_server
    rs.stop()


def start(tmp_path, backends, name, cache_ttl):
    rs, pg_server = backends
    pg_server.psql(f'CREATE DATABASE "{name}"', db="postgres")

    class Pg:
        dsn = f"host=127.0.0.1 port={pg_server.port} dbname={name} user=postgres"

    d = Hubstatsd(tmp_path, redis=rs, postgres=Pg, admin_token=ADMIN,
                  settings={"catalog": {"backend": "builtin", "cache_ttl": cache_ttl},
                            "log": {"level": "warn"}})
    d.add_repo("model", "acme", "secret", private=True)
    d.add_user("alice")
    d.admin("POST", "/api/admin/orgs/acme/members", {"username": "alice"})
    outsider = d.add_user("mallory")
    return d, outsider


def timed(conn: Conn, raw: bytes) -> float:
    t0 = time.perf_counter_ns()
    conn.send(raw)
    status, _, body = conn.response()
    elapsed = (time.perf_counter_ns() - t0) / 1000.0
    assert status == 404, body
    return elapsed


def measure(port: int, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    raw = {PRIVATE: request("GET", PRIVATE, headers), MISSING: request("GET", MISSING, headers)}
    conn = Conn(port)
    rng = random.Random(14)
    for _ in range(50):  # warm up the connection, the daemon's threads and PostgreSQL
        timed(conn, raw[PRIVATE])
        timed(conn, raw[MISSING])
    private, missing = [], []
    while True:
        for _ in range(max(FIRST_ROUND, len(private) // 2)):
            order = [PRIVATE, MISSING]
            rng.shuffle(order)
            for path in order:
                (private if path == PRIVATE else missing).append(timed(conn, raw[path]))
        est, low, high = shift_estimate(private, missing, CONFIDENCE)
        if (high - low) / 2 <= PRECISION_US or len(private) >= MAX_PAIRS:
            break
    conn.close()
    p = mann_whitney_p(private, missing)
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    return {"n": len(private), "median_private_us": med(private),
            "median_missing_us": med(missing), "shift_us": est, "ci_us": (low, high), "p": p}


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_private_and_missing_repos_take_the_same_time(tmp_path, backends, cache):
    d, outsider = start(tmp_path, backends, f"timing_{cache}", "0ms" if cache == "cold" else "10m")
    try:
        for who, token in (("anonymous", None), ("outsider", outsider)):
            r = measure(d.port, token)
            low, high = r["ci_us"]
            print(f"\n[timing] cache={cache} caller={who} pairs={r['n']} "
                  f"median private={r['median_private_us']:.1f}us "
                  f"missing={r['median_missing_us']:.1f}us shift={r['shift_us']:+.1f}us "
                  f"99.9%CI=[{low:+.1f},{high:+.1f}]us mann-whitney p={r['p']:.3g}")
            assert (high - low) / 2 <= PRECISION_US, (
                f"too noisy to resolve 50us after {r['n']} pairs: {r}")
            assert low <= LEAK_US and high >= -LEAK_US, (
                f"{cache} cache, {who}: a private repo is answered at a different speed "
                f"than a missing one: {r}")
    finally:
        d.stop()
