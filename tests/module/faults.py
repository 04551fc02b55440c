"""Fault injection and ground truth for the delivery tests: a TCP relay in front of
Redis that cuts connections after forwarding the commands but before the reply,
download traffic with one new identity per request, and nginx's own access log as
the record of what was served."""
import random
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

RESOLVE = re.compile(r'"GET (/(?:models|datasets)/demo/[^/ ]+)/resolve/[^ ]+ HTTP/[0-9.]+" (\d+) ')


class CutRelay:
    """Listens on a free port and relays each connection to Redis. For the first
    `cuts` connections it forwards `keep` reply chunks (keep random in 0..3, so
    SCRIPT LOAD replies and some batch replies pass), then drops the next chunk and
    closes both sides: Redis ran the commands, the client never hears of it."""

    def __init__(self, redis_port: int, cuts: int, seed: int = 1):
        self.redis_port = redis_port
        self.cuts_left = cuts
        self.cut = 0  # connections cut so far
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stop = False
        self._socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.redis_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            self._socks += [client, upstream]
            with self.lock:
                keep = self.rng.randint(0, 3) if self.cuts_left > 0 else None
                if keep is not None:
                    self.cuts_left -= 1
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, keep), daemon=True).start()

    def _pump(self, src, dst, keep):
        n = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if keep is not None and n >= keep:
                    with self.lock:
                        self.cut += 1
                    break
                dst.sendall(data)
                n += 1
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self._stop = True
        self.sock.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass


REPO_PATHS = ["/models/demo/tiny-model", "/datasets/demo/tiny-dataset"]
FILES = {"/models/demo/tiny-model": "config.json", "/datasets/demo/tiny-dataset": "data.csv"}


def download(ng, i: int):
    """One download by a new identity (its own address); i picks the repo."""
    repo = REPO_PATHS[i % len(REPO_PATHS)]
    ip = f"10.{60 + i // 65536 % 100}.{i // 256 % 256}.{i % 256}"
    r = requests.get(ng.url(f"{repo}/resolve/main/{FILES[repo]}"),
                     headers={"X-Forwarded-For": ip, "User-Agent": "fault-test",
                              "Connection": "close"}, timeout=30)
    return r.status_code


def traffic(ng, start: int, count: int, threads: int = 8) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda i: download(ng, i), range(start, start + count)))


def served(access_logs) -> dict:
    """Countable downloads per repo path in nginx's access logs: 200 responses to a
    resolve URL (every one here is a new identity, so a download and a file)."""
    out = {}
    for path in access_logs:
        for m in RESOLVE.finditer(path.read_text()):
            if m.group(2) == "200":
                out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def counted(rc) -> dict:
    """files and downloads per repo path, summed over all day hashes in Redis."""
    out = {}
    for k in rc.keys("hs:{*}:d:*"):
        tag = k[k.index("{") + 1:k.index("}")]
        typ, ns, name = tag.split("/")
        path = f"/{typ}s/{ns}/{name}"
        h = rc.hgetall(k)
        c = out.setdefault(path, {"files": 0, "downloads": 0})
        c["files"] += int(h.get("files", 0))
        c["downloads"] += int(h.get("downloads", 0))
    return out


def assert_exact(rc, access_logs):
    """0 lost, 0 doubled: Redis counts exactly what nginx served."""
    want = served(access_logs)
    got = counted(rc)
    assert sum(want.values()) > 0
    assert got == {p: {"files": n, "downloads": n} for p, n in want.items()}, (got, want)
