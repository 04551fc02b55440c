"""scripts/fleet-up end to end: three nginx nodes with the module on a Redis Cluster of
three masters and three replicas, two hubstatsd, one PostgreSQL. Counts through any node
are the counts one node would give, and they survive a master failover, a daemon killed
and an nginx node stopped mid-traffic. Ground truth: the nodes' own access logs.

Uses the ctest build (HUBSTATS_FLEET_NO_BUILD=1) and its own state directory."""
import ipaddress
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

from harness.ports import wait_until  # noqa: E402
from harness.stack_script import read_env, stack_script  # noqa: E402

NODES = ("http://127.0.0.1:28180", "http://127.0.0.1:28181", "http://127.0.0.1:28182")
DAEMONS = (28191, 28192)
REDIS = tuple(range(27001, 27007))
PORTS = (28180, 28181, 28182, *DAEMONS, 25532, *REDIS)
REPO = "models/demo/tiny-model"
FILE = f"/{REPO}/resolve/main/config.json"
# A fresh identity per request: real_ip trusts X-Forwarded-For from loopback.
_ips = (str(ipaddress.IPv4Address(a)) for a in itertools.count(int(ipaddress.IPv4Address("10.0.0.1"))))
_ips_lock = threading.Lock()


def new_ip():
    with _ips_lock:
        return next(_ips)


def nginx_alerts(run):
    return [l for i in range(3) if (run / f"logs/nginx-{i}/nginx-error.log").exists()
            for l in (run / f"logs/nginx-{i}/nginx-error.log").read_text().splitlines()
            if "[alert]" in l]


@pytest.fixture(scope="module")
def fleet():
    with stack_script("fleet-up", "fleet-down", "HUBSTATS_FLEET_DIR", "HUBSTATS_FLEET_NO_BUILD",
                      PORTS, after_down=nginx_alerts) as (run, out):
        for n in NODES:
            assert n in out
        yield {"run": run, "tokens": read_env(run / "tokens.env")}


def today(node, repo=REPO):
    """(downloads, files) of the last two days through one node (a run may span midnight)."""
    r = requests.get(f"{node}/api/{repo}/stats/recent", params={"days": 2}, timeout=10)
    assert r.status_code == 200, r.text
    rows = r.json()["stats"]
    return sum(x["downloads"] for x in rows), sum(x["files"] for x in rows)


def settle(expect, what):
    """Polls every node until each gives `expect`; returns what they gave."""
    def ok():
        got = [today(n) for n in NODES]
        return got if all(g == expect for g in got) else None
    try:
        return wait_until(ok, timeout=60, interval=0.25, what=what)
    except TimeoutError:
        got = [today(n) for n in NODES]
        pytest.fail(f"{what}: expected {expect} on every node, got {got}")


def served(run, nodes=(0, 1, 2), path=FILE):
    """From the access logs: (distinct client addresses, requests) answered 200 for path."""
    ips, n = set(), 0
    pat = re.compile(r'^(\S+) .*"GET (\S+) HTTP/[\d.]+" (\d{3}) ')
    for i in nodes:
        log = run / f"logs/nginx-{i}/nginx-access.log"
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            m = pat.match(line)
            if m and m.group(2) == path and m.group(3) == "200":
                ips.add(m.group(1))
                n += 1
    return len(ips), n


def fetch(node, ip):
    r = requests.get(node + FILE, headers={"X-Forwarded-For": ip}, timeout=10)
    assert r.status_code == 200
    return r


def test_one_identity_through_every_node_is_one_download(fleet):
    before = today(NODES[0])
    ip = new_ip()
    for n in NODES:
        fetch(n, ip)
    settle((before[0] + 1, before[1] + 3), "one identity through three nodes")


def test_round_robin_gives_one_node_counts_everywhere(fleet):
    before = today(NODES[0])
    ips = [new_ip() for _ in range(60)]
    # Each identity fetches twice (inside its window), on two different nodes.
    for k, ip in enumerate(ips):
        fetch(NODES[k % 3], ip)
        fetch(NODES[(k + 1) % 3], ip)
    settle((before[0] + 60, before[1] + 120), "a round-robin workload")


class Traffic:
    """Background downloads through the given nodes, each by a new identity, until
    stopped. Counts what was answered 200 (the access logs say the same)."""

    def __init__(self, nodes, threads=4):
        self.nodes, self.ok, self.errors = list(nodes), 0, 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i):
        s = requests.Session()
        k = i
        while not self._stop.is_set():
            node = self.nodes[k % len(self.nodes)]
            k += 1
            try:
                r = s.get(node + FILE, headers={"X-Forwarded-For": new_ip()}, timeout=5)
                with self._lock:
                    if r.status_code == 200:
                        self.ok += 1
                    else:
                        self.errors += 1
            except requests.RequestException:
                with self._lock:
                    self.errors += 1
                time.sleep(0.01)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, timeout=10).stdout


def master_port_of(key):
    """The port of the live master serving key's slot, as a live node sees it; None
    while no live master serves it (between a master's death and the promotion)."""
    for port in REDIS:
        nodes = redis_cli(port, "cluster", "nodes")
        if nodes.strip():
            break
    else:
        return None
    slot = int(redis_cli(port, "cluster", "keyslot", key).strip())
    for line in nodes.splitlines():
        f = line.split()
        if "master" in f[2] and "fail" not in f[2]:
            for rng in f[8:]:
                if "-" in rng and not rng.startswith("["):
                    a, b = map(int, rng.split("-"))
                elif rng.isdigit():
                    a = b = int(rng)
                else:
                    continue
                if a <= slot <= b:
                    return int(f[1].split(":")[1].split("@")[0])
    return None


def test_master_failover_under_traffic_loses_nothing(fleet):
    run = fleet["run"]
    before = today(NODES[0])
    ips0, n0 = served(run)
    port = master_port_of("hs:{model/demo/tiny-model}:d:20260101")
    pid = int((run / f"redis/{port}/redis.pid").read_text())
    with Traffic(NODES) as t:
        wait_until(lambda: t.ok >= 200, timeout=60, what="traffic before the kill")
        os.kill(pid, signal.SIGKILL)
        # The replica takes over after cluster-node-timeout (2 s) and the election.
        wait_until(lambda: master_port_of("hs:{model/demo/tiny-model}:d:20260101") not in (port, None),
                   timeout=60, interval=0.2, what="the replica to take over")
        mark = t.ok
        wait_until(lambda: t.ok >= mark + 200, timeout=60, what="traffic after the failover")
    ips1, n1 = served(run)
    assert t.ok == n1 - n0  # what the clients got is what the logs say
    settle((before[0] + (ips1 - ips0), before[1] + (n1 - n0)), "counts after the failover")


def test_a_daemon_killed_every_node_keeps_answering(fleet):
    run = fleet["run"]
    before = today(NODES[0])
    pid = int((run / "hubstatsd-0.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    for _ in range(10):
        for n in NODES:
            r = requests.get(f"{n}/api/{REPO}/stats", timeout=10)
            assert r.status_code == 200, (n, r.status_code, r.text)
    ips = [new_ip() for _ in range(30)]
    for k, ip in enumerate(ips):
        fetch(NODES[k % 3], ip)
    settle((before[0] + 30, before[1] + 30), "counts with one daemon left")


def test_an_nginx_node_stopped_mid_traffic_loses_nothing(fleet):
    run = fleet["run"]
    before = today(NODES[0])
    ips0, n0 = served(run)
    node = run / "nginx-2"
    with Traffic([NODES[2]], threads=4) as t:
        wait_until(lambda: t.ok >= 300, timeout=60, what="traffic on node 2")
        # A fast stop (SIGTERM): the worker's last flush delivers or spools what it holds.
        subprocess.run(["/usr/sbin/nginx", "-p", str(node), "-c", str(node / "nginx.conf"),
                        "-s", "stop"], check=True, timeout=10)
        wait_until(lambda: not (node / "nginx.pid").exists(), timeout=30,
                   what="nginx node 2 to stop")
    ips1, n1 = served(run)
    assert n1 - n0 >= 300
    # Nothing it served is lost: what its workers held at exit went to Redis or to the
    # spool, which the node replays when it is back.
    subprocess.run(["/usr/sbin/nginx", "-p", str(node), "-c", str(node / "nginx.conf")],
                   check=True, timeout=10)
    settle((before[0] + (ips1 - ips0), before[1] + (n1 - n0)), "counts after the stop")
