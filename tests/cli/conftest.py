"""Fixtures of the CLI suite: run the built `hubstats` binary as a user would."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402

from harness.paths import BUILD_DIR  # noqa: E402

HUBSTATS = BUILD_DIR / "cli" / "hubstats"


def run_hubstats(*args, env=None, timeout=60):
    """Runs hubstats with a clean HUBSTATS_* environment plus `env`; returns the
    CompletedProcess (text stdout/stderr)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSTATS_")}
    full_env.update(env or {})
    return subprocess.run([str(HUBSTATS), *map(str, args)], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(proc, code):
    """Exit `code`, nothing on stdout, exactly one 'hubstats: ...' line on stderr."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.startswith("hubstats: "), proc.stderr
    assert proc.stderr.endswith("\n") and proc.stderr.count("\n") == 1, proc.stderr


@pytest.fixture(scope="session")
def hubstats():
    if not HUBSTATS.exists():
        pytest.fail(f"{HUBSTATS} not built (cmake --build <dir> --target hubstats)")
    return run_hubstats
