"""The status handler's formats, and operator-defined layouts (hubstats_repo)."""
import requests

import hub
from hub import Client, anon, bearer

WHO = anon("10.8.8.8", "ua-custom")


def custom_conf(redis, secret, root):
    return f"""
  hubstats_redis {redis.address};
  hubstats_secret_file {secret};
  map $arg_count $count_it {{ default 1; no 0; }}
  server {{
    listen 127.0.0.1:@PORT@;
    # Another URL layout: /files/<type>/<ns>/<name>/<path>
    location ~ ^/files/(?<ht>[a-z]+)/(?<hns>[^/]+)/(?<hn>[^/]+)/(?<hp>.+)$ {{
      hubstats on;
      hubstats_repo $ht $hns $hn if=$count_it;
      alias {root}/models/$hns/$hn/$hp;
    }}
    # The same layout answered by nginx itself: 200 to any method.
    location ~ ^/any/(?<at>[a-z]+)/(?<ans>[^/]+)/(?<an>[^/]+)/ {{
      hubstats on;
      hubstats_repo $at $ans $an;
      return 200 "ok";
    }}
    location = /status {{ hubstats_status; }}
    location = /metrics {{ hubstats_status prometheus; }}
  }}
"""


def test_custom_layout(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(custom_conf(redis, secret_file, hub_root))
    c = Client(ng, status_path="/status")
    F = "/files/model/demo/tiny-model"
    assert c.get(f"{F}/config.json", who=WHO).status_code == 200              # counted
    assert c.get("/files/models/demo/tiny-model/README.md", who=WHO).status_code == 200  # plural
    assert c.get(f"{F}/config.json", who=bearer("tok-c")).status_code == 200  # counted
    assert c.get(f"{F}/model.safetensors", who=WHO,
                 headers={"Range": "bytes=0-"}).status_code == 206           # from 0 to the end
    assert c.get(f"{F}/config.json?count=no", who=WHO).status_code == 200    # if= says no
    assert c.get(f"{F}/missing", who=WHO).status_code == 404
    assert c.get("/files/widget/demo/tiny-model/config.json",
                 who=WHO).status_code == 200                                 # not a repo type
    assert c.get("/files/model/de..mo/tiny-model/config.json", who=WHO).status_code == 404
    assert c.get(f"{F}/model.safetensors", who=WHO,
                 headers={"Range": "bytes=10-"}).status_code == 206          # mid range
    assert c.get(f"{F}/config.json", method="HEAD", who=WHO).status_code == 200

    s = c.settled()
    assert s["requests"] == 10 and s["counted"] == 4 and s["sent"] == 4
    assert hub.counters(rclient, hub.MODEL) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 4}
    with requests.get(ng.url("/metrics"), timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE hubstats_counted_total counter" in r.text
        assert "hubstats_counted_total{pid=" in r.text


def test_custom_layout_counts_only_get(make_nginx, redis, rclient, secret_file, hub_root):
    """A location answering 200 to any method: uploads (PUT), OPTIONS, DELETE and POST
    are not downloads; only the GET is."""
    ng = make_nginx(custom_conf(redis, secret_file, hub_root))
    c = Client(ng, status_path="/status")
    url = "/any/model/demo/tiny-model/config.json"
    for method in ("PUT", "OPTIONS", "DELETE", "POST", "PATCH"):
        assert c.get(url, method=method, who=WHO).status_code == 200, method
    assert c.get(url, who=WHO).status_code == 200  # the one download
    s = c.settled()
    assert s["requests"] == 6 and s["counted"] == 1 and s["sent"] == 1
    assert hub.counters(rclient, hub.MODEL) == {
        "downloads": 1, "authenticated": 0, "anonymous": 1, "files": 1}


def test_status_formats(make_nginx, redis, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    assert c.get("/models/demo/tiny-model/resolve/main/config.json", who=WHO).status_code == 200
    plain = c.settled()
    assert set(plain) == {"pid", "requests", "counted", "new_sessions", "sent", "failed",
                          "dropped", "spooled", "replayed", "queued", "redis_connected"}
    assert plain["pid"] in ng.worker_pids()

    r = requests.get(ng.url("/hubstats?format=prometheus"), timeout=10)
    assert r.status_code == 200
    samples = {}
    for line in r.text.splitlines():
        if line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        samples[name_labels] = int(value)
    pid = plain["pid"]
    for name, value in [("hubstats_requests_total", plain["requests"]),
                        ("hubstats_counted_total", 1), ("hubstats_sent_total", 1),
                        ("hubstats_new_sessions_total", 1), ("hubstats_failed_total", 0),
                        ("hubstats_dropped_total", 0), ("hubstats_spooled_total", 0),
                        ("hubstats_replayed_total", 0), ("hubstats_queued", 0),
                        ("hubstats_redis_connected", 1)]:
        assert samples[f'{name}{{pid="{pid}"}}'] == value
    assert "# TYPE hubstats_queued gauge" in r.text
    assert requests.head(ng.url("/hubstats"), timeout=10).status_code == 200
    assert requests.post(ng.url("/hubstats"), timeout=10).status_code == 405
