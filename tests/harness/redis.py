"""A throwaway redis-server and a minimal RESP client (no redis-py needed).

    from harness.redis import RedisServer
    with RedisServer(tmp_path) as rs:       # started on a free port
        r = rs.client()
        r.execute("SET", "k", "v")
        r.hgetall("hash")                  # -> dict[str, str]
        rs.stop(); rs.start()              # same port, empty data set
"""
import socket
import subprocess
from pathlib import Path

from .ports import free_port, wait_for_port
from .procs import terminate

REDIS_SERVER = "/usr/bin/redis-server"


class RedisError(Exception):
    """An error reply from Redis."""


class RedisClient:
    """Blocking RESP2 client over TCP. ``execute(*args)`` returns the decoded reply:
    int, str (UTF-8), None, list, or raises RedisError for an error reply."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0):
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def execute(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self._sock.sendall(b"".join(out))
        return self._read()

    # Convenience wrappers used by the suites.
    def hgetall(self, key) -> dict:
        flat = self.execute("HGETALL", key) or []
        return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}

    def keys(self, pattern="*") -> list:
        return sorted(self.execute("KEYS", pattern) or [])

    def pttl(self, key) -> int:
        return self.execute("PTTL", key)

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n + 2:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


class RedisServer:
    """redis-server on 127.0.0.1:<free port> (or ``host``, e.g. "::1"), no persistence,
    data dir under tmpdir.

    Attributes: ``port``, ``pid`` (None when stopped), ``dir``, ``unix_socket`` (a path
    when started with ``unix_socket=True``, else None), ``address`` (the hubstats_redis
    value: the unix socket when there is one, else host:port, [host]:port for IPv6).
    Methods: ``start()``, ``stop()`` (SIGTERM by PID, waits), ``kill()`` (SIGKILL),
    ``client()``, ``running``. ``args``: extra redis-server options (later ones win).
    """

    def __init__(self, tmpdir, port: int | None = None, start: bool = True,
                 unix_socket: bool = False, host: str = "127.0.0.1", args=()):
        self.dir = Path(tmpdir) / f"redis-{id(self):x}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host = host
        self.unix_socket = self.dir / "redis.sock" if unix_socket else None
        self.args = list(args)  # extra redis-server options, e.g. ("--appendonly", "yes")
        self.pid = None
        self._proc = None
        if start:
            self.start()

    def start(self):
        if self._proc is not None:
            return
        log = open(self.dir / "redis.log", "ab")
        self._proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", self.host,
             "--dir", str(self.dir), "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--protected-mode", "no"]
            + (["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
               if self.unix_socket else []) + self.args,
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.pid = self._proc.pid
        try:
            wait_for_port(self.port, timeout=10, host=self.host)
        except TimeoutError:
            self.stop()
            raise

    def stop(self):
        if self._proc is None:
            return
        terminate(self._proc)
        self._proc = None
        self.pid = None

    def kill(self):
        """SIGKILL by PID: a crash, with no final write of any kind."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        self._proc = None
        self.pid = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def address(self) -> str:
        """The hubstats_redis value for this server."""
        if self.unix_socket:
            return f"unix:{self.unix_socket}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def client(self) -> RedisClient:
        return RedisClient(self.port, host=self.host)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
