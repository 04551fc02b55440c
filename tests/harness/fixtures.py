"""pytest pieces several suites share. A suite's conftest.py imports what it uses:

    from harness.fixtures import redis, require_built  # noqa: F401  (redis: a fixture)
    def pytest_configure(config):
        require_built(DAEMON, MODULE_PATH)
"""
from pathlib import Path

import pytest

from .redis import RedisServer


def require_built(*paths) -> None:
    """Stops the run with one clear line when an artifact the suite needs is missing."""
    for p in paths:
        if not Path(p).exists():
            raise pytest.UsageError(f"not built: {p} (set HUBSTATS_BUILD_DIR)")


@pytest.fixture
def redis(tmp_path):
    """A fresh redis-server on loopback for one test."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()
