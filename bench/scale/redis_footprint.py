#!/usr/bin/python3
"""Redis CPU per event, memory per open session and memory per repo-day, on one
redis-server and on a Redis Cluster (3 masters + 3 replicas, real processes), for the
capacity table in docs/scaling.md.

What is sent is what the module sends: kRecordBatch per batch of one repo and day
(sessions as fields of window-long bucket hashes, batch ids, the breakdown-log record)
plus the dirty-set SADD per batch, pipelined 200 commands per write. On the cluster
each command goes to the master owning its key's slot (one connection per master), and
with --wait each write is followed by `WAIT 1 <ms>` as the module does in cluster mode
(a batch is confirmed once a replica has it). CPU comes from /proc/<pid>/schedstat of
every redis-server (masters and replicas: replication costs CPU too), memory from
INFO memory (used_memory) of the masters, so the client's speed does not matter.

Phases (each on fresh servers):
  cpu:      --events events in batches of --batch over --repos repos (new identities)
  session:  the same events in one repo: memory per open session
  repoday:  one event in each of --repos * 10 repos: memory per repo-day (its day hash,
            breakdown log, days set, batch-id hash, dirty-set member, one session)

Usage: bench/scale/redis_footprint.py [--events N] [--repos R] [--batch B] [--repeat K] [--wait]
"""
import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))
sys.path.insert(0, str(HERE.parents[1] / "bench/module"))

from harness.redis import RedisServer  # noqa: E402
from harness.redis_cluster import RedisCluster  # noqa: E402
from redis_scripts import breakdown, cpu, resp, script  # noqa: E402

DAY = "20261203"
WINDOW_MS, RETENTION_S = 1_800_000, 14 * 86400
PATHS = ["config.json", "model.safetensors", "tokenizer.json", "README.md"]
FAMILIES = ["transformers", "curl", "git"]


def fnv1a(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def batches(sha, repos, events, batch):
    """(key, resp) for every command: record batches spread over repos, each followed by
    the dirty SADD of its repo's shard."""
    now = time.time_ns() // 1_000_000
    bucket = now // WINDOW_MS
    stream = "%08x%08x" % (now // 1000, 42)
    out = []
    seq = 0
    k = 0
    while k < events:
        tag = repos[seq % len(repos)]
        n = min(batch, events - k)
        seq += 1
        ids = [os.urandom(8).hex() for _ in range(n)]
        letters, rec = breakdown(k, n, PATHS, FAMILIES)
        t = "{" + tag + "}"
        keys = (f"hs:{t}:d:{DAY}", f"hs:{t}:days", f"hs:{t}:s:{WINDOW_MS}:{bucket}",
                f"hs:{t}:s:{WINDOW_MS}:{bucket - 1}", f"hs:{t}:b", f"hs:{t}:p:{DAY}",
                f"hs:{t}:c:{DAY}", f"hs:{t}:x:{DAY}")
        out.append((keys[0], resp("EVALSHA", sha, 8, *keys, WINDOW_MS, RETENTION_S, DAY, stream,
                                  seq, letters, 0, 1000, 1 << 20,
                                  *ids, *[now] * n, rec)))
        dirty = "hs:{dirty:%d}" % (fnv1a(tag) % 16)
        out.append((dirty, resp("SADD", dirty, tag)))
        k += n
    return out


def read_reply(f):
    line = f.readline()
    if line[:1] == b"-":
        raise SystemExit("redis error: " + line.decode(errors="replace"))
    if line[:1] == b"$":
        n = int(line[1:])
        if n >= 0:
            f.read(n + 2)
    elif line[:1] == b"*":
        for _ in range(int(line[1:])):
            read_reply(f)


class Target:
    """One redis-server or a cluster: where each key goes, the PIDs and the masters."""

    def __init__(self, tmp, cluster):
        self.cluster = cluster
        if cluster:
            self.rc = RedisCluster(tmp, masters=3, replicas=1)
            self.servers = self.rc.nodes
            client = self.rc.client()
            self.node_of = lambda key: int(client.node_of(key).rsplit(":", 1)[1])
            self.masters = [n.port for n in self.rc.masters()]
        else:
            self.rs = RedisServer(tmp)
            self.servers = [self.rs]
            self.node_of = lambda key: self.rs.port
            self.masters = [self.rs.port]

    def cpu(self):
        """(masters' CPU s, replicas' CPU s)"""
        m = sum(cpu(s.pid) for s in self.servers if s.running and s.port in self.masters)
        r = sum(cpu(s.pid) for s in self.servers if s.running and s.port not in self.masters)
        return m, r

    def used_memory(self):
        total = 0
        for s in self.servers:
            if s.port in self.masters:
                with s.client() as c:
                    info = c.execute("INFO", "memory")
                total += int(next(l.split(":")[1] for l in info.splitlines()
                                  if l.startswith("used_memory:")))
        return total

    def stop(self):
        for s in self.servers:
            s.stop()


def send(target, cmds, wait):
    sha_by_port = {}
    socks = {}
    body = script("kRecordBatch")
    for port in target.masters:
        with next(s for s in target.servers if s.port == port).client() as c:
            sha_by_port[port] = c.execute("SCRIPT", "LOAD", body)
        s = socket.create_connection(("127.0.0.1", port))
        socks[port] = (s, s.makefile("rb"))
    per_node = {p: [] for p in target.masters}
    for key, cmd in cmds:
        per_node[target.node_of(key)].append(cmd)
    chunk = 200
    # Round-robin over the masters, one 200-command write each, like nginx workers do.
    pos = {p: 0 for p in per_node}
    while any(pos[p] < len(per_node[p]) for p in per_node):
        for p, lst in per_node.items():
            if pos[p] >= len(lst):
                continue
            part = lst[pos[p]:pos[p] + chunk]
            pos[p] += len(part)
            s, f = socks[p]
            s.sendall(b"".join(part) + (resp("WAIT", 1, 1000) if wait else b""))
            for _ in range(len(part) + (1 if wait else 0)):
                read_reply(f)
    for s, f in socks.values():
        f.close()
        s.close()


def phase(kind, cluster, args, tmp):
    t = Target(tmp, cluster)
    try:
        with next(s for s in t.servers if s.port == t.masters[0]).client() as c:
            sha = c.execute("SCRIPT", "LOAD", script("kRecordBatch"))
        if kind == "cpu":
            repos = [f"model/bench/r{i}" for i in range(args.repos)]
            cmds = batches(sha, repos, args.events, args.batch)
        elif kind == "session":
            cmds = batches(sha, ["model/bench/one"], args.events, args.batch)
        else:
            repos = [f"model/bench/d{i}" for i in range(args.repos * 10)]
            cmds = batches(sha, repos, len(repos), 1)
        mem0, cpu0 = t.used_memory(), t.cpu()
        send(t, cmds, args.wait and cluster)
        time.sleep(0.2)  # replicas apply the stream
        cpu1 = t.cpu()
        mem = t.used_memory() - mem0
        n = args.events if kind != "repoday" else args.repos * 10
        return ((cpu1[0] - cpu0[0]) * 1e6 / n, (cpu1[1] - cpu0[1]) * 1e6 / n, mem / n)
    finally:
        t.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wait", action="store_true", help="WAIT 1 after each write (cluster)")
    args = ap.parse_args()
    res = {}
    with tempfile.TemporaryDirectory(prefix="hubstats-footprint-") as tmp:
        for i in range(args.repeat):
            for cluster in (False, True):
                for kind in ("cpu", "session", "repoday"):
                    res.setdefault((cluster, kind), []).append(
                        phase(kind, cluster, args, Path(tmp) / f"{i}-{cluster}-{kind}"))
    print(f"{args.events} events, batches of {args.batch}, {args.repos} repos, median of "
          f"{args.repeat}{', WAIT 1 per write on the cluster' if args.wait else ''}")
    for (cluster, kind), xs in res.items():
        name = "cluster 3+3" if cluster else "single node"
        c = statistics.median(x[0] for x in xs)
        r = statistics.median(x[1] for x in xs)
        m = statistics.median(x[2] for x in xs)
        what = {"cpu": "per event", "session": "per open session (1 repo)",
                "repoday": "per repo-day (1 event)"}[kind]
        print(f"  {name:12} {what:26} CPU masters {c:6.2f} µs + replicas {r:5.2f} µs   "
              f"memory (masters) {m:7.1f} B")


if __name__ == "__main__":
    main()
