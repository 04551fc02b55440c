#!/usr/bin/python3
"""Redis CPU per recorded event: kRecordBatch per batch of one repo and day (what the
module sends: sessions as fields of one hash per window-long bucket) against the
layout it replaced (one Redis key with its own TTL per session) and plain pipelined
SET NX PX commands, the floor of any key-per-session design. Each variant gets a
fresh redis-server and N events with new identities (every event opens a session, as
in bench/module), sent pipelined; Redis's CPU time comes from /proc/<pid>/schedstat,
so the client's speed does not matter.

Variants of the current script: with batch ids (what the module sends), without
(stream ''), and with ids plus the dirty-set SADD the module pipelines after each
flush's batches. Events carry a path (one of 8 files) and a client family (one of 3),
as the per-file and per-client counts need (the module sums them per batch into one
breakdown-log record). --v2 SCRIPTS_H measures the kRecordBatch of commit c75bf62
(a path per event, summed in Lua into the paths and clients hashes). --prev SCRIPTS_H measures the
kRecordBatch of another checkout with batch ids but before per-file and per-client
counts (e.g. commit 78e15a8 or 9f708e6: 5 keys, no families or paths) in the same
run, the variants interleaved run by run. --session-files 8 gives each identity 8
consecutive events (KohakuHub's shape: one event in 8 opens a session), --batches the
batch sizes to compare.

Usage: bench/module/redis_scripts.py [--events N] [--repeat R] [--prev scripts.h]
       [--session-files K] [--batches 8,24,64] [--only-ids]"""
import argparse
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from harness.redis import RedisServer  # noqa: E402

SCRIPTS_H = HERE.parents[1] / "shared/include/hubstats/contract/scripts.h"
TAG = "{model/demo/tiny-model}"
DAY = "20261126"
WINDOW_MS, RETENTION_S = 1_800_000, 14 * 86400


# NOT used by the module any more: the session layout kRecordBatch had before (one key
# per session, SET NX PX), kept to measure what the bucket hashes saved.
KEY_PER_SESSION = """
local files = #KEYS - 2
if files < 1 then return 0 end
local auth, anon = 0, 0
for i = 3, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'PX', ARGV[1], 'NX') then
    if ARGV[i + 1] == '1' then auth = auth + 1 else anon = anon + 1 end
  end
end
local new = auth + anon
if new > 0 then redis.call('HINCRBY', KEYS[1], 'downloads', new) end
if auth > 0 then redis.call('HINCRBY', KEYS[1], 'authenticated', auth) end
if anon > 0 then redis.call('HINCRBY', KEYS[1], 'anonymous', anon) end
if redis.call('HINCRBY', KEYS[1], 'files', files) == files then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return new
"""


def script(name, path=None):
    path = path or SCRIPTS_H
    m = re.search(r"\b%s = R\"lua\((.*?)\)lua\";" % re.escape(name), Path(path).read_text(), re.S)
    return m.group(1)


PREV = [None]  # scripts.h of the previous checkout (--prev)
SESSION_FILES = [1]  # consecutive events per identity (--session-files; 8: KohakuHub's shape)
BATCHES = [(1, 16, 64)]  # events per batch of the batch-id comparison (--batches)
FOLD_EVERY = [500]  # batches between two folds of the breakdown log (--fold-every)
V2 = [None]  # scripts.h of a checkout whose events each carry a path (--v2, e.g. c75bf62)
PATHS = ["config.json", "model.safetensors", "tokenizer.json", "README.md",
         "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
         "generation_config.json", "(git)"]


FAMILIES = ["transformers", "curl", "git"]


def breakdown(first, n, paths_=None, families_=None):
    """What the module sends for events first..first+n-1 (event i fetches path i mod 8 with
    family i mod 3): the batch's distinct families and paths summed into one breakdown-log
    record; one letter per event names its family's index (all anonymous: 96 + index).
    Returns (letters, record)."""
    paths_, families_ = paths_ or PATHS, families_ or FAMILIES
    paths, fams, letters = {}, {}, []
    for j in range(first, first + n):
        p = paths_[j % len(paths_)]
        paths[p] = paths.get(p, 0) + 1
        f = families_[j % len(families_)]
        if f not in fams:
            fams[f] = [chr(97 + len(fams)), 0]
        fams[f][1] += 1
        letters.append(fams[f][0])
    rec = "".join(f"f{f}\t{c}\n" for f, (_, c) in fams.items()) + \
        "".join(f"p{p}\t{c}\n" for p, c in paths.items())
    return "".join(letters), rec


def keys7(bucket):
    return (f"hs:{TAG}:d:{DAY}", f"hs:{TAG}:days", f"hs:{TAG}:s:{WINDOW_MS}:{bucket}",
            f"hs:{TAG}:s:{WINDOW_MS}:{bucket - 1}", f"hs:{TAG}:b", f"hs:{TAG}:p:{DAY}",
            f"hs:{TAG}:c:{DAY}")


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def cpu(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def drain(sock, replies):
    """Reads `replies` simple replies (integers or errors) off the socket."""
    buf = b""
    got = 0
    while got < replies:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        buf += chunk
        got += buf.count(b"\r\n")
        if b"-" in buf[:1] or b"\r\n-" in buf:
            raise SystemExit("redis error: " + buf[:200].decode(errors="replace"))
        buf = buf[buf.rfind(b"\r\n") + 2:]


def pin(pid, cpu):
    """Keeps Redis and this client on different CPUs (when there are two), so that the
    variants do not differ by where the scheduler happened to put them."""
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(pid, {cpu})


def run(variant, batch, hex_len, events, tmp):
    rs = RedisServer(tmp)
    pin(rs.pid, 1)
    pin(0, 0)
    try:
        sock = socket.create_connection(("127.0.0.1", rs.port))
        rc = rs.client()
        body = {"keys": KEY_PER_SESSION,
                "prev": script("kRecordBatch", PREV[0]) if PREV[0] else None,
                "v2": script("kRecordBatch", V2[0]) if V2[0] else None}.get(
                    variant) or script("kRecordBatch")
        sha = rc.execute("SCRIPT", "LOAD", body)
        rc.close()
        people = [os.urandom(hex_len // 2).hex() for _ in range(events // SESSION_FILES[0] + 1)]
        ids = [people[i // SESSION_FILES[0]] for i in range(events)]
        cmds = []
        if variant == "set":  # the floor: only the session keys, plain commands, no Lua
            for i in ids:
                cmds.append(resp("SET", f"hs:{TAG}:s:{i}", 1, "PX", WINDOW_MS, "NX"))
        elif variant == "keys":
            for k in range(0, events, batch):
                part = ids[k:k + batch]
                cmds.append(resp("EVALSHA", sha, 2 + len(part), f"hs:{TAG}:d:{DAY}",
                                 f"hs:{TAG}:days", *[f"hs:{TAG}:s:{i}" for i in part],
                                 WINDOW_MS, RETENTION_S, DAY, *["0"] * len(part)))
        elif variant == "prev":  # batch ids, before per-file and per-client counts: 5 keys
            now = time.time_ns() // 1_000_000
            bucket = now // WINDOW_MS
            stream = "%08x%08x" % (now // 1000, 42)
            for seq, k in enumerate(range(0, events, batch), 1):
                part = ids[k:k + batch]
                cmds.append(resp("EVALSHA", sha, 5, f"hs:{TAG}:d:{DAY}", f"hs:{TAG}:days",
                                 f"hs:{TAG}:s:{WINDOW_MS}:{bucket}",
                                 f"hs:{TAG}:s:{WINDOW_MS}:{bucket - 1}", f"hs:{TAG}:b",
                                 WINDOW_MS, RETENTION_S, DAY, stream, seq, "0" * len(part),
                                 *part, *[now] * len(part)))
        elif variant == "v2":  # per-event paths and global family letters (c75bf62)
            now = time.time_ns() // 1_000_000
            bucket = now // WINDOW_MS
            stream = "%08x%08x" % (now // 1000, 42)
            for seq, k in enumerate(range(0, events, batch), 1):
                part = ids[k:k + batch]
                paths = [PATHS[(k + j) % len(PATHS)] for j in range(len(part))]
                fams = "".join("bhf"[(k + j) % 3] for j in range(len(part)))
                cmds.append(resp("EVALSHA", sha, 7, *keys7(bucket),
                                 WINDOW_MS, RETENTION_S, DAY, stream, seq, "0" * len(part),
                                 fams, 1000, *part, *[now] * len(part), *paths))
        else:  # "noid", "id", "id+dirty": the current script, per-event times
            now = time.time_ns() // 1_000_000
            bucket = now // WINDOW_MS
            stream = "%08x%08x" % (now // 1000, 42) if variant != "noid" else ""
            for seq, k in enumerate(range(0, events, batch), 1):
                part = ids[k:k + batch]
                letters, rec = breakdown(k, len(part))
                cmds.append(resp("EVALSHA", sha, 8, *keys7(bucket), f"hs:{TAG}:x:{DAY}",
                                 WINDOW_MS, RETENTION_S, DAY, stream, seq, letters, 0,
                                 1000, 1 << 20, *part,
                                 *[now] * len(part), rec))
                if variant == "id+dirty":
                    cmds.append(resp("SADD", "hs:{dirty:3}", TAG[1:-1]))
                if FOLD_EVERY[0] and seq % FOLD_EVERY[0] == 0:
                    # The daemon's fold takes the breakdown log every fold.interval (a
                    # RENAME; here a DEL). Without it the log passes its 1 MiB limit
                    # and Redis compacts it (--fold-every 0 measures that mode).
                    cmds.append(resp("DEL", f"hs:{TAG}:x:{DAY}"))
        before = cpu(rs.pid)
        chunk = 200  # commands per write, like a module flush under load
        for k in range(0, len(cmds), chunk):
            sock.sendall(b"".join(cmds[k:k + chunk]))
            drain(sock, len(cmds[k:k + chunk]))
        used = cpu(rs.pid) - before
        rc = rs.client()
        files = int(rc.execute("HGET", f"hs:{TAG}:d:{DAY}", "files") or 0)
        downloads = int(rc.execute("HGET", f"hs:{TAG}:d:{DAY}", "downloads") or 0)
        rc.close()
        if variant != "set":
            sessions = -(-events // SESSION_FILES[0])
            assert (files, downloads) == (events, sessions), (files, downloads, events, sessions)
        sock.close()
        return used * 1e6 / events
    finally:
        rs.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--prev", default=None, help="scripts.h of a previous checkout")
    ap.add_argument("--v2", default=None,
                    help="scripts.h of a checkout whose events each carry a path (c75bf62)")
    ap.add_argument("--fold-every", type=int, default=500,
                    help="batches between two folds of the breakdown log (0: never, so "
                    "Redis compacts it past 1 MiB)")
    ap.add_argument("--session-files", type=int, default=1,
                    help="consecutive events per identity: 1, every event opens a session; "
                    "8, KohakuHub's shape (snapshot_download of 8 files)")
    ap.add_argument("--batches", default="1,16,64",
                    help="events per batch of the batch-id comparison, comma-separated")
    ap.add_argument("--only-ids", action="store_true",
                    help="only the batch-id comparison (prev / noid / id / id+dirty)")
    args = ap.parse_args()
    PREV[0], V2[0], FOLD_EVERY[0] = args.prev, args.v2, args.fold_every
    SESSION_FILES[0] = args.session_files
    BATCHES[0] = tuple(int(b) for b in args.batches.split(","))
    ids_variants = [(v, b, 16) for b in BATCHES[0] for v in
                    (["prev"] if args.prev else []) + (["v2"] if args.v2 else []) +
                    ["noid", "id", "id+dirty"]]
    variants = ids_variants if args.only_ids else ids_variants + [
        ("keys", 64, 16), ("keys", 256, 16), ("set", 1, 16)]
    print(f"{args.events} events per run, {args.session_files} per identity, median of "
          f"{args.repeat} runs; "
          "Redis CPU µs per event")
    results = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="hubstats-redis-bench-") as tmp:
        for i in range(args.repeat):  # interleaved: every variant once per round
            for v in variants:
                results[v].append(run(*v, args.events, Path(tmp) / f"r{i}"))
        for (variant, batch, hex_len), xs in results.items():
            label = {"set": "plain SET NX PX only",
                     "keys": f"key per session, {batch}"}.get(
                         variant, f"{variant} batch of {batch}")
            print(f"  {label:24} identity {hex_len} hex: {statistics.median(xs):5.2f} µs "
                  f"(runs: {', '.join(f'{x:.2f}' for x in xs)})", flush=True)


if __name__ == "__main__":
    main()
