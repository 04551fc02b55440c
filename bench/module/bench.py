#!/usr/bin/python3
"""Overhead of counting: wrk against one nginx (1 worker) with a counted and an
uncounted location serving the same small file, alternating in the same run, with a
new identity per request. Phase 1 with Redis up, phase 2 with Redis stopped.

Usage: bench/module/run.sh [--rounds N] [--duration S] [--connections C]
Prints throughput and p99 latency per round, and the median ratios."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from harness.nginx import Nginx  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

FILE = "/models/demo/tiny-model/resolve/main/config.json"


def conf(redis_addr, secret, root):
    return f"""
  access_log off;
  hubstats_redis {redis_addr};
  hubstats_secret_file {secret};
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  server {{
    listen 127.0.0.1:@PORT@;
    location /models/ {{ hubstats on; root {root}; }}
    location /plain/ {{ alias {root}/; }}
    location = /hubstats {{ hubstats_status; }}
  }}
"""


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url, duration, connections):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-s", str(HERE / "identities.lua"), url],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * UNIT[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rps, p99


def phase(name, ng, rounds, duration, connections):
    counted_url = ng.url(FILE)
    plain_url = ng.url("/plain" + FILE)
    rows = []
    for r in range(rounds):
        # Alternate which goes first so warm-up and drift affect both sides alike.
        order = [("counted", counted_url), ("plain", plain_url)]
        if r % 2:
            order.reverse()
        res = {k: wrk(u, duration, connections) for k, u in order}
        rows.append(res)
        print(f"  {name} round {r + 1}: counted {res['counted'][0]:9.0f} req/s "
              f"p99 {res['counted'][1]:6.2f} ms | uncounted {res['plain'][0]:9.0f} req/s "
              f"p99 {res['plain'][1]:6.2f} ms", flush=True)
    # Per-round ratios of adjacent runs cancel slow drift (other load on the host);
    # the median discards rounds disturbed mid-way.
    thr = statistics.median(r["counted"][0] / r["plain"][0] for r in rows)
    p99 = statistics.median(r["counted"][1] / r["plain"][1] for r in rows)
    total = sum(r["counted"][0] for r in rows) / sum(r["plain"][0] for r in rows)
    print(f"  {name}: median throughput ratio {thr:.3f}, ratio of sums {total:.3f}, "
          f"median p99 ratio {p99:.3f}", flush=True)
    return thr, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--duration", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstats-bench-") as tmp:
        tmp = Path(tmp)
        root = tmp / "hub"
        (root / "models/demo/tiny-model/resolve/main").mkdir(parents=True)
        (root / FILE.lstrip("/")).write_bytes(b'{"model_type": "tiny"}\n' * 20)  # ~460 B
        secret = tmp / "secret"
        secret.write_bytes(os.urandom(32).hex().encode())
        redis = RedisServer(tmp)
        ng = Nginx(tmp, conf(redis.address, secret, root), level="warn")
        try:
            print(f"nginx 1 worker, wrk -t1 -c{args.connections} -d{args.duration}s, "
                  f"{args.rounds} alternating rounds per phase")
            up = phase("redis up", ng, args.rounds, args.duration, args.connections)
            status_up = __import__("requests").get(ng.url("/hubstats")).text
            redis.stop()
            down = phase("redis down", ng, args.rounds, args.duration, args.connections)
            status_down = __import__("requests").get(ng.url("/hubstats")).text
        finally:
            ng.stop()
            redis.stop()
        print("\nstatus after redis-up phase:\n" + status_up)
        print("status after redis-down phase:\n" + status_down)
        print(f"RESULT redis up:   throughput ratio {up[0]:.3f} (goal >= 0.90), "
              f"p99 ratio {up[1]:.3f} (goal <= 1.2)")
        print(f"RESULT redis down: throughput ratio {down[0]:.3f} (goal >= 0.97), "
              f"p99 ratio {down[1]:.3f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
