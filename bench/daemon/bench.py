#!/usr/bin/python3
"""GET /stats from hubstatsd vs nginx serving a small static JSON file, on keep-alive
connections (wrk), alternating in the same run. hubstatsd runs against real Redis and
PostgreSQL with 30 folded days of history for the repo plus live counters for today;
the static file holds the same JSON body.

Usage: bench/daemon/run.sh [--rounds N] [--duration S] [--connections C]
                          [--baseline-binary OLD/hubstatsd]
Prints req/s, p99 and CPU per request per round and the median of the per-round ratios;
with --baseline-binary, another build runs against the same Redis/PostgreSQL and is
measured in the same rounds (order alternating), for before/after figures."""
import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import harness.daemon  # noqa: E402
from harness.daemon import Hubstatsd  # noqa: E402
from harness.nginx import Nginx  # noqa: E402
from harness.postgres import PostgresServer  # noqa: E402
from harness.procs import child_pids  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pids):
    """Total CPU time so far of the processes, all their threads
    (/proc/<pid>/task/<tid>/schedstat); gone ones count 0."""
    import os
    total = 0.0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
            except OSError:
                pass
    return total


def wrk(url, duration, connections, threads, pids=(), extra_pids=()):
    """(req/s, p99 ms, CPU µs per request of pids, CPU µs per request of extra_pids)."""
    before, extra_before = cpu_seconds(pids), cpu_seconds(extra_pids)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                          url], check=True, stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * UNIT[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    n = max(int(re.search(r"(\d+) requests in", out).group(1)), 1)
    return (rps, p99, (cpu_seconds(pids) - before) / n * 1e6,
            (cpu_seconds(extra_pids) - extra_before) / n * 1e6)


def parse_env(pairs):
    return dict(p.split("=", 1) for p in pairs)


def start_daemon(tmp, redis, pg, args, binary=None, threads=None, handlers=None, env=None,
                 name="hubstatsd"):
    """A hubstatsd on the shared Redis/PostgreSQL; binary: another build to compare with."""
    saved = harness.daemon.DAEMON
    if binary:
        harness.daemon.DAEMON = Path(binary)
    try:
        return Hubstatsd(tmp, redis=redis, postgres=pg, admin_token="b" * 32, name=name, env=env,
                         settings={"http": {"threads": threads, "handler_threads": handlers},
                                   "postgres": {"pool_size": 8},
                                   "catalog": {"cache_ttl": "5s"},
                                   "log": {"level": args.log_level}})
    finally:
        harness.daemon.DAEMON = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="nginx workers")
    ap.add_argument("--io-threads", type=int, default=2, help="hubstatsd http.threads")
    ap.add_argument("--handler-threads", type=int, default=8, help="hubstatsd http.handler_threads")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for hubstatsd")
    ap.add_argument("--log-level", default="warn",
                    help="hubstatsd log.level (info writes one line per request)")
    ap.add_argument("--baseline-binary",
                    help="another hubstatsd build measured in the same rounds (before/after)")
    ap.add_argument("--baseline-io-threads", type=int, default=2)
    ap.add_argument("--baseline-handler-threads", type=int, default=8)
    ap.add_argument("--baseline-env", action="append", default=[])
    ap.add_argument("--cluster", action="store_true",
                    help="also a hubstatsd on a Redis Cluster (3 masters, no replicas), "
                         "measured in the same rounds")
    ap.add_argument("--path", default="/models/demo/tiny-model/stats",
                    help="daemon path to load (e.g. /health to measure the HTTP layer alone)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hubstats-bench-daemon-"))
    redis = RedisServer(tmp)
    pg = PostgresServer(tmp)
    daemons = []  # (label, Hubstatsd)
    ng = None
    rc = None
    try:
        if args.cluster:
            from harness.redis_cluster import RedisCluster
            rc = RedisCluster(tmp, masters=3, replicas=0)
            daemons.append(("cluster", start_daemon(tmp, rc, pg, args, None, args.io_threads,
                                                    args.handler_threads, parse_env(args.env),
                                                    "cluster")))
        if args.baseline_binary:
            daemons.append(("baseline", start_daemon(
                tmp, redis, pg, args, args.baseline_binary, args.baseline_io_threads,
                args.baseline_handler_threads, parse_env(args.baseline_env), "baseline")))
        daemons.append(("hubstatsd", start_daemon(tmp, redis, pg, args, None, args.io_threads,
                                                  args.handler_threads, parse_env(args.env))))
        daemon = daemons[-1][1]
        daemon.add_repo("model", "demo", "tiny-model")
        pg.psql("INSERT INTO hubstats.daily_downloads (repo_type, namespace, name, day, downloads,"
                " authenticated, anonymous, files) SELECT 'model', 'demo', 'tiny-model', d::date,"
                " 40, 10, 30, 90 FROM generate_series(current_date - 30, current_date - 1,"
                " interval '1 day') d")
        with redis.client() as r:
            import datetime
            today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
            r.execute("HSET", f"hs:{{model/demo/tiny-model}}:d:{today}", "downloads", 7,
                      "authenticated", 2, "anonymous", 5, "files", 9)
        if rc:
            with rc.client() as r:
                r.execute("HSET", f"hs:{{model/demo/tiny-model}}:d:{today}", "downloads", 7,
                          "authenticated", 2, "anonymous", 5, "files", 9)
        stats_path = args.path
        body = daemon.get(stats_path).text
        for label, d in daemons:  # both see the repo (catalog caches) and the same body
            got = d.get(stats_path)
            if got.status_code != 200 or got.text != body:
                import time
                time.sleep(5.5)  # the catalog cache_ttl: the baseline's negative entry expires
                got = d.get(stats_path)
            if got.text != body:
                raise SystemExit(f"{label} answers {got.status_code} {got.text!r}, not {body!r}")
        www = tmp / "www"
        www.mkdir()
        (www / "stats.json").write_text(body)
        ng = Nginx(tmp, f"""
  access_log off;
  server {{
    listen 127.0.0.1:@PORT@;
    location = /stats.json {{ root {www}; default_type application/json; }}
  }}
""", module_path=None, workers=args.workers, level="warn")
        print(f"body: {body} ({len(body)} bytes); {args.connections} keep-alive connections, "
              f"wrk -t{args.wrk_threads}, {args.duration}s rounds; nginx {args.workers} workers; "
              f"hubstatsd http.threads {args.io_threads}, handler_threads {args.handler_threads}"
              + (f"; baseline {args.baseline_binary}" if args.baseline_binary else ""))
        backends = [redis.pid, pg.pid] + child_pids(pg.pid) + \
            ([n.pid for n in rc.nodes] if rc else [])
        ratios = {label: [] for label, _ in daemons}
        cpu = {label: [] for label, _ in daemons}
        for rnd in range(1, args.rounds + 1):
            n_rps, n_p99, n_cpu, _ = wrk(ng.url("/stats.json"), args.duration, args.connections,
                                         args.wrk_threads, ng.worker_pids())
            line = f"round {rnd}: nginx {n_rps:6.0f} req/s p99 {n_p99:5.2f} ms {n_cpu:4.1f} us/req"
            # Alternate the order of the daemons from round to round.
            order = daemons if rnd % 2 else list(reversed(daemons))
            results = {}
            for label, d in order:
                results[label] = wrk(d.url(stats_path), args.duration, args.connections,
                                     args.wrk_threads, [d.pid], backends)
            for label, _ in daemons:
                d_rps, d_p99, d_cpu, b_cpu = results[label]
                ratios[label].append(d_rps / n_rps)
                cpu[label].append(d_cpu)
                line += (f" | {label} {d_rps:6.0f} req/s p99 {d_p99:5.2f} ms {d_cpu:4.1f} us/req"
                         f" (+{b_cpu:4.1f} redis+pg) ratio {ratios[label][-1]:.3f}")
            print(line, flush=True)
        for label, _ in daemons:
            r = ratios[label]
            print(f"{label}: median throughput ratio to nginx {statistics.median(r):.3f} "
                  f"(min {min(r):.3f}, max {max(r):.3f}); median CPU "
                  f"{statistics.median(cpu[label]):.1f} us/req")
    finally:
        if ng:
            ng.stop()
        for _, d in daemons:
            d.stop()
        redis.stop()
        if rc:
            rc.stop()
        pg.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)  # info-level logs grow by ~100 MB a run


if __name__ == "__main__":
    main()
