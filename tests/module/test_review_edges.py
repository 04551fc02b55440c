"""Review findings: subrequests, Redis that accepts but never answers (or is paused),
error replies inside a pipeline, client aborts, and the session cookie among
similar names. Each asserts what the module must do, on real nginx + redis-server."""
import os
import signal
import socket
import threading

import hub
from hub import DATASET, MODEL, Client, anon
from harness.ports import wait_until

R = "/models/demo/tiny-model/resolve/main"
D = "/datasets/demo/tiny-dataset/resolve/main"


def test_subrequests_are_not_counted(make_nginx, redis, rclient, secret_file, hub_root):
    # log_subrequest on runs the log phase for subrequests (mirror, slice, SSI,
    # auth_request): only the client's request is a download.
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, server_extra=f"""
        log_subrequest on;
        location = {D}/data.csv {{
          mirror {R}/config.json;
          alias {hub_root}/datasets/demo/tiny-dataset/data.csv;
        }}"""))
    c = Client(ng)
    assert c.get(f"{D}/data.csv", who=anon("10.20.0.1", "ua")).status_code == 200
    s = c.settled()
    assert s["counted"] == 1 and s["sent"] == 1
    assert hub.counters(rclient, DATASET)["files"] == 1
    assert hub.counters(rclient, MODEL)["files"] == 0


class SilentServer:
    """Accepts TCP connections and never answers (a hung Redis)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            self.accepted += 1

    def requests_seen(self) -> int:
        """How many connections carried a record_batch for the model repo."""
        n = 0
        for c in list(self.conns):
            c.setblocking(False)
            data = b""
            try:
                while chunk := c.recv(65536):
                    data += chunk
            except OSError:
                pass
            n += b"hs:{model/demo/tiny-model}:d:" in data
        return n

    def close(self):
        self._stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


def test_silent_redis_command_timeout_keeps_events_and_reconnects(make_nginx, tmp_path,
                                                                  secret_file, hub_root):
    silent = SilentServer()
    try:
        class Addr:
            address = f"127.0.0.1:{silent.port}"
        ng = make_nginx(hub.http_conf(Addr, secret_file, hub_root, main_extra="""
            hubstats_command_timeout 200ms;
            hubstats_reconnect_backoff 50ms 100ms;"""))
        c = Client(ng)
        for i in range(3):
            assert c.get(f"{R}/config.json", who=anon(f"10.21.0.{i}", "ua")).status_code == 200
        # No reply is not a failure: the events stay queued and go out again on every
        # new connection (the record script would skip the ones applied before).
        wait_until(lambda: silent.accepted >= 3, what="reconnect attempts after timeouts")
        assert "did not answer within 200 ms" in ng.error_log_text()
        s = c.status()
        assert s["sent"] == 0 and s["failed"] == 0 and s["queued"] == 3
        assert silent.requests_seen() >= 2  # the batch was sent on more than one connection
        ng.stop()
        [summary] = hub.exit_summaries(ng)
        assert summary["counted"] == 3
        assert summary["sent"] == 0 and summary["failed"] == 0
        assert summary["dropped"] + summary.get("spooled", 0) == 3
    finally:
        silent.close()


def test_paused_redis_times_out_then_recovers(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra="""
        hubstats_command_timeout 300ms;
        hubstats_reconnect_backoff 50ms 100ms;"""))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    os.kill(redis.pid, signal.SIGSTOP)
    try:
        assert c.get(f"{R}/config.json", who=anon("10.22.0.1", "ua")).status_code == 200
        wait_until(lambda: "did not answer" in ng.error_log_text(), what="the command timeout")
        # The timed-out batch is still owed: not failed, still queued.
        s = c.status()
        assert s["failed"] == 0 and s["queued"] == 1
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    c.wait_status(lambda s: s["redis_connected"] == 1, "reconnected")
    assert c.get(f"{R}/README.md", who=anon("10.22.0.2", "ua")).status_code == 200
    s = c.settled()
    # Redis ran the first batch when it woke (it was in its socket buffer) and again
    # from the resend: applied once.
    assert s["sent"] == 2 and s["failed"] == 0
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 0, "anonymous": 2, "files": 2}


def test_error_reply_in_pipeline_counts_failed(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    # Redis rejects the script (WRONGTYPE: the repo's batch-id key is not a hash, its
    # first command fails) while the connection stays up. "Not now" errors (READONLY,
    # OOM, LOADING, ...) are retried instead: test_exactly_once.py.
    batches = "hs:{model/demo/tiny-model}:b"
    rclient.execute("SET", batches, "not-a-hash")
    for i in range(3):
        assert c.get(f"{R}/config.json", who=anon(f"10.23.0.{i}", "ua")).status_code == 200
    s = c.settled()
    assert s["failed"] == 3 and s["sent"] == 0 and s["redis_connected"] == 1
    rclient.execute("DEL", batches)
    assert c.get(f"{R}/config.json", who=anon("10.23.1.1", "ua")).status_code == 200
    s = c.settled()
    assert s["sent"] == 1 and s["failed"] == 3
    assert "redis rejected a batch" in ng.error_log_text()


def raw_request(ng, lines):
    with socket.create_connection(("127.0.0.1", ng.port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_session_cookie_among_similar_names_and_multiple_headers(
        make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    # Same session_id, different xsession_id / IP / UA: one identity.
    for i, (xs, extra) in enumerate([("A", None), ("B", "other=1")]):
        lines = [f"GET {R}/config.json HTTP/1.1", "Host: x", "Connection: close",
                 f"X-Forwarded-For: 10.24.0.{i}", f"User-Agent: ua{i}"]
        if extra:  # the session cookie in a second Cookie header
            lines += [f"Cookie: xsession_id={xs}; {extra}", "Cookie: session_id=S1"]
        else:
            lines += [f"Cookie: xsession_id={xs}; session_id=S1"]
        assert raw_request(ng, lines).startswith(b"HTTP/1.1 200")
    # Only the look-alike cookie: anonymous (IP + UA), so two identities.
    for i in range(2):
        lines = [f"GET {D}/data.csv HTTP/1.1", "Host: x", "Connection: close",
                 f"X-Forwarded-For: 10.24.1.{i}", "User-Agent: ua",
                 "Cookie: xsession_id=S2"]
        assert raw_request(ng, lines).startswith(b"HTTP/1.1 200")
    c.settled()
    assert hub.counters(rclient, MODEL) == {
        "downloads": 1, "authenticated": 1, "anonymous": 0, "files": 2}
    assert hub.counters(rclient, DATASET) == {
        "downloads": 2, "authenticated": 0, "anonymous": 2, "files": 2}


def test_long_headers_and_no_host(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra="large_client_header_buffers 4 128k;"))
    big = "t" * 65536
    for ua in ("a", "b"):
        lines = [f"GET {R}/config.json HTTP/1.1", "Host: x", "Connection: close",
                 f"Authorization: Bearer {big}", f"User-Agent: {ua}", f"Cookie: c={big}"]
        assert raw_request(ng, lines).startswith(b"HTTP/1.1 200")
    # HTTP/1.0 without Host is a valid request.
    assert raw_request(ng, [f"GET {D}/data.csv HTTP/1.0"]).startswith(b"HTTP/1.1 200")
    Client(ng).settled()
    assert hub.counters(rclient, MODEL) == {
        "downloads": 1, "authenticated": 1, "anonymous": 0, "files": 2}
    assert hub.counters(rclient, DATASET)["files"] == 1


def test_world_readable_secret_file_warns(tmp_path):
    from harness.nginx import nginx_t
    p = tmp_path / "open.secret"
    p.write_bytes(os.urandom(32).hex().encode())
    srv = "server { listen 127.0.0.1:@PORT@; location / { hubstats on; } }"
    conf = f"hubstats_redis 127.0.0.1:6379;\nhubstats_secret_file {p};\n" + srv
    p.chmod(0o644)
    r = nginx_t(tmp_path, conf)
    assert r.returncode == 0, r.stdout
    assert "[warn]" in r.stdout and "readable by other users" in r.stdout, r.stdout
    p.chmod(0o600)
    r = nginx_t(tmp_path, conf)
    assert r.returncode == 0 and "readable by other users" not in r.stdout, r.stdout


def test_client_abort_499_not_counted_partial_200_counted(make_nginx, redis, rclient,
                                                          secret_file, hub_root):
    silent = SilentServer()
    try:
        ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, server_extra=f"""
            location = {D}/hung.bin {{ proxy_pass http://127.0.0.1:{silent.port}; }}
            location = {R}/slow.bin {{
              limit_rate 4k;
              alias {hub_root}/models/demo/tiny-model/model.safetensors;
            }}"""))
        c = Client(ng)
        # The client gives up before any response byte: nginx finalizes with 499.
        with socket.create_connection(("127.0.0.1", ng.port), timeout=10) as s:
            s.sendall(f"GET {D}/hung.bin HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            wait_until(lambda: silent.accepted >= 1, what="nginx to reach the upstream")
        wait_until(lambda: " 499 " in (ng.prefix / "access.log").read_text(),
                   what="nginx to log the 499")
        # The client reads the 200 header and part of the body, then closes.
        with socket.create_connection(("127.0.0.1", ng.port), timeout=10) as s:
            s.sendall(f"GET {R}/slow.bin HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert s.recv(100).startswith(b"HTTP/1.1 200")
        wait_until(lambda: " 200 " in (ng.prefix / "access.log").read_text().split("slow.bin")[-1],
                   timeout=30, what="nginx to log the aborted 200")
        s = c.settled()
        assert s["requests"] == 2 and s["counted"] == 1
        assert hub.counters(rclient, DATASET)["files"] == 0
        assert hub.counters(rclient, MODEL)["files"] == 1
    finally:
        silent.close()
