"""Fixtures of the extras suite (metrics, pictures, OpenAPI, dashboard): one real stack
per test module - PostgreSQL, redis-server, hubstatsd and nginx loading the built module -
seeded with demo data (see extras_stack.py)."""
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/ -> import harness
sys.path.insert(0, str(HERE))

from harness.daemon import DAEMON  # noqa: E402
from harness.fixtures import require_built  # noqa: E402
from harness.paths import MODULE_PATH  # noqa: E402

from extras_stack import Stack  # noqa: E402


def pytest_configure(config):
    require_built(DAEMON, MODULE_PATH)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("extras"))
    try:
        s.start()
        s.seed()
        yield s
    finally:
        alerts = s.stop()
    assert alerts == [], alerts
