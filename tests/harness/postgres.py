"""A throwaway PostgreSQL 15 server on 127.0.0.1 (no psycopg needed: psql is used).

    from harness.postgres import PostgresServer
    with PostgresServer(tmp_path) as pg:          # initdb + start on a free port
        pg.dsn                                      # "host=127.0.0.1 port=... dbname=hubstats user=postgres"
        pg.psql("SELECT 1")                         # -> stdout text (tuples only, '|' separated)
        pg.stop(); pg.start()                       # same port and data (PG down / recovery)

initdb refuses to run as root, so when we are root the data and socket directories
are created owned by the postgres user (mode 700) and the binaries run through
runuser. The server is stopped with ``pg_ctl stop -m immediate`` and, if that fails,
by the postmaster PID from postmaster.pid.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .ports import free_port, wait_until

PG_BIN = Path(os.environ.get("HUBSTATS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PSQL = "/usr/bin/psql" if Path("/usr/bin/psql").exists() else str(PG_BIN / "psql")


def _as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


class PostgresServer:
    """PostgreSQL on 127.0.0.1:<free port> with database ``dbname`` (default hubstats).

    Attributes: ``port``, ``dsn``, ``data_dir``, ``pid`` (postmaster, None when stopped).
    """

    def __init__(self, tmpdir=None, dbname: str = "hubstats", port: int | None = None,
                 start: bool = True, root: Path | None = None):
        # Owned by postgres and mode 700: initdb's requirements. A private temp dir
        # (not under tmpdir, whose parents postgres may be unable to traverse), or
        # `root`, a new directory whose parents postgres can traverse.
        if root is None:
            self.root = Path(tempfile.mkdtemp(prefix="hubstats-pg-"))
        else:
            self.root = Path(root)
            self.root.mkdir()
        self.data_dir = self.root / "data"
        self.sock_dir = self.root / "sock"
        self.data_dir.mkdir()
        self.sock_dir.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for d in (self.root, self.data_dir, self.sock_dir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o755)
        os.chmod(self.data_dir, 0o700)
        os.chmod(self.sock_dir, 0o755)
        self.dbname = dbname
        self.port = port or free_port()
        self.pid = None
        self.log = self.root / "postgres.log"
        self._initdb()
        if start:
            self.start()
            self.psql(f'CREATE DATABASE "{dbname}"', db="postgres")

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={self.dbname} user=postgres"

    def _initdb(self):
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                          "-A", "trust", "-E", "UTF8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        if self.pid is not None:
            return
        opts = (f"-p {self.port} -k {self.sock_dir} -c listen_addresses=127.0.0.1 "
                f"-c fsync=off -c full_page_writes=off "
                f"-c max_connections=100")
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
                          "-w", "-t", "30", "-o", opts, "start"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = self._postmaster_pid()
        wait_until(lambda: self._ready(), timeout=30, what="postgres accepting connections")

    def _postmaster_pid(self):
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _ready(self) -> bool:
        r = subprocess.run([PSQL, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            "-d", "postgres", "-tAc", "SELECT 1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return r.returncode == 0

    def stop(self):
        """Immediate shutdown (like a crash for clients); data is kept for start()."""
        if self.pid is None:
            return
        r = subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "30",
                          "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        self.pid = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, db: str | None = None) -> str:
        """Runs SQL with psql (tuples only, unaligned, '|' separated); raises on error."""
        r = subprocess.run([PSQL, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            "-d", db or self.dbname, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout

    def rows(self, sql: str) -> list[list[str]]:
        out = self.psql(sql).strip()
        return [line.split("|") for line in out.splitlines()] if out else []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
