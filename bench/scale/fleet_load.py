#!/usr/bin/python3
"""Sustained load through the fleet (scripts/fleet-up must be running): wrk against the
three nginx nodes at a capped total rate (--rate, default 10,000 requests/s), every
request a countable download by a new identity (X-Forwarded-For) of one of --repos repo
files... of the demo hub (tiny-model's config.json and README.md, tiny-dataset's
data.csv), for --seconds. Meanwhile, every 0.5 s: what nginx served (access-log lines
answered 200, the ground truth) and what PostgreSQL holds (sum of files of the day rows
of the demo repos). Reports:

  - the rate achieved;
  - fold lag: for each sample, how long ago PostgreSQL's count was what nginx had
    served (p50, p95, max over the run), and the time from the end of the load until
    PostgreSQL holds every served file;
  - CPU (cores) of the two hubstatsd, the Redis Cluster (masters + replicas), PostgreSQL
    and the three nginx during the load, from /proc/<pid>/stat.

Usage: bench/scale/fleet_load.py [--rate R] [--seconds S] [--fleet DIR]
"""
import argparse
import bisect
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODES = (28180, 28181, 28182)

WRK_LUA = """
local counter = 0
local repos = %(repos)d
local zipf = %(zipf)s
local delay_ms = %(delay)f
function setup(thread) thread:set("base", math.random(0, 2^24)) end
function init(args) counter = 0 end
function delay() return delay_ms end
request = function()
  counter = counter + 1
  local n = base * 4096 + counter
  local f = math.floor
  local ip = string.format("%%d.%%d.%%d.%%d", 10 + f(n / 16777216) %% 200, f(n / 65536) %% 256,
                           f(n / 256) %% 256, n %% 256)
  local r
  if zipf then r = math.floor(repos ^ math.random()) - 1 else r = math.random(0, repos - 1) end
  local path = "/models/bench/r" .. r .. "/resolve/main/config.json"
  return wrk.format("GET", path, {["X-Forwarded-For"] = ip})
end
"""


def cpu_s(pid):
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def served(fleet):
    n = 0
    for i in range(3):
        log = fleet / f"logs/nginx-{i}/nginx-access.log"
        with open(log, "rb") as f:
            for line in f:
                if b'" 200 ' in line and b"/models/bench/" in line:
                    n += 1
    return n


def folded(psql):
    out = subprocess.run(psql + ["-c", "SELECT coalesce(sum(files), 0) FROM hubstats.daily_downloads "
                                 "WHERE namespace = 'bench' AND day >= current_date - 1"],
                         capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=10_000, help="requests/s over the 3 nodes")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=100, help="per node")
    ap.add_argument("--repos", type=int, default=10_000)
    ap.add_argument("--dist", choices=("zipf", "uniform"), default="zipf")
    ap.add_argument("--latency-ms", type=float, default=2.0,
                    help="expected response time, taken off the per-connection delay")
    ap.add_argument("--fleet", default=str(ROOT / ".fleet"))
    args = ap.parse_args()
    fleet = Path(args.fleet)
    psql = ["psql", "-h", "127.0.0.1", "-p", "25532", "-U", "postgres", "-d", "hubstats", "-qtA"]
    def tree(pidfile):  # a process and its children, by the pid file fleet-up wrote
        pid = int(Path(pidfile).read_text().split()[0])
        return [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)],
                                                       capture_output=True, text=True).stdout.split()]
    groups = {
        "hubstatsd x2": [int((fleet / f"hubstatsd-{i}.pid").read_text()) for i in range(2)],
        "redis cluster (6)": [int(p.read_text()) for p in fleet.glob("redis/*/redis.pid")],
        "postgresql": tree(fleet / "pg/postmaster.pid"),
        "nginx x3": sum((tree(fleet / f"nginx-{i}/nginx.pid") for i in range(3)), []),
    }
    # The per-connection delay that caps the total rate.
    conns = args.connections * len(NODES)
    delay = max(0.0, conns * 1000.0 / args.rate - args.latency_ms)
    hub = fleet / "hub/models/bench"
    for i in range(args.repos):
        d = hub / f"r{i}"
        if not (d / "config.json").exists():
            d.mkdir(parents=True, exist_ok=True)
            (d / "config.json").write_text('{"bench": %d}\n' % i)
    os.system(f"chmod -R a+rX {hub}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA % {"repos": args.repos, "delay": delay,
                           "zipf": "true" if args.dist == "zipf" else "false"})
        lua = f.name
    base_served, base_folded = served(fleet), folded(psql)
    cpu0 = {k: sum(cpu_s(p) for p in v) for k, v in groups.items()}
    t0 = time.monotonic()
    wrks = [subprocess.Popen(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s",
                              "-s", lua, f"http://127.0.0.1:{port}/"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for port in NODES]
    samples = []  # (t, served, folded)
    while any(w.poll() is None for w in wrks):
        samples.append((time.monotonic() - t0, served(fleet) - base_served,
                        folded(psql) - base_folded))
        time.sleep(0.5)
    t_end = time.monotonic() - t0
    cpu1 = {k: sum(cpu_s(p) for p in v) for k, v in groups.items()}
    total = served(fleet) - base_served
    while True:
        f = folded(psql) - base_folded
        samples.append((time.monotonic() - t0, total, f))
        if f >= total or time.monotonic() - t0 > t_end + 120:
            break
        time.sleep(0.25)
    drain = samples[-1][0] - t_end
    os.unlink(lua)
    # Lag: for each sample during the load, the age of the newest served count PostgreSQL had.
    ts = [s[0] for s in samples]
    sv = [s[1] for s in samples]
    lags = []
    for t, _, fo in samples:
        if t > t_end:
            break
        k = bisect.bisect_right(sv, fo)  # first sample that had served more than folded
        lags.append(t - (ts[k - 1] if k > 0 else 0.0))
    lags = [x for x in lags if x >= 0]
    print(f"{args.repos} repos ({args.dist}); served {total} in {t_end:.1f} s: {total / t_end:.0f} requests/s "
          f"(asked {args.rate}/s); PostgreSQL holds {samples[-1][2]} "
          f"({'all' if samples[-1][2] == total else 'NOT all'})")
    if lags:
        lags.sort()
        print(f"fold lag during the load: p50 {statistics.median(lags):.1f} s, "
              f"p95 {lags[int(len(lags) * 0.95) - 1]:.1f} s, max {lags[-1]:.1f} s; "
              f"all folded {drain:.1f} s after the load ended")
    for k in groups:
        print(f"  CPU {k:20} {(cpu1[k] - cpu0[k]) / t_end:5.2f} cores")
    for w in wrks:
        out = w.stdout.read()
        line = next((l for l in out.splitlines() if "Requests/sec" in l), out[-200:])
        print("  wrk:", line.strip())


if __name__ == "__main__":
    main()
