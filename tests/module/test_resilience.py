"""Redis outages, the bounded queue, and worker exits (reload/quit) losing nothing queued."""
import threading

import requests

import hub
from hub import MODEL, Client, anon
from harness.ports import wait_until

R = "/models/demo/tiny-model/resolve/main"


def test_redis_down_requests_served_drops_counted(make_nginx, redis, secret_file, hub_root):
    # Without a spool, events past the queue are dropped (test_spool.py: with one).
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra="""
        hubstats_spool off;
        hubstats_queue_size 5;
        hubstats_reconnect_backoff 50ms 200ms;"""))
    c = Client(ng)
    for i in range(3):
        assert c.get(f"{R}/config.json", who=anon(f"10.5.0.{i}", "ua")).status_code == 200
    assert c.settled()["sent"] == 3

    redis.stop()
    c.wait_status(lambda s: s["redis_connected"] == 0, "the module to notice redis is gone")
    codes = [c.get(f"{R}/config.json", who=anon(f"10.5.1.{i}", "ua")).status_code
             for i in range(12)]
    assert codes == [200] * 12
    s = c.status()
    assert s["counted"] == 15
    assert s["queued"] == 5          # the cap
    assert s["dropped"] == 12 - 5    # everything past the cap
    assert "event queue full" in ng.error_log_text()

    # Redis comes back (empty): the module reconnects and delivers what it queued.
    redis.start()
    s = c.wait_status(lambda s: s["redis_connected"] == 1 and s["queued"] == 0,
                      "reconnect and drain")
    assert s["sent"] == 3 + 5 and s["failed"] == 0
    with redis.client() as rc:
        assert hub.counters(rc, MODEL) == {
            "downloads": 5, "authenticated": 0, "anonymous": 5, "files": 5}


def queue_while_redis_down(make_nginx, redis, secret_file, hub_root, n, subnet, extra=""):
    """An nginx that lost Redis, with n countable requests served since. A long backoff:
    the async side will not reconnect during the test, so only the exit flush can
    deliver the queued events."""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root,
                                  main_extra="hubstats_reconnect_backoff 60s 60s;" + extra))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    redis.stop()
    c.wait_status(lambda s: s["redis_connected"] == 0, "disconnected")
    for i in range(n):
        assert c.get(f"{R}/README.md", who=anon(f"{subnet}.{i}", "ua")).status_code == 200
    return ng, c


def test_quit_flushes_queue_with_blocking_connection(make_nginx, redis, secret_file, hub_root):
    ng, c = queue_while_redis_down(make_nginx, redis, secret_file, hub_root, 4, "10.6.0")
    assert c.status()["queued"] == 4
    redis.start()
    ng.stop()  # graceful quit: exit_process delivers the 4 events
    [summary] = hub.exit_summaries(ng)
    assert summary["sent"] == 4 and summary["dropped"] == 0 and summary["failed"] == 0
    with redis.client() as rc:
        assert hub.counters(rc, MODEL)["files"] == 4


def test_quit_with_redis_down_counts_drops(make_nginx, redis, secret_file, hub_root):
    # With the spool off; with it on they are spooled (test_spool.py).
    ng, _ = queue_while_redis_down(make_nginx, redis, secret_file, hub_root, 3, "10.6.1",
                                   "hubstats_spool off;")
    ng.stop()
    [summary] = hub.exit_summaries(ng)
    assert summary["counted"] == 3 and summary["dropped"] == 3 and summary["sent"] == 0


def test_reload_under_traffic_loses_nothing(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root), workers=2)
    ok = []
    errors = []
    stop = threading.Event()

    def hammer(worker):
        session = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            who = anon(f"10.{worker}.{i // 250}.{i % 250}", f"hammer-{worker}")
            try:
                r = session.get(ng.url(f"{R}/config.json"), headers=who, timeout=10)
                if r.status_code == 200:
                    ok.append(1)
                else:
                    errors.append(r.status_code)
            except requests.ConnectionError:
                # A keepalive connection closed by an exiting worker: the request was
                # not served, so it must not be counted either.
                session = requests.Session()

    threads = [threading.Thread(target=hammer, args=(w,)) for w in (7, 8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(ok) > 200, timeout=20, what="traffic")
        for n in range(3):
            # Stall Redis so the old workers still have events queued and in flight
            # when they are told to exit: they must wait for the replies.
            rclient.execute("CLIENT", "PAUSE", "400", "ALL")
            ng.reload()
            target = len(ok) + 100
            wait_until(lambda: len(ok) > target, timeout=20, what="traffic after reload")
    finally:
        stop.set()
        for t in threads:
            t.join()
    ng.stop()  # the last workers flush too

    assert not errors
    served = len(ok)
    summaries = hub.exit_summaries(ng)
    assert len(summaries) == 2 * 4  # 2 workers x (3 reloads + final quit)
    assert sum(s["counted"] for s in summaries) == served
    assert sum(s["sent"] for s in summaries) == served
    assert sum(s["dropped"] + s["failed"] for s in summaries) == 0
    totals = hub.counters(rclient, MODEL)
    assert totals["files"] == served
    assert totals["downloads"] == served  # every request came from a new identity


def test_script_cache_flush_falls_back_to_eval(make_nginx, redis, rclient, secret_file, hub_root):
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root))
    c = Client(ng)
    assert c.get(f"{R}/config.json", who=anon("10.9.0.1", "ua")).status_code == 200
    c.settled()
    rclient.execute("SCRIPT", "FLUSH")
    for i in range(3):
        assert c.get(f"{R}/config.json", who=anon(f"10.9.1.{i}", "ua")).status_code == 200
    s = c.settled()
    assert s["sent"] == 4 and s["failed"] == 0
    assert hub.counters(rclient, MODEL) == {
        "downloads": 4, "authenticated": 0, "anonymous": 4, "files": 4}
