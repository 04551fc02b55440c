"""A throwaway Redis Cluster (real redis-server processes, cluster-enabled) and a small
cluster-aware client that follows MOVED and ASK.

    from harness.redis_cluster import RedisCluster
    with RedisCluster(tmp_path, masters=3, replicas=1) as rc:
        rc.seeds                         # ["127.0.0.1:p1", ...] every node
        c = rc.client()                  # ClusterClient
        c.execute("HGETALL", "hs:{model/a/b}:d:20261203")
        node = rc.master_of("hs:{model/a/b}:d:20261203")   # RedisServer
        rc.fail_over_by_kill(node)       # SIGKILL, wait for its replica to take over
        rc.keys("hs:*")                  # KEYS on every master, merged

Ports are free loopback ports unless given (``ports=[...]``, masters first).
"""
import subprocess
import time

from .ports import free_port
from .redis import RedisClient, RedisError, RedisServer

REDIS_CLI = "/usr/bin/redis-cli"


def key_slot(key: str) -> int:
    """The cluster slot of a key: CRC16 (XMODEM) of its hash tag, mod 16384."""
    k = key.encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    crc = 0
    for b in k:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc % 16384


class ClusterClient:
    """Sends each command to the node owning its first key (args[1], or the first
    key of EVAL/EVALSHA), following MOVED (refreshing the map) and ASK."""

    def __init__(self, seeds, timeout: float = 5.0):
        self._seeds = list(seeds)
        self._timeout = timeout
        self._conns = {}
        self._slots = []  # (start, end, "host:port")
        self.refresh()

    def close(self):
        for c in self._conns.values():
            c.close()
        self._conns.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _conn(self, addr: str) -> RedisClient:
        c = self._conns.get(addr)
        if c is None:
            host, port = addr.rsplit(":", 1)
            c = RedisClient(int(port), host=host, timeout=self._timeout)
            self._conns[addr] = c
        return c

    def _drop(self, addr: str):
        c = self._conns.pop(addr, None)
        if c is not None:
            c.close()

    def refresh(self):
        last = None
        for addr in list(self._conns) + self._seeds:
            try:
                rows = self._conn(addr).execute("CLUSTER", "SLOTS")
            except (OSError, ConnectionError, RedisError) as e:
                self._drop(addr)
                last = e
                continue
            self._slots = [(int(r[0]), int(r[1]), f"{r[2][0]}:{r[2][1]}") for r in rows]
            return
        raise ConnectionError(f"no seed answered CLUSTER SLOTS: {last}")

    def node_of(self, key: str) -> str:
        slot = key_slot(key)
        for start, end, addr in self._slots:
            if start <= slot <= end:
                return addr
        raise RedisError(f"slot {slot} not covered")

    @staticmethod
    def _first_key(args):
        cmd = str(args[0]).upper()
        if cmd in ("EVAL", "EVALSHA") and len(args) > 3 and int(args[2]) > 0:
            return str(args[3])
        return str(args[1]) if len(args) > 1 else None

    def execute(self, *args):
        key = self._first_key(args)
        addr = self.node_of(key) if key is not None else self._slots[0][2]
        asking = False
        for _ in range(16):
            try:
                c = self._conn(addr)
                if asking:
                    c.execute("ASKING")
                return c.execute(*args)
            except RedisError as e:
                msg = str(e)
                if msg.startswith("MOVED "):
                    addr, asking = msg.split()[2], False
                    self.refresh()
                    continue
                if msg.startswith("ASK "):
                    addr, asking = msg.split()[2], True
                    continue
                if msg.startswith(("TRYAGAIN", "CLUSTERDOWN")):
                    time.sleep(0.1)
                    self.refresh()
                    continue
                raise
            except (OSError, ConnectionError):
                self._drop(addr)
                time.sleep(0.1)
                self.refresh()
                addr = self.node_of(key) if key is not None else self._slots[0][2]
        raise RedisError(f"too many redirections for {args[:2]}")

    def hgetall(self, key) -> dict:
        flat = self.execute("HGETALL", key) or []
        return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


class _PortTaken(Exception):
    """A node could not have its port (or bus port): try again on other ports."""


class RedisCluster:
    """``masters`` masters with ``replicas`` replicas each, all on 127.0.0.1, created
    with ``redis-cli --cluster create``. ``node_timeout`` (ms) is cluster-node-timeout:
    how long a master must be unreachable before its replica is promoted."""

    def __init__(self, tmpdir, masters: int = 3, replicas: int = 1, node_timeout: int = 1000,
                 ports=None, args=(), attempts: int = 5):
        n = masters * (1 + replicas)
        if ports and len(ports) != n:
            raise ValueError(f"need {n} ports, got {len(ports)}")
        self.nodes = []
        # Free ports are free only a moment ago: a suite running beside this one may take
        # one first (then our node fails to bind and another server answers on its
        # port). Such a try is torn down and made again on new ports.
        for attempt in range(1, attempts + 1):
            try:
                self._create(tmpdir, masters, replicas, node_timeout,
                             list(ports) if ports else [free_port() for _ in range(n)], args)
                return
            except _PortTaken:
                self.stop()
                self.nodes = []
                if ports or attempt == attempts:
                    raise
            except BaseException:
                self.stop()
                raise

    def _create(self, tmpdir, masters, replicas, node_timeout, ports, args):
        for p in ports:
            node = RedisServer(
                tmpdir, port=p,
                args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                      # the bus port: port + 10000 may be past 65535 or taken
                      "--cluster-port", str(free_port()),
                      "--cluster-node-timeout", str(node_timeout),
                      "--cluster-require-full-coverage", "no", *args])
            self.nodes.append(node)
            # Our process must be the one listening (its process_id), in cluster mode.
            try:
                with node.client() as c:
                    info = c.execute("INFO", "server")
                    c.execute("CLUSTER", "MYID")
            except (OSError, ConnectionError, RedisError) as e:
                raise _PortTaken(f"port {p}: {e}") from e
            if f"process_id:{node.pid}" not in info.split() or not node.running:
                raise _PortTaken(f"port {p} is served by another process")
        created = subprocess.run(
            [REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=False, capture_output=True, timeout=60, text=True)
        if created.returncode != 0:
            if not all(node.running for node in self.nodes):
                raise _PortTaken("a node exited during cluster create")
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]}"
                               f"{created.stderr[-2000:]}")
        self.wait_ok()

    @property
    def seeds(self):
        return [f"127.0.0.1:{n.port}" for n in self.nodes]

    def client(self) -> ClusterClient:
        return ClusterClient([s for s, n in zip(self.seeds, self.nodes) if n.running])

    def _info(self, node) -> dict:
        with node.client() as c:
            text = c.execute("CLUSTER", "INFO")
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def wait_ok(self, timeout: float = 30.0):
        """Waits until every running node says cluster_state:ok, all 16384 slots are
        served by a running master and every replica of a running master is in sync."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ok = all(self._info(n).get("cluster_state") == "ok"
                         for n in self.nodes if n.running)
                if ok and self._covered() and self._replicas_synced():
                    return
            except (OSError, ConnectionError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def _replicas_synced(self) -> bool:
        """Every running replica of a running master has its link up (a replica that never
        synced refuses to take over: its data is too old)."""
        running = {n.port for n in self.nodes if n.running}
        for n in self.nodes:
            if not n.running:
                continue
            with n.client() as c:
                info = c.execute("INFO", "replication")
            kv = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            if kv.get("role") == "slave" and int(kv.get("master_port", 0)) in running \
                    and kv.get("master_link_status") != "up":
                return False
        return True

    def _covered(self) -> bool:
        running = {n.port for n in self.nodes if n.running}
        node = next(n for n in self.nodes if n.running)
        with node.client() as c:
            rows = c.execute("CLUSTER", "SLOTS")
        total = sum(int(r[1]) - int(r[0]) + 1 for r in rows if int(r[2][1]) in running)
        return total == 16384

    def masters(self):
        """The running nodes that are masters now."""
        out = []
        for n in self.nodes:
            if not n.running:
                continue
            with n.client() as c:
                role = c.execute("ROLE")
            if role[0] == "master":
                out.append(n)
        return out

    def master_of(self, key: str) -> RedisServer:
        addr = self.client().node_of(key)
        port = int(addr.rsplit(":", 1)[1])
        return next(n for n in self.nodes if n.port == port)

    def fail_over_by_kill(self, node: RedisServer, timeout: float = 30.0):
        """SIGKILL a master and wait until its slots are served by a promoted replica."""
        node.kill()
        self.wait_ok(timeout)

    def keys(self, pattern: str = "*") -> list:
        out = []
        for n in self.masters():
            with n.client() as c:
                out += c.execute("KEYS", pattern) or []
        return sorted(out)

    def stop(self):
        for n in self.nodes:
            n.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
