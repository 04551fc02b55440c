"""hubstats without a server: argument errors (exit 2), an unreachable or silent server
(exit 4), help. Network failures are real sockets on 127.0.0.1."""
import socket
import threading

import pytest

from conftest import assert_one_line_error
from harness.ports import free_port

SECRET = "hst_offline-secret-token-never-printed"


@pytest.mark.parametrize("args", [
    [],
    ["stats"],
    ["stats", "get", "model"],
    ["stats", "get", "models", "a/b"],
    ["stats", "get", "model", "no-slash"],
    ["stats", "get", "model", "a/b/c"],
    ["stats", "recent", "model", "a/b", "--days", "0"],
    ["stats", "recent", "model", "a/b", "--days", "366"],
    ["stats", "recent", "model", "a/b", "--days", "ten"],
    ["stats", "export", "model", "a/b", "--days", "400", "--output", "x.csv"],
    ["trending", "--days", "91"],
    ["trending", "--limit", "101"],
    ["trending", "--type", "package"],
    ["stats", "get", "model", "a/b", "--url", "127.0.0.1:28080"],
    ["stats", "get", "model", "a/b", "--timeout", "0"],
    ["no-such-command"],
    ["admin", "token", "revoke", "abc", "--token", SECRET],
])
def test_bad_arguments_exit_2(hubstats, args):
    p = hubstats(*args)
    assert_one_line_error(p, 2)
    assert SECRET not in p.stderr


def test_bad_repo_id_message_names_it(hubstats):
    p = hubstats("stats", "get", "model", "myorg")
    assert_one_line_error(p, 2)
    assert p.stderr == "hubstats: invalid repository id 'myorg' (expected namespace/name)\n"


def test_help_lists_commands_and_exit_codes(hubstats):
    p = hubstats("--help")
    assert p.returncode == 0
    for word in ("stats", "trending", "admin", "--url", "--token", "--json", "--timeout",
                 "HUBSTATS_URL", "3 not found", "4 server unreachable"):
        assert word in p.stdout, word


def closed_port():
    """A loopback port with nothing listening (bound, then released)."""
    return free_port()


def test_connection_refused_exit_4(hubstats):
    port = closed_port()
    p = hubstats("stats", "get", "model", "a/b", "--url", f"http://127.0.0.1:{port}",
                 "--token", SECRET)
    assert_one_line_error(p, 4)
    assert f"127.0.0.1:{port}" in p.stderr and "refused" in p.stderr.lower()
    assert SECRET not in p.stderr


def test_url_from_environment(hubstats):
    port = closed_port()
    p = hubstats("trending", env={"HUBSTATS_URL": f"http://127.0.0.1:{port}"})
    assert_one_line_error(p, 4)
    assert f"127.0.0.1:{port}" in p.stderr


def test_url_option_overrides_environment(hubstats):
    env_port, opt_port = closed_port(), closed_port()
    p = hubstats("trending", "--url", f"http://127.0.0.1:{opt_port}",
                 env={"HUBSTATS_URL": f"http://127.0.0.1:{env_port}"})
    assert_one_line_error(p, 4)
    assert f":{opt_port}" in p.stderr and f":{env_port}" not in p.stderr


def test_silent_server_times_out_exit_4(hubstats):
    # Listening but never answering: the kernel completes the handshake, nobody replies.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        p = hubstats("stats", "recent", "model", "a/b", "--url", f"http://127.0.0.1:{port}",
                     "--timeout", "0.3")
    assert_one_line_error(p, 4)
    assert "timed out after 0.3s" in p.stderr


def test_server_closing_connection_exit_4(hubstats):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]

        def hang_up():
            conn, _ = s.accept()
            conn.recv(65536)
            conn.close()

        t = threading.Thread(target=hang_up, daemon=True)
        t.start()
        p = hubstats("trending", "--url", f"http://127.0.0.1:{port}", "--timeout", "10")
        t.join(timeout=10)
    assert_one_line_error(p, 4)


def test_admin_without_token_exit_6(hubstats):
    p = hubstats("admin", "repo", "list", "--url", f"http://127.0.0.1:{closed_port()}")
    assert_one_line_error(p, 6)
    assert "admin token" in p.stderr
