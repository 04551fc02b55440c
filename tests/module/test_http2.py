"""Downloads over HTTP/2 count exactly like HTTP/1.1: several files multiplexed on one
TLS connection (ALPN h2, as browsers and CDNs speak it), HEAD and 404 skipped, and a
session cookie that the HTTP/2 client splits into several `cookie` fields (nginx joins
them) gives the same identity as the single HTTP/1.1 header. Client: Debian's curl
(built with nghttp2); the certificate is a throwaway self-signed one.

(curl 7.88's cleartext h2c with prior knowledge fails a second request on a reused
connection even against nginx without this module, so TLS it is.)"""
import subprocess

import hub
from hub import MODEL, Client
from harness.ports import free_port

R = "/models/demo/tiny-model/resolve/main"


def self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    return cert, key


def h2_conf(redis, secret_file, hub_root, port, cert, key):
    """The usual hub server (HTTP/1.1, status page) plus an HTTPS server with HTTP/2."""
    return hub.http_conf(redis, secret_file, hub_root) + f"""
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    hubstats on;
    location ~ ^/(?<t>models|datasets|spaces)/(?<ns>[^/]+)/(?<nm>[^/]+)/resolve/[^/]+/(?<p>.+)$ {{
      alias {hub_root}/$t/$ns/$nm/$p;
    }}
  }}
"""


def curl_h2(port, paths, headers, head=False):
    """One curl, one connection, the paths as parallel streams:
    sorted [(http_version, status, new connections)]."""
    cmd = ["curl", "-sSk", "--http2", "--parallel", "--parallel-max", "8",
           "-w", "%{http_version} %{response_code} %{num_connects}\\n"]
    if head:
        cmd.append("-I")
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    for p in paths:
        cmd += ["-o", "/dev/null", f"https://127.0.0.1:{port}{p}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout
    return sorted(tuple(line.split()) for line in out.splitlines())


def test_http2_downloads_count_like_http1(tmp_path, make_nginx, redis, rclient, secret_file,
                                          hub_root):
    port = free_port()
    ng = make_nginx(h2_conf(redis, secret_file, hub_root, port, *self_signed(tmp_path)))
    c = Client(ng)
    anon = {"X-Forwarded-For": "10.40.0.1", "User-Agent": "h2-client"}

    # Three files as streams of one connection: one session, three files.
    files = [f"{R}/config.json", f"{R}/README.md", f"{R}/model.safetensors"]
    assert curl_h2(port, files, anon) == [("2", "200", "0"), ("2", "200", "0"),
                                          ("2", "200", "1")]
    # Not downloads: HEAD, and a file that does not exist.
    assert curl_h2(port, [f"{R}/config.json"], anon, head=True) == [("2", "200", "1")]
    assert curl_h2(port, [f"{R}/missing.bin"], anon) == [("2", "404", "1")]
    s = c.settled()
    assert s["counted"] == 3 and s["sent"] == 3 and s["new_sessions"] == 1

    # The session cookie sent as two HTTP/2 cookie fields ("Cookie" and "cookie" are
    # two -H options), then as one HTTP/1.1 header from another address: one
    # authenticated identity, so one session.
    split = {"Cookie": "theme=dark", "cookie": "session_id=bob-h2",
             "X-Forwarded-For": "10.40.0.2", "User-Agent": "browser"}
    assert curl_h2(port, [f"{R}/config.json"], split) == [("2", "200", "1")]
    r = c.get(f"{R}/README.md", headers={"Cookie": "theme=dark; session_id=bob-h2",
                                          "X-Forwarded-For": "10.40.0.3"})
    assert r.status_code == 200
    s = c.settled()
    assert s["counted"] == 5 and s["new_sessions"] == 2
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 5}
