"""https:// URLs: certificate and host name verification against a real nginx TLS
listener (self-signed certificate made by the test) in front of a real hubstatsd."""
import json
import subprocess

import pytest

from cli_stack import ADMIN_TOKEN
from conftest import assert_one_line_error, run_hubstats
from harness.daemon import Hubstatsd
from harness.nginx import Nginx
from harness.postgres import PostgresServer
from harness.redis import RedisServer


def make_cert(d, name, san):
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return key, crt


@pytest.fixture(scope="module")
def tls(hubstats, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli-tls")
    pg = rs = daemon = good = wrong = None
    try:
        pg = PostgresServer(tmp / "pg")
        rs = RedisServer(tmp / "redis")
        daemon = Hubstatsd(tmp / "daemon", redis=rs, postgres=pg, admin_token=ADMIN_TOKEN)
        daemon.add_repo("model", "tls", "repo")
        key, crt = make_cert(tmp, "localhost", "IP:127.0.0.1,DNS:localhost")
        wkey, wcrt = make_cert(tmp, "elsewhere", "DNS:elsewhere.invalid")

        def server(k, c):
            return Nginx(tmp / "nginx", f"""
              server {{
                listen 127.0.0.1:@PORT@ ssl;
                ssl_certificate {c};
                ssl_certificate_key {k};
                location / {{ proxy_pass http://127.0.0.1:{daemon.port}; }}
              }}""", module_path=None)
        good, wrong = server(key, crt), server(wkey, wcrt)
        yield {"good": good, "wrong": wrong, "ca": crt, "wrong_ca": wcrt}
    finally:
        for part in (good, wrong):
            if part:
                part.stop()
                assert part.alerts() == []
        for stop in (daemon and daemon.stop, rs and rs.stop, pg and pg.cleanup):
            if stop:
                stop()


def test_https_with_trusted_ca(tls):
    p = run_hubstats("stats", "get", "model", "tls/repo", "--json", "--url",
                     f"https://127.0.0.1:{tls['good'].port}", "--cacert", tls["ca"])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"downloads": 0, "likes": 0}


def test_https_host_name_form(tls):
    p = run_hubstats("stats", "get", "model", "tls/missing", "--url",
                     f"https://localhost:{tls['good'].port}", "--cacert", tls["ca"])
    assert_one_line_error(p, 3)  # reached the daemon over TLS: a real 404


def test_https_untrusted_certificate_exit_4(tls):
    p = run_hubstats("stats", "get", "model", "tls/repo", "--url",
                     f"https://127.0.0.1:{tls['good'].port}")
    assert_one_line_error(p, 4)
    assert "TLS handshake" in p.stderr and "certificate verify failed" in p.stderr


def test_https_wrong_host_name_exit_4(tls):
    # Trusted certificate, but issued for another name.
    p = run_hubstats("stats", "get", "model", "tls/repo", "--url",
                     f"https://127.0.0.1:{tls['wrong'].port}", "--cacert", tls["wrong_ca"])
    assert_one_line_error(p, 4)
    assert "TLS handshake" in p.stderr


def test_missing_cacert_file_exit_2(tls):
    p = run_hubstats("stats", "get", "model", "tls/repo", "--url",
                     f"https://127.0.0.1:{tls['good'].port}", "--cacert", "/nonexistent.pem")
    assert_one_line_error(p, 2)
