#!/usr/bin/python3
"""Overhead of counting: wrk against one nginx (1 worker) with a counted and an
uncounted location serving the same small file, alternating in the same run, with a
new identity per request. Phase 1 with Redis up; phase 2, KohakuHub's shape: counted
and uncounted locations proxying to an upstream (a second nginx, without the module)
that answers 302 to a presigned storage URL, each client fetching a session of 8 files;
phase 3 with Redis stopped (the module's spool, on by default, is then being written).

With --compare OLD.so a second nginx loads another build of the module (e.g. one
built from an older commit) and every round measures both, alternating which build
goes first, so old and new are compared interleaved under the same host load.

Usage: bench/module/run.sh [--rounds N] [--duration S] [--connections C] [--compare SO]
                           [--phases up,kohakuhub,down] [--redis-arg ARG ...]
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
# The fold's stand-in: hubstatsd takes every repo-day's breakdown log each fold.interval
# (5 s); this benchmark runs no daemon, so before every wrk run it drops the logs
# (outside the measured window), else they pass hubstats_breakdown_log_max and Redis
# compacts them, the mode of a daemon that stopped folding (--no-fold measures that).
FOLD = [None]


def fold_stand_in(redis):
    def take():
        rc = redis.client()
        try:
            keys = rc.execute("KEYS", "hs:*:x:*")
            if keys:
                rc.execute("DEL", *keys)
        finally:
            rc.close()
    return take


def conf(redis_addr, secret, root, hub_port, extra=""):
    return f"""
  access_log off;
  {extra}
  hubstats_redis {redis_addr};
  hubstats_secret_file {secret};
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  upstream hub_api {{ server 127.0.0.1:{hub_port}; keepalive 32; }}
  server {{
    listen 127.0.0.1:@PORT@;
    location /models/ {{ hubstats on; root {root}; }}
    location /plain/ {{ alias {root}/; }}
    # KohakuHub's shape: resolve proxied to the hub, which answers 302 (counted there).
    location /datasets/ {{
      hubstats on;
      proxy_pass http://hub_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
    location /kohaku-plain/ {{
      proxy_pass http://hub_api/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
    location = /hubstats {{ hubstats_status; }}
  }}
"""


# The hub's API server as the proxy sees it: every resolve answers 302 to storage.
HUB_CONF = """
  access_log off;
  server {
    listen 127.0.0.1:@PORT@;
    keepalive_requests 100000;
    location / { return 302 http://storage.invalid/hub-storage$uri?X-Amz-Signature=0; }
  }
"""


def hub_tree(tmp):
    """(root, secret): the counted file under tmp/hub (~460 B) and a fresh secret file."""
    root = tmp / "hub"
    (root / "models/demo/tiny-model/resolve/main").mkdir(parents=True)
    (root / FILE.lstrip("/")).write_bytes(b'{"model_type": "tiny"}\n' * 20)
    secret = tmp / "secret"
    secret.write_bytes(os.urandom(32).hex().encode())
    return root, secret


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pid):
    """CPU time of a process so far (ns precision, /proc/<pid>/schedstat); 0 when gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except OSError:
        return 0.0


RUNS = [0]


def wrk(url, duration, connections, pids, script="identities.lua", args=()):
    """(req/s, p99 ms, CPU µs per request of each pid)."""
    RUNS[0] += 1
    first_identity = RUNS[0] * 1_000_000  # never reuse an identity across runs
    before = [cpu_seconds(p) for p in pids]
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
                          "-s", str(HERE / script), url, "--", str(first_identity), *args],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * UNIT[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    n = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = [(cpu_seconds(p) - b) * 1e6 / n for p, b in zip(pids, before)]
    return rps, p99, cpu


def phase(name, builds, redis_pid, rounds, duration, connections, kohaku=False):
    """builds: [(label, nginx)]. Returns {label: (thr, p99, cpu_n, cpu_nr)}.
    kohaku: KohakuHub's shape (sessions of 8 files, proxied to the hub stand-in, 302);
    the hub's worker CPU is left out of the per-request figures (same on both sides)."""
    script, wargs = "identities.lua", {"counted": (), "plain": ()}
    if kohaku:
        script, wargs = "sessions8.lua", {"counted": ("",), "plain": ("/kohaku-plain",)}
    rows = {label: [] for label, _ in builds}
    for r in range(rounds):
        # Alternate which build and which side go first so warm-up and drift affect
        # all alike.
        order_b = builds if r % 2 == 0 else list(reversed(builds))
        for label, ng in order_b:
            if kohaku:
                order = [("counted", ng.url("/")), ("plain", ng.url("/"))]
            else:
                order = [("counted", ng.url(FILE)), ("plain", ng.url("/plain" + FILE))]
            if (r // 2) % 2:
                order.reverse()
            pids = ng.worker_pids() + ([redis_pid] if redis_pid else [])
            res = {}
            for k, u in order:
                if redis_pid and FOLD[0]:
                    FOLD[0]()
                res[k] = wrk(u, duration, connections, pids, script, wargs[k])
            rows[label].append(res)
            c, p = res["counted"], res["plain"]
            print(f"  {name} round {r + 1:2} {label:>4}: counted {c[0]:7.0f} req/s p99 "
                  f"{c[1]:6.2f} ms cpu/req {c[2][0]:5.1f} us (redis {sum(c[2][1:]):5.1f}) | "
                  f"uncounted {p[0]:7.0f} req/s p99 {p[1]:6.2f} ms cpu/req {p[2][0]:5.1f} us",
                  flush=True)
    out = {}
    for label, rs in rows.items():
        # Per-round ratios of adjacent runs cancel slow drift (other load on the host);
        # the median discards rounds disturbed mid-way.
        thr = statistics.median(r["counted"][0] / r["plain"][0] for r in rs)
        p99 = statistics.median(r["counted"][1] / r["plain"][1] for r in rs)
        total = sum(r["counted"][0] for r in rs) / sum(r["plain"][0] for r in rs)
        # CPU time per request of the nginx worker (and of Redis, which shares the
        # host): insensitive to other load, it bounds the CPU-limited throughput ratio.
        cpu_n = statistics.median(r["plain"][2][0] / r["counted"][2][0] for r in rs)
        cpu_nr = statistics.median(r["plain"][2][0] / sum(r["counted"][2]) for r in rs)
        us = {side: statistics.median(r[side][2][0] for r in rs) for side in ("counted", "plain")}
        redis_us = statistics.median(sum(r["counted"][2][1:]) for r in rs)
        print(f"  {name} [{label}]: median throughput ratio {thr:.3f}, ratio of sums "
              f"{total:.3f}, median p99 ratio {p99:.3f}, CPU-bound throughput ratio nginx "
              f"{cpu_n:.3f} (nginx+redis {cpu_nr:.3f}); median CPU per request: worker "
              f"{us['counted']:.1f} us counted / {us['plain']:.1f} us uncounted, redis "
              f"{redis_us:.1f} us", flush=True)
        out[label] = (thr, p99, cpu_n, cpu_nr)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--duration", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--redis-unix", action="store_true",
                    help="connect the module to Redis over a unix socket instead of TCP")
    ap.add_argument("--extra", default="", help="extra http-level directives, e.g. "
                    "'hubstats_flush_interval 20ms;'")
    ap.add_argument("--redis-arg", action="append", default=[],
                    help="a redis-server option, repeatable; e.g. --redis-arg=--hash-max-"
                    "listpack-entries --redis-arg=128 for Debian's redis.conf value "
                    "(redis-server's compiled-in 512 makes small session buckets "
                    "linear scans)")
    ap.add_argument("--no-fold", action="store_true",
                    help="no fold stand-in: breakdown logs grow until Redis compacts them")
    ap.add_argument("--pin", action="store_true",
                    help="Redis and the hub stand-in on CPU 1, nginx and wrk on CPU 0: "
                    "steadier per-event Redis CPU, different throughput ratios")
    ap.add_argument("--compare", default=None, metavar="SO",
                    help="another build of the module (.so) to measure interleaved as 'old'")
    ap.add_argument("--phases", default="up,kohakuhub,down",
                    help="which phases to run, in this order: up, kohakuhub, down")
    args = ap.parse_args()
    phases = args.phases.split(",")
    if not phases or any(p not in ("up", "kohakuhub", "down") for p in phases):
        ap.error("--phases: a comma-separated list of up, kohakuhub and down")
    with tempfile.TemporaryDirectory(prefix="hubstats-bench-") as tmp:
        tmp = Path(tmp)
        root, secret = hub_tree(tmp)
        redis = RedisServer(tmp, unix_socket=args.redis_unix, args=args.redis_arg)
        FOLD[0] = None if args.no_fold else fold_stand_in(redis)
        hub = Nginx(tmp, HUB_CONF, module_path=None, level="warn")
        builds = []
        try:
            builds.append(("new", Nginx(tmp, conf(redis.address, secret, root, hub.port,
                                                  args.extra), level="warn")))
            if args.compare:
                builds.append(("old", Nginx(tmp, conf(redis.address, secret, root, hub.port,
                                                      args.extra),
                                            module_path=args.compare, level="warn")))
        except Exception:
            for _, ng in builds:
                ng.stop()
            hub.stop()
            redis.stop()
            raise
        if args.pin:
            os.sched_setaffinity(redis.pid, {1})
            for pid in hub.worker_pids():
                os.sched_setaffinity(pid, {1})
            for _, ng in builds:
                for pid in ng.worker_pids():
                    os.sched_setaffinity(pid, {0})
            os.sched_setaffinity(0, {0})  # this script and wrk
        get = __import__("requests").get
        try:
            print(f"nginx 1 worker, wrk -t1 -c{args.connections} -d{args.duration}s, "
                  f"{args.rounds} alternating rounds per phase, redis at {redis.address}, "
                  f"builds: {', '.join(b for b, _ in builds)}")
            results, status = {}, {}
            if "up" in phases:
                results["up"] = phase("redis up", builds, redis.pid, args.rounds,
                                      args.duration, args.connections)
                status["redis-up"] = {b: get(ng.url("/hubstats")).text for b, ng in builds}
            if "kohakuhub" in phases:
                results["kohakuhub"] = phase("kohakuhub", builds, redis.pid, args.rounds,
                                             args.duration, args.connections, kohaku=True)
                status["kohakuhub"] = {b: get(ng.url("/hubstats")).text for b, ng in builds}
            spool = 0
            if "down" in phases:
                redis.stop()
                results["down"] = phase("redis down", builds, None, args.rounds,
                                        args.duration, args.connections)
                status["redis-down"] = {b: get(ng.url("/hubstats")).text for b, ng in builds}
                spool = sum(f.stat().st_size
                            for f in builds[0][1].prefix.glob("hubstats_spool/*"))
        finally:
            for _, ng in builds:
                ng.stop()
            hub.stop()
            redis.stop()
        for b, _ in builds:
            for name, by_build in status.items():
                print(f"\n[{b}] status after {name} phase:\n" + by_build[b])
        if "down" in phases:
            print(f"[new] spool written during the redis-down phase: {spool} bytes")
        for b, _ in builds:
            if "up" in results:
                u = results["up"][b]
                print(f"RESULT [{b}] redis up:   throughput ratio {u[0]:.3f}, p99 ratio "
                      f"{u[1]:.3f}, CPU-bound ratio nginx {u[2]:.3f}, nginx+redis {u[3]:.3f}")
            if "kohakuhub" in results:
                k = results["kohakuhub"][b]
                print(f"RESULT [{b}] kohakuhub:  throughput ratio {k[0]:.3f} (goal >= 0.98), "
                      f"p99 ratio {k[1]:.3f}, CPU-bound ratio nginx {k[2]:.3f}, "
                      f"nginx+redis {k[3]:.3f}")
            if "down" in results:
                d = results["down"][b]
                print(f"RESULT [{b}] redis down: throughput ratio {d[0]:.3f}, p99 ratio "
                      f"{d[1]:.3f}, CPU-bound ratio nginx {d[2]:.3f}")


if __name__ == "__main__":
    main()
