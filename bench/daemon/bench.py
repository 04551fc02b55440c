#!/usr/bin/python3
"""GET /stats from hubstatsd vs nginx serving a small static JSON file, on keep-alive
connections (wrk), alternating in the same run. hubstatsd runs against real Redis and
PostgreSQL with 30 folded days of history for the repo plus live counters for today;
the static file holds the same JSON body.

Usage: bench/daemon/run.sh [--rounds N] [--duration S] [--connections C]
Prints req/s and p99 per round and the median of the per-round ratios."""
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


def wrk(url, duration, connections, threads, pids=()):
    """(req/s, p99 ms, CPU µs per request of pids)."""
    before = cpu_seconds(pids)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                          url], check=True, stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * UNIT[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, p99, (cpu_seconds(pids) - before) / max(requests_done, 1) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="nginx workers and hubstatsd io threads")
    ap.add_argument("--path", default="/models/demo/tiny-model/stats",
                    help="daemon path to load (e.g. /health to measure the HTTP layer alone)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hubstats-bench-daemon-"))
    redis = RedisServer(tmp)
    pg = PostgresServer(tmp)
    daemon = ng = None
    try:
        daemon = Hubstatsd(tmp, redis=redis, postgres=pg, admin_token="b" * 32,
                           settings={"http": {"threads": args.workers, "handler_threads": 8},
                                     "postgres": {"pool_size": 8},
                                     "catalog": {"cache_ttl": "5s"},
                                     "log": {"level": "warn"}})
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
        stats_path = args.path
        body = daemon.get(stats_path).text
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
              f"wrk -t{args.wrk_threads}, {args.duration}s rounds; nginx {args.workers} workers, "
              f"hubstatsd {args.workers} io threads")
        ratios, cpu_ratios, cpu_all_ratios = [], [], []
        for rnd in range(1, args.rounds + 1):
            n_rps, n_p99, n_cpu = wrk(ng.url("/stats.json"), args.duration, args.connections,
                                      args.wrk_threads, ng.worker_pids())
            d_rps, d_p99, d_cpu = wrk(daemon.url(stats_path), args.duration, args.connections,
                                      args.wrk_threads, [daemon.pid])
            # The same load again, charging Redis and PostgreSQL (their CPU per request).
            backends = [redis.pid, pg.pid] + child_pids(pg.pid)
            _, _, b_cpu = wrk(daemon.url(stats_path), args.duration, args.connections,
                              args.wrk_threads, backends)
            ratios.append(d_rps / n_rps)
            cpu_ratios.append(n_cpu / d_cpu)
            cpu_all_ratios.append(n_cpu / (d_cpu + b_cpu))
            print(f"round {rnd}: nginx static {n_rps:8.0f} req/s p99 {n_p99:6.2f} ms "
                  f"{n_cpu:5.1f} us/req | hubstatsd {d_rps:8.0f} req/s p99 {d_p99:6.2f} ms "
                  f"{d_cpu:5.1f} us/req (+{b_cpu:5.1f} redis+pg) | ratio {ratios[-1]:.3f}")
        print(f"median throughput ratio hubstatsd/nginx: {statistics.median(ratios):.3f}")
        print(f"median CPU-bound ratio (nginx us/req / hubstatsd us/req): "
              f"{statistics.median(cpu_ratios):.3f}")
        print(f"median CPU-bound ratio incl. redis+postgres: {statistics.median(cpu_all_ratios):.3f}")
    finally:
        if ng:
            ng.stop()
        if daemon:
            daemon.stop()
        redis.stop()
        pg.cleanup()


if __name__ == "__main__":
    main()
