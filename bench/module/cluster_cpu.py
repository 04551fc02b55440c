#!/usr/bin/python3
"""Redis CPU per counted event, one Redis vs a Redis Cluster (3 masters, 1 replica
each), measured interleaved in one run: one nginx (1 worker) per backend, both loading
the same module build, wrk with a new identity per request against the counted
location, alternating which backend goes first. Redis CPU is the sum over every
redis-server process of the backend (for the cluster: the masters, which also answer
WAIT, ROLE and CLUSTER SLOTS, and the replicas, which apply the replicated writes)
from /proc/<pid>/schedstat, per request. Not part of ctest.

Usage: bench/module/run.sh is for the overhead benchmark; this one:
  HUBSTATS_BUILD_DIR=build /usr/bin/python3 bench/module/cluster_cpu.py [--rounds N]
"""
import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import bench  # noqa: E402
from harness.nginx import Nginx  # noqa: E402
from harness.redis import RedisServer  # noqa: E402
from harness.redis_cluster import RedisCluster  # noqa: E402


def drop_logs(servers):
    """The fold's stand-in (see bench.py): drop the breakdown logs between runs."""
    for s in servers:
        with s.client() as c:
            if c.execute("ROLE")[0] != "master":
                continue
            keys = c.execute("KEYS", "hs:*:x:*")
            for k in keys or []:
                c.execute("DEL", k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--duration", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstats-cluster-bench-") as tmp:
        tmp = Path(tmp)
        root, secret = bench.hub_tree(tmp)
        single = RedisServer(tmp)
        cluster = RedisCluster(tmp / "cluster", masters=3, replicas=1)
        hub = Nginx(tmp, bench.HUB_CONF, module_path=None, level="warn")
        ngs = {}
        try:
            ngs["single"] = Nginx(tmp, bench.conf(single.address, secret, root, hub.port),
                                  level="warn")
            text = bench.conf("127.0.0.1:1", secret, root, hub.port).replace(
                "hubstats_redis 127.0.0.1:1;",
                "hubstats_redis_cluster " + " ".join(cluster.seeds) + ";")
            ngs["cluster"] = Nginx(tmp, text, level="warn")
            backends = {"single": [single], "cluster": list(cluster.nodes)}
            rows = {k: [] for k in ngs}
            for r in range(args.rounds):
                order = ["single", "cluster"] if r % 2 == 0 else ["cluster", "single"]
                for k in order:
                    drop_logs(backends[k])
                    ng = ngs[k]
                    pids = ng.worker_pids() + [s.pid for s in backends[k]]
                    rps, p99, cpu = bench.wrk(ng.url(bench.FILE), args.duration,
                                              args.connections, pids)
                    rows[k].append((rps, p99, cpu[0], sum(cpu[1:])))
                    print(f"  round {r + 1:2} {k:>7}: {rps:7.0f} req/s p99 {p99:6.2f} ms "
                          f"worker {cpu[0]:5.1f} us/req redis {sum(cpu[1:]):5.2f} us/req",
                          flush=True)
            med = {k: {i: statistics.median(x[i] for x in v) for i in range(4)}
                   for k, v in rows.items()}
            for k in ngs:
                m = med[k]
                print(f"RESULT {k:>7}: median {m[0]:.0f} req/s, p99 {m[1]:.2f} ms, worker "
                      f"{m[2]:.1f} us/event, redis (all processes) {m[3]:.2f} us/event")
            ratio = statistics.median(c[3] / s[3] for s, c in zip(rows["single"],
                                                                   rows["cluster"]))
            print(f"RESULT redis CPU per event, cluster / single (median of per-round "
                  f"ratios): {ratio:.2f}")
            for k, ng in ngs.items():
                print(f"[{k}] status:\n" + __import__("requests").get(ng.url("/hubstats")).text)
        finally:
            for ng in ngs.values():
                ng.stop()
            hub.stop()
            cluster.stop()
            single.stop()


if __name__ == "__main__":
    main()
