#!/usr/bin/python3
"""Redis CPU per recorded event: kRecord once per event (what the module sent before)
versus kRecordBatch per batch of one repo and day (what it sends now), and the effect
of the identity length in session keys. Each variant gets a fresh redis-server and
N events with new identities (every event opens a session, as in bench/module), sent
pipelined; Redis's CPU time comes from /proc/<pid>/schedstat, so the client's speed
does not matter.

Usage: bench/module/redis_scripts.py [--events N] [--repeat R]"""
import argparse
import os
import re
import socket
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from harness.redis import RedisServer  # noqa: E402

SCRIPTS_H = HERE.parents[1] / "shared/include/hubstats/scripts.h"
TAG = "{model/demo/tiny-model}"
DAY = "20261126"
WINDOW_MS, RETENTION_S = 1_800_000, 14 * 86400


# NOT used by the module: a prototype of another session layout, measured to see what
# the per-session key costs. Sessions of a repo live as fields identity -> first-seen ms
# in one hash per window-long time bucket (current and previous bucket are checked), so
# a batch costs two HMGET and one HSET instead of one SET per event.
BUCKET_PROTOTYPE = """
local w, now = tonumber(ARGV[1]), tonumber(ARGV[4])
local n = (#ARGV - 4) / 2
local ids = {}
for i = 1, n do ids[i] = ARGV[3 + 2 * i] end
local cur = redis.call('HMGET', KEYS[3], unpack(ids))
local prev = redis.call('HMGET', KEYS[4], unpack(ids))
local set, seen, auth, anon = {}, {}, 0, 0
for i = 1, n do
  local id = ids[i]
  if not (cur[i] or seen[id] or (prev[i] and tonumber(prev[i]) > now - w)) then
    seen[id] = true
    set[#set + 1] = id
    set[#set + 1] = ARGV[4]
    if ARGV[4 + 2 * i] == '1' then auth = auth + 1 else anon = anon + 1 end
  end
end
if #set > 0 then
  redis.call('HSET', KEYS[3], unpack(set))
  redis.call('PEXPIRE', KEYS[3], 2 * w + 60000)
end
local new = auth + anon
if new > 0 then redis.call('HINCRBY', KEYS[1], 'downloads', new) end
if auth > 0 then redis.call('HINCRBY', KEYS[1], 'authenticated', auth) end
if anon > 0 then redis.call('HINCRBY', KEYS[1], 'anonymous', anon) end
if redis.call('HINCRBY', KEYS[1], 'files', n) == n then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return new
"""


def script(name):
    m = re.search(r"\b%s = R\"lua\((.*?)\)lua\";" % re.escape(name), SCRIPTS_H.read_text(), re.S)
    return m.group(1)


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


def run(variant, batch, hex_len, events, tmp):
    rs = RedisServer(tmp)
    try:
        sock = socket.create_connection(("127.0.0.1", rs.port))
        name = "kRecord" if variant in ("record", "set") else "kRecordBatch"
        rc = rs.client()
        sha = rc.execute("SCRIPT", "LOAD",
                         BUCKET_PROTOTYPE if variant == "bucket" else script(name))
        rc.close()
        ids = [os.urandom(hex_len // 2).hex() for _ in range(events)]
        cmds = []
        if variant == "set":  # the floor: only the session keys, plain commands, no Lua
            for i in ids:
                cmds.append(resp("SET", f"hs:{TAG}:s:{i}", 1, "PX", WINDOW_MS, "NX"))
        elif variant == "bucket":
            now, bucket = 1_790_000_000_000, 1_790_000_000_000 // WINDOW_MS
            for k in range(0, events, batch):
                part = ids[k:k + batch]
                flat = [x for i in part for x in (i, "0")]
                cmds.append(resp("EVALSHA", sha, 4, f"hs:{TAG}:d:{DAY}", f"hs:{TAG}:days",
                                 f"hs:{TAG}:sb:{bucket}", f"hs:{TAG}:sb:{bucket - 1}",
                                 WINDOW_MS, RETENTION_S, DAY, now, *flat))
        elif variant == "record":
            for i in ids:
                cmds.append(resp("EVALSHA", sha, 3, f"hs:{TAG}:s:{i}", f"hs:{TAG}:d:{DAY}",
                                 f"hs:{TAG}:days", WINDOW_MS, 0, RETENTION_S, DAY))
        else:
            for k in range(0, events, batch):
                part = ids[k:k + batch]
                cmds.append(resp("EVALSHA", sha, 2 + len(part), f"hs:{TAG}:d:{DAY}",
                                 f"hs:{TAG}:days", *[f"hs:{TAG}:s:{i}" for i in part],
                                 WINDOW_MS, RETENTION_S, DAY, *["0"] * len(part)))
        before = cpu(rs.pid)
        chunk = 200  # commands per write, like a module flush under load
        for k in range(0, len(cmds), chunk):
            sock.sendall(b"".join(cmds[k:k + chunk]))
            drain(sock, len(cmds[k:k + chunk]))
        used = cpu(rs.pid) - before
        rc = rs.client()
        files = int(rc.execute("HGET", f"hs:{TAG}:d:{DAY}", "files") or 0)
        rc.close()
        assert files == (0 if variant == "set" else events), (files, events)
        sock.close()
        return used * 1e6 / events
    finally:
        rs.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    variants = [("record", 1, 32), ("record", 1, 16), ("batch", 1, 16), ("batch", 16, 16),
                ("batch", 64, 16), ("batch", 256, 16), ("batch", 64, 32), ("set", 1, 16),
                ("bucket", 64, 16)]
    print(f"{args.events} events with new identities per run, median of {args.repeat} runs; "
          "Redis CPU µs per event")
    with tempfile.TemporaryDirectory(prefix="hubstats-redis-bench-") as tmp:
        for variant, batch, hex_len in variants:
            xs = [run(variant, batch, hex_len, args.events, Path(tmp) / f"r{i}")
                  for i in range(args.repeat)]
            label = {"record": "kRecord per event", "set": "plain SET NX PX only",
                     "bucket": f"bucket prototype of {batch}"}.get(
                variant, f"kRecordBatch of {batch}")
            print(f"  {label:22} identity {hex_len} hex: {statistics.median(xs):5.2f} µs "
                  f"(runs: {', '.join(f'{x:.2f}' for x in xs)})", flush=True)


if __name__ == "__main__":
    main()
