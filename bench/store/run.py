"""Starts a throwaway PostgreSQL and redis-server (tests/harness) and runs the store
benchmark driver against them. Usage: run.sh [--repos N] [--days D] [--batch B]"""
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SRC / "tests"))
from harness.postgres import PostgresServer  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

build = Path(sys.argv[1])
driver = build / "bench" / "store" / "hubstats_store_bench"
with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg, RedisServer(tmp) as rs:
    pg.psql("ALTER SYSTEM SET shared_buffers = '512MB'", db="postgres")
    pg.psql("ALTER SYSTEM SET work_mem = '64MB'", db="postgres")
    pg.stop()
    pg.start()
    subprocess.run([str(driver), "--redis", rs.address, "--pg", pg.dsn, "--pg-pid", str(pg.pid),
                    *sys.argv[2:]], check=True)
