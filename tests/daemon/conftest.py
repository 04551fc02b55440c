"""Fixtures for the hubstatsd integration suite: real redis-server, PostgreSQL, the
built hubstatsd and nginx loading the built module, all on throwaway loopback ports,
with a libfaketime clock shared by nginx and hubstatsd."""
import datetime
import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> import harness

from harness.daemon import DAEMON  # noqa: E402
from harness.fixtures import redis, require_built  # noqa: E402,F401 (redis: a fixture)
from harness.paths import MODULE_PATH  # noqa: E402
from harness.postgres import PostgresServer  # noqa: E402

from stack import Stack  # noqa: E402


def pytest_configure(config):
    require_built(DAEMON, MODULE_PATH)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory):
    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    yield server
    server.cleanup()


_db_seq = itertools.count()


@pytest.fixture
def pg_db(pg_server):
    """A fresh database on the module's PostgreSQL server: an object with .dsn and .psql()."""
    name = f"t{os.getpid()}_{next(_db_seq)}"
    pg_server.psql(f'CREATE DATABASE "{name}"', db="postgres")

    class Db:
        dsn = f"host=127.0.0.1 port={pg_server.port} dbname={name} user=postgres"
        server = pg_server

        @staticmethod
        def psql(sql):
            return pg_server.psql(sql, db=name)

        @staticmethod
        def rows(sql):
            out = pg_server.psql(sql, db=name).strip()
            return [line.split("|") for line in out.splitlines()] if out else []

    yield Db
    # Other connections (a killed daemon's) may linger briefly; FORCE drops them.
    pg_server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db="postgres")


@pytest.fixture
def stack(tmp_path, redis, pg_db):
    """Redis + PostgreSQL + hubstatsd + nginx (module on, stats proxied to the daemon).
    The clock starts at noon UTC of the real today. At teardown nginx's error.log must
    hold no [alert]."""
    s = Stack(tmp_path, redis, pg_db)
    s.clock.set_day(datetime.datetime.now(datetime.timezone.utc).date())
    s.start()
    yield s
    problems = s.stop()
    assert not problems, "nginx error.log has alerts:\n" + "\n".join(problems)
