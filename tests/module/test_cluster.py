"""hubstats_redis_cluster against a real Redis Cluster (three masters, one replica
each, tests/harness/redis_cluster.py): counts exact for repos whose slots span every
master, a master SIGKILLed under traffic (its replica promoted), a slot moved under
traffic (ASK while it migrates, MOVED after), a replica that lags when its master
dies (only WAIT saves those batches), and the configuration errors. Ground truth:
nginx's access log (every 200 on a resolve URL is a file; each address is one
identity, so distinct addresses per repo are the downloads)."""
import os
import re
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import hub
from harness.nginx import nginx_t
from harness.ports import wait_until
from harness.redis_cluster import RedisCluster, key_slot
from hub import Client

REPOS = [f"c{i:02d}" for i in range(36)]  # models/demo/cNN
LINE = re.compile(r'^(\S+) .*"GET /models/demo/([^/ ]+)/resolve/[^ ]+ HTTP/[0-9.]+" (\d+) ', re.M)


def tag(repo: str) -> str:
    return f"model/demo/{repo}"


@pytest.fixture
def cluster(tmp_path):
    with RedisCluster(tmp_path / "cluster", masters=3, replicas=1, node_timeout=1000) as rc:
        yield rc


@pytest.fixture
def many_repos(hub_root):
    for r in REPOS:
        p = hub_root / "models" / "demo" / r
        p.mkdir(parents=True, exist_ok=True)
        (p / "config.json").write_bytes(b'{"model_type": "tiny"}\n')
    return hub_root


def cluster_conf(seeds, secret, root, main_extra=""):
    class Single:  # hub.http_conf writes hubstats_redis: replaced below
        address = "127.0.0.1:1"
    text = hub.http_conf(Single, secret, root, main_extra=main_extra)
    return text.replace("hubstats_redis 127.0.0.1:1;",
                        "hubstats_redis_cluster " + " ".join(seeds) + ";")


FAST = """
  hubstats_command_timeout 400ms;
  hubstats_connect_timeout 300ms;
  hubstats_reconnect_backoff 20ms 200ms;
  hubstats_flush_interval 2ms;"""


def fetch(ng, repo: str, ip: str):
    r = requests.get(ng.url(f"/models/demo/{repo}/resolve/main/config.json"),
                     headers={"X-Forwarded-For": ip, "User-Agent": "cluster-test",
                              "Connection": "close"}, timeout=30)
    return r.status_code


def traffic(ng, reqs, threads=8):
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda a: fetch(ng, *a), reqs))


def new_identities(start, count, repos):
    """(repo, address) pairs: request i by a new identity, to repos[i % len]."""
    return [(repos[i % len(repos)], f"10.{70 + i // 65536 % 100}.{i // 256 % 256}.{i % 256}")
            for i in range(start, start + count)]


def expected(ng) -> dict:
    """Per repo from the access log: files (200s) and downloads (distinct addresses;
    every test's traffic stays inside one session window)."""
    files = defaultdict(int)
    who = defaultdict(set)
    for m in LINE.finditer((ng.prefix / "access.log").read_text()):
        if m.group(3) == "200":
            files[m.group(2)] += 1
            who[m.group(2)].add(m.group(1))
    return {r: {"files": files[r], "downloads": len(who[r])} for r in files}


def counted(rc) -> dict:
    out = {}
    with rc.client() as c:
        for k in rc.keys("hs:{model/demo/*}:d:*"):
            repo = k[k.index("{") + 1:k.index("}")].split("/")[2]
            h = c.hgetall(k)
            e = out.setdefault(repo, {"files": 0, "downloads": 0})
            e["files"] += int(h.get("files", 0))
            e["downloads"] += int(h.get("downloads", 0))
    return out


def dirty_marked(rc) -> set:
    out = set()
    with rc.client() as c:
        for shard in range(16):
            out |= set(c.execute("SMEMBERS", f"hs:{{dirty:{shard}}}") or [])
    return out


def per_worker(ng, workers=2) -> list:
    """The status of every worker (requests land on either: ask until each answered)."""
    seen = {}
    c = Client(ng)
    for _ in range(200):
        s = c.status()
        seen[s["pid"]] = s
        if len(seen) == workers:
            break
    assert len(seen) == workers, "not every worker answered the status"
    return list(seen.values())


def settle(ng, workers=2):
    c = Client(ng)
    for _ in range(2 * workers):  # whichever worker answers: each must drain
        c.wait_status(lambda s: s["queued"] == 0, "the outbox to drain", timeout=60)


def assert_exact(ng, rc):
    """0 lost, 0 doubled, per repo; every repo counted is marked dirty for the fold."""
    want = expected(ng)
    assert sum(v["files"] for v in want.values()) > 0
    deadline = time.monotonic() + 30
    got = counted(rc)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.2)
        got = counted(rc)
    assert got == want, {r: (got.get(r), want.get(r)) for r in set(got) | set(want)
                         if got.get(r) != want.get(r)}
    assert {tag(r) for r in want} <= dirty_marked(rc)


def masters_of(rc, repos):
    with rc.client() as c:
        return {c.node_of(f"hs:{{{tag(r)}}}:b") for r in repos}


def test_counts_exact_across_all_masters(make_nginx, cluster, secret_file, many_repos):
    assert len(masters_of(cluster, REPOS)) == 3, "the repos must span all three masters"
    # The dirty shards too are spread over the masters.
    with cluster.client() as c:
        assert len({c.node_of(f"hs:{{dirty:{s}}}") for s in range(16)}) == 3
    ng = make_nginx(cluster_conf(cluster.seeds[:1], secret_file, many_repos, FAST), workers=2)
    c = Client(ng)
    s = c.wait_status(lambda s: s.get("redis_connected") == 1, "the cluster to be known")
    assert s["redis_cluster"] == 1
    assert sum(v for k, v in s.items() if k.endswith(" master")) == 3
    reqs = new_identities(0, 1500, REPOS)
    # Sessions: one identity fetches each repo three times: 3 files, 1 download.
    reqs += [(r, "10.99.0.1") for r in REPOS for _ in range(3)]
    assert set(traffic(ng, reqs)) == {200}
    settle(ng)
    assert_exact(ng, cluster)
    want = expected(ng)
    assert want["c00"] == {"files": 1500 // 36 + 1 + 3, "downloads": 1500 // 36 + 1 + 1}
    ng.stop()
    summaries = hub.exit_summaries(ng)
    assert sum(x["sent"] for x in summaries) == sum(x["counted"] for x in summaries) == len(reqs)
    assert sum(x["failed"] + x["dropped"] for x in summaries) == 0


def run_with_fault(ng, fault, total=2400, busy="c00"):
    """Traffic (half of it to `busy`) in the background; fault() runs after the first
    third. Returns the status codes."""
    reqs = new_identities(0, total, REPOS)
    reqs = [(busy if i % 2 == 0 else r, ip) for i, (r, ip) in enumerate(reqs)]
    codes = []
    started = threading.Event()

    def run():
        codes.extend(traffic(ng, reqs[:total // 3], threads=4))
        started.set()
        codes.extend(traffic(ng, reqs[total // 3:], threads=4))

    t = threading.Thread(target=run)
    t.start()
    try:
        assert started.wait(120)
        fault()
    finally:
        t.join(300)
    return codes


def test_master_killed_under_traffic_loses_nothing(make_nginx, cluster, secret_file, many_repos):
    ng = make_nginx(cluster_conf(cluster.seeds, secret_file, many_repos, FAST), workers=2)
    Client(ng).wait_status(lambda s: s.get("redis_connected") == 1, "the cluster to be known")
    victim = cluster.master_of(f"hs:{{{tag('c00')}}}:b")
    codes = run_with_fault(ng, lambda: cluster.fail_over_by_kill(victim))
    assert codes == [200] * 2400
    assert cluster.master_of(f"hs:{{{tag('c00')}}}:b").port != victim.port
    settle(ng)
    assert_exact(ng, cluster)
    assert "lost the redis connection to 127.0.0.1:%d" % victim.port in ng.error_log_text()


def replica_listed(rc, master) -> bool:
    """Every running master's CLUSTER SLOTS lists a replica for master's slots (the map
    lists one only once gossip has carried its replication offset)."""
    for n in rc.masters():
        with n.client() as c:
            rows = c.execute("CLUSTER", "SLOTS")
        if not any(int(r[2][1]) == master.port and len(r) > 3 for r in rows):
            return False
    return True


def test_replica_behind_when_its_master_dies(make_nginx, tmp_path, secret_file, many_repos):
    """The busy repo's master loses its replica's link (CLIENT KILL TYPE replica, the
    replica paused so it cannot reconnect) and keeps acknowledging writes; then it is
    SIGKILLed and the replica, resumed, is promoted without those writes. Batches the
    module confirmed on the master's word alone are lost; WAIT kept them unconfirmed,
    so they are sent again to the promoted replica."""
    with RedisCluster(tmp_path / "cluster", masters=3, replicas=1, node_timeout=1500) as rc:
        ng = make_nginx(cluster_conf(rc.seeds, secret_file, many_repos, FAST), workers=2)
        Client(ng).wait_status(lambda s: s.get("redis_connected") == 1, "the cluster to be known")
        victim = rc.master_of(f"hs:{{{tag('c00')}}}:b")
        with victim.client() as v:
            info = v.execute("INFO", "replication")
        port = int(re.search(r"slave0:ip=[^,]+,port=(\d+)", info).group(1))
        replica = next(n for n in rc.nodes if n.port == port)

        def fault():
            wait_until(lambda: replica_listed(rc, victim), timeout=30,
                       what="the slot map to list the replica")
            time.sleep(1.2)  # the module's map too (fetched every second)
            os.kill(replica.pid, signal.SIGSTOP)
            try:
                with victim.client() as v:
                    assert v.execute("CLIENT", "KILL", "TYPE", "replica") == 1
                time.sleep(0.8)  # writes acknowledged, on no replica
                victim.kill()
            finally:
                os.kill(replica.pid, signal.SIGCONT)
            rc.wait_ok(60)

        codes = run_with_fault(ng, fault)
        assert codes == [200] * 2400
        assert rc.master_of(f"hs:{{{tag('c00')}}}:b").port == replica.port
        settle(ng)
        assert_exact(ng, rc)
        assert sum(s["redis_unreplicated"] for s in per_worker(ng)) > 0


def move_slot(rc, slot, src, dst, pause_s=0.0, on_migrating=None):
    """Moves one slot as redis-cli --cluster reshard does: IMPORTING on dst, MIGRATING
    on src, MIGRATE its keys one by one (pause_s between them), then SETSLOT NODE
    everywhere. on_migrating() runs once every key is on dst and before the end."""
    with src.client() as s, dst.client() as d:
        src_id, dst_id = s.execute("CLUSTER", "MYID"), d.execute("CLUSTER", "MYID")
        d.execute("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        s.execute("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        while True:
            keys = s.execute("CLUSTER", "GETKEYSINSLOT", slot, 10)
            if not keys:
                break
            for k in keys:
                s.execute("MIGRATE", "127.0.0.1", dst.port, k, 0, 5000)
                time.sleep(pause_s)
        if on_migrating:
            on_migrating()
        d.execute("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        s.execute("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    for n in rc.masters():
        with n.client() as c:
            c.execute("CLUSTER", "SETSLOT", slot, "NODE", dst_id)


def test_slot_moved_under_traffic_ask_then_moved(make_nginx, cluster, secret_file, many_repos):
    ng = make_nginx(cluster_conf(cluster.seeds, secret_file, many_repos, FAST), workers=2)
    c = Client(ng)
    c.wait_status(lambda s: s.get("redis_connected") == 1, "the cluster to be known")
    busy = "c00"
    slot = key_slot(tag(busy))
    src = cluster.master_of(f"hs:{{{tag(busy)}}}:b")
    dst = next(n for n in cluster.masters() if n.port != src.port)
    asked = []

    def wait_for_ask():
        # Every key is on dst now: the next batch of the repo is answered ASK.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not asked:
            if sum(s["redis_asked"] for s in per_worker(ng)) > 0:
                asked.append(True)
            time.sleep(0.05)

    codes = run_with_fault(ng, lambda: move_slot(cluster, slot, src, dst, pause_s=0.02,
                                                 on_migrating=wait_for_ask))
    assert codes == [200] * 2400
    assert cluster.master_of(f"hs:{{{tag(busy)}}}:b").port == dst.port
    settle(ng)
    assert_exact(ng, cluster)
    assert asked, "no ASK was seen while the slot migrated"
    statuses = per_worker(ng)
    assert sum(s["redis_moved"] for s in statuses) > 0, statuses


@pytest.mark.parametrize("line,pattern", [
    ("hubstats_redis_cluster localhost:7000;", r"invalid seed \"localhost:7000\""),
    ("hubstats_redis_cluster 127.0.0.1:7000 127.0.0.1;", r"invalid seed \"127.0.0.1\""),
    ("hubstats_redis_cluster unix:/run/redis.sock;", r"invalid seed"),
    ("hubstats_redis_cluster 127.0.0.1:0;", r"invalid seed"),
    ("hubstats_redis_cluster;", r"invalid number of arguments"),
])
def test_bad_seeds_fail_nginx_t(tmp_path, secret_file, line, pattern):
    r = nginx_t(tmp_path, f"{line}\nhubstats_secret_file {secret_file};\n"
                "server { listen 127.0.0.1:@PORT@; location / { hubstats on; } }")
    assert r.returncode != 0
    assert "hubstats_redis_cluster" in r.stdout and re.search(pattern, r.stdout), r.stdout


@pytest.mark.parametrize("order", ["single first", "cluster first"])
def test_both_directives_fail_nginx_t(tmp_path, secret_file, order):
    lines = ["hubstats_redis 127.0.0.1:6379;", "hubstats_redis_cluster 127.0.0.1:7000;"]
    if order == "cluster first":
        lines.reverse()
    r = nginx_t(tmp_path, "\n".join(lines) + f"\nhubstats_secret_file {secret_file};\n"
                "server { listen 127.0.0.1:@PORT@; location / { hubstats on; } }")
    assert r.returncode != 0
    assert "\"hubstats_redis\" and \"hubstats_redis_cluster\"" in r.stdout or \
        "\"hubstats_redis_cluster\" and \"hubstats_redis\"" in r.stdout, r.stdout


def test_cluster_seeds_alone_pass_nginx_t(tmp_path, secret_file):
    r = nginx_t(tmp_path, "hubstats_redis_cluster 127.0.0.1:7000 [::1]:7001;\n"
                f"hubstats_secret_file {secret_file};\n"
                "server { listen 127.0.0.1:@PORT@; location / { hubstats on; } }")
    assert r.returncode == 0, r.stdout


def test_cluster_paused_spool_and_reload_lose_nothing(make_nginx, tmp_path, secret_file,
                                                      many_repos):
    """Every cluster node paused (SIGSTOP: no failover) while nginx serves 15 x the queue
    cap, with a reload in the middle (old workers exit holding events): the events go to
    the spool and are replayed through the slot routing once the cluster answers."""
    with RedisCluster(tmp_path / "cluster", masters=3, replicas=1, node_timeout=6000) as rc:
        ng = make_nginx(cluster_conf(rc.seeds, secret_file, many_repos, FAST + """
            hubstats_queue_size 20;"""), workers=2)
        c = Client(ng)
        c.wait_status(lambda s: s.get("redis_connected") == 1, "the cluster to be known")
        assert set(traffic(ng, new_identities(0, 60, REPOS))) == {200}
        settle(ng)
        pids = [n.pid for n in rc.nodes]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            assert set(traffic(ng, new_identities(1000, 150, REPOS))) == {200}
            ng.reload()
            assert set(traffic(ng, new_identities(2000, 150, REPOS))) == {200}
            assert list((ng.prefix / "hubstats_spool").glob("*.spool"))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        wait_until(lambda: not list((ng.prefix / "hubstats_spool").glob("*.spool")), timeout=60,
                   what="the spool to be replayed")
        settle(ng)
        assert_exact(ng, rc)
        assert "replaying spool file" in ng.error_log_text()
        summaries = hub.exit_summaries(ng)  # the reloaded-away workers
        assert sum(s.get("spooled", 0) for s in summaries) > 0
        assert sum(s["dropped"] + s["failed"] for s in summaries) == 0
