"""Configuration mistakes fail `nginx -t` naming the directive; good configs load."""
import re

import pytest

from harness.nginx import nginx_t
from harness.paths import MODULE_PATH, SOURCE_DIR


def server(extra=""):
    return f"server {{ listen 127.0.0.1:@PORT@; location / {{ hubstats on; {extra} }} }}"


@pytest.fixture
def good(secret_file):
    return f"hubstats_redis 127.0.0.1:6379;\nhubstats_secret_file {secret_file};\n"


def test_valid_config_with_every_directive(tmp_path, secret_file):
    r = nginx_t(tmp_path, f"""
        hubstats_redis unix:/run/redis/redis.sock;
        hubstats_secret_file {secret_file};
        hubstats_session_window 45m;
        hubstats_retention 30d;
        hubstats_queue_size 500;
        hubstats_connect_timeout 250ms;
        hubstats_command_timeout 2s;
        hubstats_reconnect_backoff 50ms 10s;
        hubstats_flush_interval 2ms;
        hubstats_min_range 512k;
        hubstats_max_paths 200;
        hubstats_breakdown_log_max 256k;
        hubstats_bots count;
        map $uri $count_it {{ default 1; ~/skip/ 0; }}
        server {{
          listen 127.0.0.1:@PORT@;
          hubstats_session_cookie kohaku_session;
          hubstats_user $upstream_http_x_user;
          location / {{ hubstats on; }}
          location ~ ^/c/(?<t>[a-z]+)/(?<n>[^/]+)/(?<m>[^/]+)/ {{
            hubstats on;
            hubstats_repo $t $n $m if=$count_it;
          }}
          location = /s {{ hubstats_status; }}
          location = /p {{ hubstats_status prometheus; }}
        }}""")
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("directive,line,pattern", [
    ("hubstats_session_window", "hubstats_session_window 30x;", r"invalid duration \"30x\""),
    ("hubstats_session_window", "hubstats_session_window 0;", r"invalid duration"),
    ("hubstats_retention", "hubstats_retention forever;", r"invalid duration"),
    ("hubstats_connect_timeout", "hubstats_connect_timeout -1s;", r"invalid duration"),
    ("hubstats_command_timeout", "hubstats_command_timeout 1.5s;", r"invalid duration"),
    ("hubstats_reconnect_backoff", "hubstats_reconnect_backoff 5s 1s;", r"invalid backoff"),
    ("hubstats_flush_interval", "hubstats_flush_interval 0;", r"invalid duration"),
    ("hubstats_queue_size", "hubstats_queue_size 0;", r"invalid queue size"),
    ("hubstats_queue_size", "hubstats_queue_size lots;", r"invalid queue size"),
    ("hubstats_min_range", "hubstats_min_range lots;", r"invalid size"),
    ("hubstats_max_paths", "hubstats_max_paths -1;", r"invalid number"),
    ("hubstats_max_paths", "hubstats_max_paths 2000000;", r"invalid number"),
    ("hubstats_breakdown_log_max", "hubstats_breakdown_log_max 0;", r"invalid size"),
    ("hubstats_breakdown_log_max", "hubstats_breakdown_log_max 1g;", r"invalid size"),
    ("hubstats_breakdown_log_max", "hubstats_breakdown_log_max lots;", r"invalid size"),
    ("hubstats_bots", "hubstats_bots /nonexistent/bots.txt;", r"cannot read bot patterns"),
])
def test_bad_values_name_the_directive(tmp_path, good, directive, line, pattern):
    r = nginx_t(tmp_path, good + line + server())
    assert r.returncode != 0
    assert directive in r.stdout and re.search(pattern, r.stdout), r.stdout


@pytest.mark.parametrize("address", [
    "localhost:6379", "redis.internal:6379", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999",
    "::1:6379", "unix:relative.sock", "unix:",
])
def test_redis_address_must_be_ip_or_unix_socket(tmp_path, secret_file, address):
    r = nginx_t(tmp_path, f"hubstats_redis {address};\nhubstats_secret_file {secret_file};\n"
                + server())
    assert r.returncode != 0
    assert "hubstats_redis" in r.stdout and "invalid address" in r.stdout, r.stdout


def test_missing_secret_file(tmp_path):
    r = nginx_t(tmp_path, f"hubstats_redis 127.0.0.1:6379;\n"
                f"hubstats_secret_file {tmp_path}/nope.secret;\n" + server())
    assert r.returncode != 0
    assert "hubstats_secret_file" in r.stdout and "cannot read" in r.stdout, r.stdout


def test_unreadable_secret_file(tmp_path):
    # A directory opens but cannot be read as a file.
    r = nginx_t(tmp_path, f"hubstats_redis 127.0.0.1:6379;\n"
                f"hubstats_secret_file {tmp_path};\n" + server())
    assert r.returncode != 0
    assert "hubstats_secret_file" in r.stdout, r.stdout


def test_short_secret_file(tmp_path):
    p = tmp_path / "short.secret"
    p.write_text("  tooshort \n")
    r = nginx_t(tmp_path, f"hubstats_redis 127.0.0.1:6379;\nhubstats_secret_file {p};\n"
                + server())
    assert r.returncode != 0
    assert "hubstats_secret_file" in r.stdout and "too short" in r.stdout, r.stdout


def test_on_requires_redis_and_secret(tmp_path, secret_file):
    r = nginx_t(tmp_path, f"hubstats_secret_file {secret_file};\n" + server())
    assert r.returncode != 0 and "hubstats_redis" in r.stdout, r.stdout
    r = nginx_t(tmp_path, "hubstats_redis 127.0.0.1:6379;\n" + server())
    assert r.returncode != 0 and "hubstats_secret_file" in r.stdout, r.stdout
    # Without any "hubstats on" nothing is required.
    r = nginx_t(tmp_path, "server { listen 127.0.0.1:@PORT@; location = /s { hubstats_status; } }")
    assert r.returncode == 0, r.stdout


def test_bad_repo_and_status_arguments(tmp_path, good):
    r = nginx_t(tmp_path, good + server("hubstats_repo model $a $b when=$c;"))
    assert r.returncode != 0 and "hubstats_repo" in r.stdout, r.stdout
    r = nginx_t(tmp_path, good + "server { listen 127.0.0.1:@PORT@; "
                "location = /s { hubstats_status json; } }")
    assert r.returncode != 0 and "hubstats_status" in r.stdout, r.stdout


def test_directive_in_wrong_context(tmp_path, good):
    r = nginx_t(tmp_path, good + server("hubstats_session_window 10m;"))
    assert r.returncode != 0 and "hubstats_session_window" in r.stdout, r.stdout


def test_example_config_loads(tmp_path, secret_file):
    """conf/nginx-hubstats.conf passes nginx -t with the built module and a real secret."""
    text = (SOURCE_DIR / "conf/nginx-hubstats.conf").read_text()
    text = text.replace("modules/ngx_http_hubstats_module.so", str(MODULE_PATH))
    text = text.replace("/etc/hubstats/secret", str(secret_file))
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = text.replace("pid /run/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    text = text.replace("listen 80;", "listen 127.0.0.1:1;")
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        text = text.replace("http {", f"http {{\n    {t}_temp_path {tmp_path}/{t};", 1)
    conf = tmp_path / "example.conf"
    conf.write_text(text)
    import subprocess
    r = subprocess.run(["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(conf)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, r.stdout


def test_bot_patterns_file_with_a_too_short_pattern(tmp_path, good):
    f = tmp_path / "bots.txt"
    f.write_text("# fine\nsomebot\nab\n")
    r = nginx_t(tmp_path, good + f"hubstats_bots {f};" + server())
    assert r.returncode != 0
    assert "hubstats_bots" in r.stdout and "line 3" in r.stdout, r.stdout
