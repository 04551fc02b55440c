"""Exact Redis counters for a known workload through real nginx + module + Redis."""
import datetime
import email.utils
import re
import time

import hub
from hub import DATASET, MODEL, Client, anon, bearer, cookie, user
from harness.ports import wait_until

R = "/models/demo/tiny-model/resolve/main"


def test_known_workload_exact_counts(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    alice, bob, carol = bearer("tok-alice"), cookie("bob-session"), user("carol")
    # nginx answers 304 when If-Modified-Since equals the file's Last-Modified.
    last_modified = email.utils.formatdate(
        (hub_root / "models/demo/tiny-model/config.json").stat().st_mtime, usegmt=True)
    a1, a2, a3 = anon("10.0.0.1", "ua-1"), anon("10.0.0.2", "ua-1"), anon("10.0.0.1", "ua-2")

    expect_code = [
        # repo A: the model
        (c.get(f"{R}/config.json", who=alice), 200),              # alice: new auth session
        (c.get(f"{R}/model.safetensors", who=alice), 200),        # same session
        (c.get("/api/models/demo/tiny-model/resolve/main/README.md", who=alice), 200),
        (c.get("/demo/tiny-model/resolve/main/config.json", who=alice), 200),  # model form
        (c.get(f"{R}/config.json", who=bearer("tok-alice", ip="10.7.7.7")), 200),  # token wins
        (c.get(f"{R}/config.json", who=bob), 200),                # bob (cookie): new session
        (c.get(f"{R}/config.json", method="HEAD", who=bob), 200),  # HEAD: never
        (c.get(f"{R}/missing.bin", who=bob), 404),                # 404: never
        (c.get(f"{R}/config.json", who=bob,
               headers={"If-Modified-Since": last_modified}), 304),
        (c.get(f"{R}/model.safetensors", who=carol, headers={"Range": "bytes=0-"}), 206),  # to the end
        (c.get(f"{R}/model.safetensors", who=carol, headers={"Range": "bytes=1024-"}), 206),
        (c.get(f"{R}/config.json", who=a1), 200),                 # anon 1: new session
        (c.get(f"{R}/README.md", who=a1), 200),
        (c.get(f"{R}/config.json", who=a2), 200),                 # other IP: new session
        (c.get(f"{R}/config.json", who=a3), 200),                 # other UA: new session
        # repo B: the dataset (sessions are per repo)
        (c.get("/datasets/demo/tiny-dataset/resolve/main/data.csv", who=alice), 200),
        (c.get("/datasets/demo/tiny-dataset/resolve/main/redirected.bin", who=a1), 302),
        (c.get("/datasets/demo/tiny-dataset/resolve/main/data.csv", who=a1), 200),
        # a middle range never opens a session either
        (c.get("/datasets/demo/tiny-dataset/resolve/main/data.csv", who=a2,
               headers={"Range": "bytes=2-"}), 206),
    ]
    for i, (resp, code) in enumerate(expect_code):
        assert resp.status_code == code, f"request #{i}: {resp.status_code} != {code}"

    s = c.settled()
    assert hub.counters(rclient, MODEL) == {
        "downloads": 6, "authenticated": 3, "anonymous": 3, "files": 11}
    assert hub.counters(rclient, DATASET) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 3}
    assert s["requests"] == len(expect_code)
    assert s["counted"] == 14
    assert s["sent"] == 14
    assert s["new_sessions"] == 8
    assert s["failed"] == 0 and s["dropped"] == 0
    assert s["redis_connected"] == 1

    # The day is the request's UTC day; both repos are marked dirty for the continuous
    # fold, in their shards, and the old day index is no longer written.
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    assert rclient.execute("SMEMBERS", "hs:{model/demo/tiny-model}:days") == [today]
    dirty = {}
    for k in rclient.keys("hs:{dirty:*}"):
        dirty.update({tag: k for tag in rclient.execute("SMEMBERS", k)})
        assert rclient.pttl(k) == -1  # the daemon consumes it: no TTL
    assert dirty == {"dataset/demo/tiny-dataset": hub.dirty_key("dataset/demo/tiny-dataset"),
                     "model/demo/tiny-model": hub.dirty_key("model/demo/tiny-model")}
    assert rclient.keys("hs:idx:*") == []
    # Counters expire after the retention (default 14 days).
    ttl = rclient.execute("TTL", f"hs:{{model/demo/tiny-model}}:d:{today}")
    assert 13 * 86400 < ttl <= 14 * 86400
    # 6 + 2 sessions: fields (identity hash -> start ms) of the repos' bucket hashes
    # for the default 30 minute window, which expire within two windows.
    sessions = {}
    for k in rclient.keys("hs:*:s:*"):
        assert k.split(":")[-2] == str(30 * 60 * 1000)
        assert 0 < rclient.pttl(k) <= 2 * 30 * 60 * 1000
        sessions.update({(k, f): v for f, v in rclient.hgetall(k).items()})
    assert len(sessions) == 8
    assert all(re.fullmatch(r"[0-9a-f]{16}", f) for _, f in sessions)
    assert all(abs(int(v) - time.time() * 1000) < 60_000 for v in sessions.values())

    # Privacy: no raw address, token, cookie, user name or User-Agent anywhere.
    dump = []
    for k in rclient.keys("*"):
        dump.append(k)
        kind = rclient.execute("TYPE", k)
        if kind == "hash":
            dump += [f"{a}={b}" for a, b in rclient.hgetall(k).items()]
        elif kind == "set":
            dump += rclient.execute("SMEMBERS", k)
        else:
            dump.append(str(rclient.execute("GET", k)))
    text = "\n".join(dump)
    for raw in ("10.0.0.1", "10.0.0.2", "tok-alice", "bob-session", "carol", "ua-1", "hf-hub"):
        assert raw not in text


def test_session_window_expires(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra="hubstats_session_window 2s;"))
    c = Client(ng)
    who = anon("10.1.1.1", "ua-window")
    assert c.get(f"{R}/config.json", who=who).status_code == 200
    c.settled()
    [bucket] = rclient.keys("hs:*:s:2000:*")
    [start] = [int(v) for v in rclient.hgetall(bucket).values()]

    # Halfway through the window (by the clock the start was stamped with), download
    # again: the window is fixed at the first file, so the repeat neither counts a
    # session nor moves the start.
    wait_until(lambda: time.time() * 1000 >= start + 1000, timeout=5, what="window half gone")
    assert c.get(f"{R}/README.md", who=who).status_code == 200
    c.settled()
    assert time.time() * 1000 < start + 2000, "the repeat came too late to test the window"
    assert hub.counters(rclient, MODEL) == {
        "downloads": 1, "authenticated": 0, "anonymous": 1, "files": 2}
    assert [int(v) for v in rclient.hgetall(bucket).values()] == [start]

    # Once the window has passed, the same identity opens a new session.
    wait_until(lambda: time.time() * 1000 >= start + 2100, timeout=5, what="window over")
    assert c.get(f"{R}/config.json", who=who).status_code == 200
    s = c.settled()
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 0, "anonymous": 2, "files": 3}
    assert s["new_sessions"] == 2 and s["sent"] == 3


def test_proxied_hub_302_and_upstream_user_header(make_nginx, redis, rclient, secret_file):
    """Like KohakuHub behind nginx: resolve is proxied, the hub answers 302 to storage
    and names the logged-in user in a response header used by hubstats_user."""
    ng = make_nginx(f"""
  hubstats_redis {redis.address};
  hubstats_secret_file {secret_file};
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  server {{
    listen 127.0.0.1:@PORT@;
    location ~ /resolve/ {{
      hubstats on;
      hubstats_user $upstream_http_x_user;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_pass http://127.0.0.1:@PORT@/__hub$uri;
    }}
    location ^~ /__hub/ {{
      # the "hub": a presigned redirect, plus X-User when the caller is logged in
      add_header X-User $http_x_login always;
      return 302 http://storage.invalid/presigned$uri;
    }}
    location = /hubstats {{ hubstats_status; }}
  }}""")
    c = Client(ng)
    for who in (anon("10.0.1.1", "ua"), anon("10.0.1.1", "ua"),
                {"X-Login": "dave", "X-Forwarded-For": "10.0.1.2"},
                {"X-Login": "dave", "X-Forwarded-For": "10.0.1.3"}):  # same user, other IP
        r = c.get("/models/demo/tiny-model/resolve/main/config.json", who=who)
        assert r.status_code == 302
    s = c.settled()
    assert s["counted"] == 4
    assert hub.counters(rclient, MODEL) == {
        "downloads": 2, "authenticated": 1, "anonymous": 1, "files": 4}


def test_every_batch_marks_its_repo_dirty_again(make_nginx, redis, rclient, secret_file,
                                                hub_root):
    """The continuous fold takes a dirty shard whole; any later event of the repo must
    mark it again. (The day index it replaces was skipped once confirmed for the day,
    so a repo whose entry was consumed, or a late event of a past day, went unmarked.)"""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    tag = "model/demo/tiny-model"
    key = hub.dirty_key(tag)
    for i in range(3):
        assert c.get(f"{R}/config.json", who=anon(f"10.3.0.{i}", "ua")).status_code == 200
        c.settled()
        assert rclient.execute("SMEMBERS", key) == [tag], f"round {i}"
        # What a fold does: take the shard whole (RENAME to its taken key), then finish.
        rclient.execute("RENAME", key, key + ":taken")
        rclient.execute("DEL", key + ":taken")
    assert hub.counters(rclient, MODEL)["downloads"] == 3


def test_a_batch_gathers_a_flush_interval_of_events(make_nginx, redis, rclient, secret_file,
                                                    hub_root):
    """Under steady traffic each repo's events go to Redis once per flush interval (or
    at 256 waiting), not after every reply: edge-triggered epoll reports the Redis
    socket writable with each reply, and flushing on that made a batch hold one round
    trip's events (about 20 under load instead of hundreds), with Redis's per-call
    cost paid that much more often."""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra="hubstats_flush_interval 100ms;"))
    c = Client(ng)
    assert c.get(f"{R}/config.json", who=anon("10.1.0.0", "warm")).status_code == 200
    c.settled()
    rclient.execute("CONFIG", "RESETSTAT")
    start, n = time.monotonic(), 0
    while time.monotonic() - start < 1.0:
        n += 1
        assert c.get(f"{R}/config.json", who=anon(f"10.1.{n // 250}.{n % 250}", "steady")
                     ).status_code == 200
    elapsed = time.monotonic() - start
    c.settled()
    calls = int(re.search(r"cmdstat_evalsha:calls=(\d+)",
                          rclient.execute("INFO", "commandstats")).group(1))
    assert n >= 50, f"only {n} requests in a second"
    assert calls <= elapsed / 0.1 + 3, f"{calls} record calls for {n} events in {elapsed:.2f} s"
    assert hub.counters(rclient, MODEL)["downloads"] == n + 1
