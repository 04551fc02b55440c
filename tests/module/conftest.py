"""Fixtures for the nginx module suite: a real redis-server, a real nginx loading
the built module, a file tree laid out as hub repositories, and git over smart HTTP."""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> import harness

from harness.nginx import Nginx  # noqa: E402
from harness.fixtures import redis, require_built  # noqa: E402,F401 (redis: a fixture)
from harness.paths import MODULE_PATH  # noqa: E402

import hub  # noqa: E402


def pytest_configure(config):
    require_built(MODULE_PATH)


@pytest.fixture
def rclient(redis):
    c = redis.client()
    yield c
    c.close()


@pytest.fixture
def secret_file(tmp_path):
    p = tmp_path / "hubstats.secret"
    p.write_bytes(os.urandom(32).hex().encode())
    p.chmod(0o600)  # a world-readable secret draws a [warn]
    return p


@pytest.fixture
def hub_root(tmp_path):
    return hub.make_tree(tmp_path / "hub")


@pytest.fixture
def make_nginx(tmp_path):
    """Factory: make_nginx(http_body, **kw) -> harness Nginx. At teardown every nginx
    is stopped gracefully (exit flush included) and its error.log must hold no
    [alert] or [emerg] line."""
    started = []

    def factory(http_body, **kw):
        ng = Nginx(tmp_path, http_body, **kw)
        started.append(ng)
        return ng

    yield factory
    problems = []
    for ng in started:
        ng.stop()
        problems += ng.alerts()
    assert not problems, "error.log has alerts:\n" + "\n".join(problems)
