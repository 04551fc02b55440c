"""GET /metrics of the real daemon: exposition format, per-route request counts and
latency histograms (route = pattern, bounded), fold counters after real background
folds, catalog cache hits, and Redis errors counted while Redis is unreachable."""
import requests

from extras_stack import parse_metrics, metric_value
from harness.daemon import Hubstatsd
from harness.redis import RedisServer


def test_content_type_and_format(stack):
    r = stack.get("/metrics", direct=True)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    typed = {line.split()[2]: line.split()[3] for line in r.text.splitlines()
             if line.startswith("# TYPE ")}
    for name, kind in [("hubstatsd_http_requests_total", "counter"),
                       ("hubstatsd_http_request_duration_seconds", "histogram"),
                       ("hubstatsd_fold_runs_total", "counter"),
                       ("hubstatsd_fold_rows_total", "counter"),
                       ("hubstatsd_fold_errors_total", "counter"),
                       ("hubstatsd_fold_lag_seconds", "gauge"),
                       ("hubstatsd_redis_errors_total", "counter"),
                       ("hubstatsd_postgres_errors_total", "counter"),
                       ("hubstatsd_cache_hits_total", "counter"),
                       ("hubstatsd_cache_misses_total", "counter")]:
        assert typed.get(name) == kind, name
    # Every sample parses and belongs to a declared family.
    for name, _, _ in parse_metrics(r.text):
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in typed:
                base = name[:-len(suffix)]
        assert base in typed, name


def test_requests_are_counted_by_route_pattern(stack):
    before = stack.metrics()
    label = {"route": "/{type}s/{ns}/{name}/stats", "method": "GET", "status": "200"}
    n0 = metric_value(before, "hubstatsd_http_requests_total", label) or 0
    unmatched0 = metric_value(before, "hubstatsd_http_requests_total",
                              {"route": "unmatched", "method": "GET", "status": "404"}) or 0
    for name in ("tiny-model", "big-model", "quiet-model"):
        assert stack.get(f"/models/demo/{name}/stats", direct=True).status_code == 200
    assert stack.get("/models/demo/nothing/stats", direct=True).status_code == 404
    for i in range(3):
        assert stack.get(f"/no/such/route/{i}", direct=True).status_code == 404
    after = stack.metrics()
    assert metric_value(after, "hubstatsd_http_requests_total", label) == n0 + 3
    assert metric_value(after, "hubstatsd_http_requests_total",
                        {"route": "/{type}s/{ns}/{name}/stats", "status": "404"}) >= 1
    assert metric_value(after, "hubstatsd_http_requests_total",
                        {"route": "unmatched", "method": "GET", "status": "404"}) == unmatched0 + 3
    # Raw paths never become labels.
    assert "tiny-model" not in after and "/no/such" not in after
    # The histogram: cumulative buckets ending in +Inf == _count.
    h = "hubstatsd_http_request_duration_seconds"
    sel = {"route": "/{type}s/{ns}/{name}/stats", "method": "GET"}
    buckets = [(l["le"], v) for n, l, v in parse_metrics(after)
               if n == h + "_bucket" and all(l.get(k) == x for k, x in sel.items())]
    values = [v for _, v in buckets]
    assert values == sorted(values)
    assert buckets[-1][0] == "+Inf"
    assert buckets[-1][1] == metric_value(after, h + "_count", sel) >= 4
    assert metric_value(after, h + "_sum", sel) > 0


def test_fold_counters_after_background_folds(stack):
    # Every past row once at least; today's rows too, once per pass that changed them
    # (the continuous fold folds today as well).
    rows = sum(len(v) for v in stack.past.values())
    text = stack.metrics()
    assert metric_value(text, "hubstatsd_fold_rows_total") >= rows + len(stack.live)
    assert metric_value(text, "hubstatsd_fold_runs_total") >= 1
    assert metric_value(text, "hubstatsd_fold_errors_total") == 0
    assert metric_value(text, "hubstatsd_fold_last_success_timestamp_seconds") > 0
    assert 0 <= metric_value(text, "hubstatsd_fold_lag_seconds") < 60


def test_catalog_cache_hits(stack):
    hits0 = stack.metric("hubstatsd_cache_hits_total", {"cache": "repo"}) or 0
    for _ in range(3):
        assert stack.get("/models/demo/quiet-model/stats/recent", direct=True).status_code == 200
    # cache_ttl is 60 s: at least the last two lookups of the same repo are hits.
    assert stack.metric("hubstatsd_cache_hits_total", {"cache": "repo"}) >= hits0 + 2
    assert stack.metric("hubstatsd_cache_misses_total", {"cache": "repo"}) >= 1


def test_redis_errors_are_counted(stack, tmp_path):
    stack.pg.psql('CREATE DATABASE "deadredis"', db="postgres")

    class OwnDb:
        dsn = f"host=127.0.0.1 port={stack.pg.port} dbname=deadredis user=postgres"

    # hubstatsd becomes ready only with Redis answering; the Redis then goes away.
    rs = RedisServer(tmp_path)
    d = Hubstatsd(tmp_path, redis=rs, postgres=OwnDb, admin_token="hsa_" + "d" * 28,
                  settings={"fold": {"interval": "60s"}, "log": {"level": "error"}})
    try:
        rs.stop()
        d.add_repo("model", "demo", "m")
        assert metric_value(requests.get(d.url("/metrics"), timeout=10).text,
                            "hubstatsd_redis_errors_total") is not None
        r = d.get("/models/demo/m/stats")
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        text = requests.get(d.url("/metrics"), timeout=10).text
        assert metric_value(text, "hubstatsd_redis_errors_total") >= 1
        assert metric_value(text, "hubstatsd_http_requests_total",
                            {"route": "/{type}s/{ns}/{name}/stats", "status": "503"}) == 1
    finally:
        d.stop()
