#!/usr/bin/python3
"""The catalog's TTL caches: two hubstatsd on the same Redis and PostgreSQL, one with
catalog.cache_ttl 5s and one with 0 (every token, repo and membership lookup queries
PostgreSQL), loaded alternately with wrk in the same run. The request is an org member
reading a private org repo's /stats with a Bearer token: token -> user, repo, and
membership lookups, then the stats store.

Usage: bench/catalog/run.sh [--rounds N] [--duration S] [--connections C]
Prints req/s, p99 and PostgreSQL CPU per request per round, and the median ratios."""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from harness.daemon import Hubstatsd  # noqa: E402
from harness.postgres import PostgresServer  # noqa: E402
from harness.procs import child_pids  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
ADMIN = "catalog-bench-admin-token-0123456789"


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0]) / 1e9
        except OSError:
            pass
    return total


def wrk(url, token, duration, connections, pids):
    """(req/s, p99 ms, CPU us per request of pids)."""
    before = cpu_seconds(pids)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-H", f"Authorization: Bearer {token}", url],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, float(m.group(1)) * UNIT[m.group(2)], \
        (cpu_seconds(pids) - before) / max(done, 1) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hubstats-bench-catalog-"))
    redis = RedisServer(tmp)
    pg = PostgresServer(tmp)
    daemons = {}
    try:
        common = {"http": {"threads": 2, "handler_threads": 8}, "postgres": {"pool_size": 8, "statement_timeout": "5s"},
                  "log": {"level": "warn"}}
        for name, ttl in (("cached", "5s"), ("uncached", "0")):
            daemons[name] = Hubstatsd(tmp, redis=redis, postgres=pg, admin_token=ADMIN,
                                      name=name,
                                      settings={**common, "catalog": {"cache_ttl": ttl}})
        d = daemons["cached"]
        assert d.admin("POST", "/api/admin/users", {"username": "bob"}).status_code == 201
        assert d.admin("POST", "/api/admin/orgs/acme/members",
                       {"username": "bob"}).status_code == 200
        assert d.admin("POST", "/api/admin/repos", {"type": "model", "namespace": "acme",
                                                    "name": "team-model",
                                                    "private": True}).status_code == 201
        token = d.admin("POST", "/api/admin/tokens", {"username": "bob"}).json()["token"]
        path = "/models/acme/team-model/stats"
        for dd in daemons.values():
            assert dd.get(path, token=token).status_code == 200
        print(f"GET {path} as an org member (Bearer), {args.connections} keep-alive "
              f"connections, {args.duration}s rounds")
        ratios, p99_ratios, pg_ratios = [], [], []
        for rnd in range(1, args.rounds + 1):
            order = ["cached", "uncached"] if rnd % 2 else ["uncached", "cached"]
            res = {}
            for name in order:
                pg_pids = [pg.pid] + child_pids(pg.pid)
                res[name] = wrk(daemons[name].url(path), token, args.duration,
                                args.connections, pg_pids)
            (c_rps, c_p99, c_pg), (u_rps, u_p99, u_pg) = res["cached"], res["uncached"]
            ratios.append(c_rps / u_rps)
            p99_ratios.append(u_p99 / c_p99)
            pg_ratios.append(u_pg / max(c_pg, 1e-9))
            print(f"round {rnd}: cached {c_rps:7.0f} req/s p99 {c_p99:6.2f} ms pg {c_pg:5.1f} "
                  f"us/req | uncached {u_rps:7.0f} req/s p99 {u_p99:6.2f} ms pg {u_pg:5.1f} "
                  f"us/req | ratio {ratios[-1]:.2f}")
        print(f"median throughput ratio cached/uncached: {statistics.median(ratios):.2f}")
        print(f"median p99 ratio uncached/cached: {statistics.median(p99_ratios):.2f}")
        print(f"median PostgreSQL CPU per request ratio uncached/cached: "
              f"{statistics.median(pg_ratios):.2f}")
    finally:
        for dd in daemons.values():
            dd.stop()
        redis.stop()
        pg.cleanup()


if __name__ == "__main__":
    main()
