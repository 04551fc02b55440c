#!/usr/bin/python3
"""The record script's Redis cost in situ: two nginx (this build and another module .so)
counting into one redis-server, wrk against each in turn, Redis's own accounting per
run: CONFIG RESETSTAT before, INFO commandstats after. Reports EVALSHA µs per counted
event (nested redis.call commands included: the script's whole cost), events per
EVALSHA, the breakdown log's APPEND, and Redis's schedstat CPU per event; per shape the
medians, and the median of the paired differences (this build's run minus the other's
adjacent run, which cancels the host's drift). Each run starts with the breakdown logs
deleted, as a fold would take them (--keep-logs: never, so compactions run).

Shapes: "up" (one file, a new identity per request, bench.py's Redis-up phase) and
"kohakuhub" (sessions of 8 files proxied to the hub stand-in, bench.py's phase 2).

Usage: bench/module/redis_insitu.py --compare OLD.so [--runs 10] [--duration 2]
       [--shapes up,kohakuhub] [--pin] [--keep-logs] [--extra 'directives;']"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))
os.environ.setdefault("HUBSTATS_SOURCE_DIR", str(HERE.parents[1]))
os.environ.setdefault("HUBSTATS_BUILD_DIR", str(HERE.parents[1] / "build"))

import bench  # noqa: E402
from harness.nginx import Nginx  # noqa: E402
from harness.redis import RedisServer  # noqa: E402


def commandstats(rc):
    s = rc.execute("INFO", "commandstats")
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"cmdstat_(\w+):calls=(\d+),usec=(\d+)", s)}


def one_run(redis, ng, shape, duration, keep_logs):
    rc = redis.client()
    rc.execute("CONFIG", "RESETSTAT")
    logs = [] if keep_logs else rc.execute("KEYS", "hs:*:x:*")
    if logs:
        rc.execute("DEL", *logs)
    rc.close()
    if shape == "kohakuhub":
        r = bench.wrk(ng.url("/"), duration, 16, [redis.pid], "sessions8.lua", ("",))
    else:
        r = bench.wrk(ng.url(bench.FILE), duration, 16, [redis.pid])
    time.sleep(0.2)  # the last flush's replies
    rc = redis.client()
    stats = commandstats(rc)
    rc.close()
    events = r[0] * duration
    calls, usec = stats.get("evalsha", (1, 0))
    return {"evalsha": usec / events, "per_batch": events / max(calls, 1),
            "append": stats.get("append", (0, 0))[1] / events, "schedstat": r[2][0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", required=True, help="the other build's module .so")
    ap.add_argument("--runs", type=int, default=10, help="runs per build and shape")
    ap.add_argument("--duration", type=int, default=2)
    ap.add_argument("--shapes", default="up,kohakuhub")
    ap.add_argument("--pin", action="store_true",
                    help="Redis and the hub stand-in on CPU 1, the measured nginx and wrk on 0")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--extra", default="", help="extra http-level directives")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    if any(s not in ("up", "kohakuhub") for s in shapes):
        ap.error("--shapes: up and/or kohakuhub")
    with tempfile.TemporaryDirectory(prefix="hubstats-insitu-") as tmp:
        tmp = Path(tmp)
        root, secret = bench.hub_tree(tmp)
        redis = RedisServer(tmp)
        hub = Nginx(tmp, bench.HUB_CONF, module_path=None, level="warn")
        conf = bench.conf(redis.address, secret, root, hub.port, args.extra)
        builds = []
        try:
            builds.append(("new", Nginx(tmp, conf, level="warn")))
            builds.append(("old", Nginx(tmp, conf, module_path=args.compare, level="warn")))
            if args.pin and len(os.sched_getaffinity(0)) >= 2:
                for pid in [redis.pid] + hub.worker_pids():
                    os.sched_setaffinity(pid, {1})
                for _, ng in builds:
                    for pid in ng.worker_pids():
                        os.sched_setaffinity(pid, {0})
                os.sched_setaffinity(0, {0})
            print(f"{args.runs} runs of {args.duration} s per build and shape, this build "
                  f"against {args.compare}; EVALSHA µs per event", flush=True)
            res = {}
            for shape in shapes:
                for run in range(args.runs):
                    for label, ng in (builds if run % 2 == 0 else builds[::-1]):
                        row = one_run(redis, ng, shape, args.duration, args.keep_logs)
                        res.setdefault((shape, label), []).append(row)
                        print(f"  {shape:9} {label}: EVALSHA {row['evalsha']:.3f}, "
                              f"{row['per_batch']:.1f} events per call, APPEND "
                              f"{row['append']:.3f}, schedstat {row['schedstat']:.2f}",
                              flush=True)
        finally:
            for _, ng in builds:
                ng.stop()
            hub.stop()
            redis.stop()
    med = statistics.median
    for shape in shapes:
        new, old = res[(shape, "new")], res[(shape, "old")]
        for label, rows in (("this build", new), ("other", old)):
            print(f"{shape:9} {label:10}: EVALSHA {med(r['evalsha'] for r in rows):.2f} µs per "
                  f"event [{min(r['evalsha'] for r in rows):.2f}–"
                  f"{max(r['evalsha'] for r in rows):.2f}], {med(r['per_batch'] for r in rows):.1f}"
                  f" events per call, APPEND {med(r['append'] for r in rows):.3f}, schedstat "
                  f"{med(r['schedstat'] for r in rows):.2f}")
        d = sorted(a["evalsha"] - b["evalsha"] for a, b in zip(new, old))
        q = [d[min(len(d) - 1, int(p * len(d)))] for p in (0.25, 0.75)]
        print(f"{shape:9} paired difference: median {med(d):+.3f} µs per event "
              f"[quartiles {q[0]:+.3f}, {q[1]:+.3f}]; {sum(x <= 0.5 for x in d)} of {len(d)} "
              "pairs ≤ +0.5")


if __name__ == "__main__":
    main()
