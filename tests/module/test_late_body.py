"""Counting must not depend on packet timing (issue 11): git-upload-pack and LFS batch POSTs
are classified by their body, and KohakuHub's nginx proxies them with
`proxy_request_buffering off`, so the body may arrive after the headers, in pieces,
chunked, or over HTTP/2. Each way of sending must count exactly like headers and body in
one write: a v0 fetch and an LFS download count, a v2 `command=ls-refs` and an LFS upload
do not.

The hub behind nginx is real where it matters: git-http-backend through fcgiwrap (which
reads the whole body before answering) and a Python stand-in for KohakuHub's LFS batch
API (harness.fake_kohakuhub), behind an inner nginx server the way KohakuHub's `hub-api`
sits behind its nginx."""
import json
import socket
import subprocess
import time

import pytest

import hub
from hub import Client
from harness.fake_kohakuhub import FakeKohakuHub
from harness.gitrepo import GIT_HTTP_BACKEND, FcgiWrap, git, make_bare_repo
from harness.ports import free_port
from test_http2 import self_signed

GIT = "/models/demo/tiny-model.git/git-upload-pack"
LFS = "/models/demo/tiny-model.git/info/lfs/objects/batch"
LS_REFS = b"0014command=ls-refs\n0000"
LFS_CT = "application/vnd.git-lfs+json"
GIT_CT = "application/x-git-upload-pack-request"


def lfs_body(op):
    return json.dumps({"operation": op, "transfers": ["basic"],
                       "objects": [{"oid": hub.LFS_OID, "size": 1088}]}).encode()


def want_body(oid):
    return f"0032want {oid}\n".encode() + b"00000009done\n"


def front_locations():
    """KohakuHub's git and LFS locations (docker/nginx/default.conf), hubstats on."""
    return """
    location ~ \\.git/(info/refs|git-upload-pack|git-receive-pack|HEAD) {
      proxy_pass http://127.0.0.1:@INNER@;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_request_buffering off;
    }
    location ~ \\.git/info/lfs/ {
      proxy_pass http://127.0.0.1:@INNER@;
      proxy_http_version 1.1;
      proxy_request_buffering off;
      client_body_buffer_size 128k;
    }
"""


def conf(redis, secret, root, inner, fake_port, fcgi_socket, h2_port, cert, key):
    locs = front_locations().replace("@INNER@", str(inner))
    return f"""
  hubstats_redis {redis.address};
  hubstats_secret_file {secret};
  server {{
    listen 127.0.0.1:@PORT@;
    hubstats on;
    {locs}
    location = /hubstats {{ hubstats off; hubstats_status; }}
  }}
  server {{
    listen 127.0.0.1:{h2_port} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    hubstats on;
    {locs}
  }}
  # The hub's API server: git through git-http-backend, everything else the fake hub.
  server {{
    listen 127.0.0.1:{inner};
    location ~ ^/(?:models/)?(?<gitpath>.+\\.git/(?:info/refs|git-upload-pack|git-receive-pack))$ {{
      client_max_body_size 0;
      fastcgi_pass unix:{fcgi_socket};
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME {GIT_HTTP_BACKEND};
      fastcgi_param GIT_PROJECT_ROOT {root}/git;
      fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param PATH_INFO /$gitpath;
    }}
    location / {{ proxy_pass http://127.0.0.1:{fake_port}; }}
  }}
"""


def post_h1(port, path, body, ctype, extra=(), mode="once", delay=0.05):
    """One POST on a raw socket; mode: once (headers and body in one write), late (body
    `delay` after the headers, then in two pieces), chunked (chunked encoding, each chunk
    a separate write `delay` apart). Returns the status code."""
    head = [f"POST {path} HTTP/1.1", "Host: hub.test", "Connection: close",
            f"Content-Type: {ctype}", "User-Agent: late-body-test", *extra]
    head.append("Transfer-Encoding: chunked" if mode == "chunked"
                else f"Content-Length: {len(body)}")
    head_b = ("\r\n".join(head) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mode == "once":
            s.sendall(head_b + body)
        elif mode == "late":
            s.sendall(head_b)
            time.sleep(delay)
            s.sendall(body[:5])
            time.sleep(delay)
            s.sendall(body[5:])
        else:
            s.sendall(head_b)
            for piece in (body[:3], body[3:9], body[9:]):
                time.sleep(delay)
                s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            time.sleep(delay)
            s.sendall(b"0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def post_h2(port, path, body, ctype, extra=(), delay=0.3):
    """One POST over HTTP/2 (TLS) whose body curl reads from a pipe written `delay` after
    the request started: HEADERS first, DATA later, no content-length."""
    cmd = ["curl", "-sSk", "--http2", "-X", "POST", "-T", "-", "-o", "/dev/null",
           "-w", "%{http_version} %{response_code}", "-H", f"Content-Type: {ctype}",
           "-H", "User-Agent: late-body-test-h2"]
    for h in extra:
        cmd += ["-H", h]
    cmd.append(f"https://127.0.0.1:{port}{path}")
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    time.sleep(delay)
    out, _ = p.communicate(body, timeout=30)
    version, status = out.decode().split()
    assert version == "2", out
    return int(status)


@pytest.fixture
def stack(tmp_path, make_nginx, redis, secret_file, hub_root):
    repo = make_bare_repo(hub_root / "git/demo/tiny-model.git", {"config.json": '{"a": 1}\n'})
    oid = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    fake = FakeKohakuHub({}).start()
    fw = FcgiWrap(tmp_path)
    h2_port, inner = free_port(), free_port()
    ng = make_nginx(conf(redis, secret_file, hub_root, inner, fake.port, fw.socket, h2_port,
                         *self_signed(tmp_path)))
    try:
        yield ng, h2_port, oid, fake
    finally:
        fw.stop()
        fake.stop()


@pytest.mark.parametrize("mode", ["once", "late", "chunked", "h2"])
def test_body_classification_does_not_depend_on_timing(stack, mode):
    ng, h2_port, oid, fake = stack
    c = Client(ng)
    v2 = ("Git-Protocol: version=2",)
    if mode == "h2":
        send = lambda path, body, ct, extra=(): post_h2(h2_port, path, body, ct, extra)  # noqa
    else:
        send = lambda path, body, ct, extra=(): post_h1(ng.port, path, body, ct, extra, mode)  # noqa
    before = c.settled()["counted"]
    assert send(GIT, LS_REFS, GIT_CT, v2) == 200        # v2 ref listing: no download
    assert c.settled()["counted"] == before
    assert send(GIT, want_body(oid), GIT_CT) == 200      # v0 fetch: a download
    assert c.settled()["counted"] == before + 1
    assert send(LFS, lfs_body("upload"), LFS_CT) == 200  # upload: no download
    assert c.settled()["counted"] == before + 1
    assert send(LFS, lfs_body("download"), LFS_CT) == 200
    assert c.settled()["counted"] == before + 2
    # The hub really got (and answered) both batch requests with their whole bodies.
    assert fake.seen("POST", LFS) == 2
