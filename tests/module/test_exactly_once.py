"""Exactly once from nginx to Redis: replies lost to command timeouts (a paused
Redis) and connections cut after Redis ran the commands but before the reply came
back. Ground truth: nginx's access log. Every download is a new identity, so each
must be one file and one download in Redis: fewer is a loss, more a double."""
import os
import signal
import threading
import time

import faults
import hub
from hub import Client


def test_cut_replies_and_timeouts_lose_and_double_nothing(make_nginx, redis, rclient,
                                                          secret_file, hub_root):
    relay = faults.CutRelay(redis.port, cuts=25, seed=7)
    try:
        class Via:
            address = relay.address
        ng = make_nginx(hub.http_conf(Via, secret_file, hub_root, main_extra="""
            hubstats_command_timeout 200ms;
            hubstats_reconnect_backoff 20ms 100ms;
            hubstats_flush_interval 2ms;"""), workers=2)
        c = Client(ng)
        stop = threading.Event()

        def pauses():
            # Redis paused longer than the command timeout, a few times under traffic.
            while not stop.wait(0.4):
                os.kill(redis.pid, signal.SIGSTOP)
                time.sleep(0.35)
                os.kill(redis.pid, signal.SIGCONT)

        pauser = threading.Thread(target=pauses)
        pauser.start()
        try:
            codes = faults.traffic(ng, 0, 1200)
        finally:
            stop.set()
            pauser.join()
            os.kill(redis.pid, signal.SIGCONT)
        assert codes == [200] * 1200
        # Whichever worker answers the status: every worker must drain.
        for _ in range(4):
            c.wait_status(lambda s: s["queued"] == 0, "the outbox to drain", timeout=30)
        assert relay.cut >= 10, "the relay cut too few replies to test anything"
        assert "did not answer within 200 ms" in ng.error_log_text()
        ng.stop()
        summaries = hub.exit_summaries(ng)
        assert sum(s["failed"] for s in summaries) == 0
        assert sum(s["dropped"] for s in summaries) == 0
        assert sum(s["sent"] for s in summaries) == sum(s["counted"] for s in summaries) == 1200
        faults.assert_exact(rclient, [ng.prefix / "access.log"])
    finally:
        relay.close()


def test_redis_loading_after_restart_loses_nothing(make_nginx, tmp_path, secret_file, hub_root):
    """A restarted Redis answers -LOADING while it reads its data set back. That is
    "not now", not a rejection: the module backs off and sends the batches again."""
    import subprocess
    from harness.ports import free_port, wait_for_port, wait_until
    from harness.procs import terminate
    from harness.redis import RedisClient

    port, data = free_port(), tmp_path / "redis-loading"
    data.mkdir()

    def redis_server(*extra):
        p = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port), "--bind",
                              "127.0.0.1", "--dir", str(data), "--save", "",
                              "--appendonly", "no", "--protected-mode", "no",
                              "--enable-debug-command", "yes", *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(port)
        return p

    proc = redis_server()
    try:
        class Addr:
            address = f"127.0.0.1:{port}"
        ng = make_nginx(hub.http_conf(Addr, secret_file, hub_root, main_extra="""
            hubstats_reconnect_backoff 50ms 400ms;"""))
        c = Client(ng)
        c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
        with RedisClient(port) as rc:
            rc.execute("DEBUG", "POPULATE", "30000", "filler")
            rc.execute("SAVE")
        terminate(proc)
        # 30,000 keys at 100 µs each: about 3 s of LOADING replies.
        proc = redis_server("--key-load-delay", "100",
                            "--loading-process-events-interval-bytes", "1024")
        with RedisClient(port) as rc:
            try:
                rc.execute("PING")
                loading = False
            except Exception as e:  # noqa: BLE001 (the harness raises RedisError)
                loading = "LOADING" in str(e)
        assert loading, "redis was not loading: the test would prove nothing"
        codes = faults.traffic(ng, 0, 200, threads=4)
        assert codes == [200] * 200
        s = c.wait_status(lambda s: s["sent"] == 200 and s["queued"] == 0,
                          "delivery once redis has loaded", timeout=60)
        assert s["failed"] == 0 and s["dropped"] == 0
        assert "LOADING" in ng.error_log_text()
        with RedisClient(port) as rc:
            faults.assert_exact(rc, [ng.prefix / "access.log"])
    finally:
        terminate(proc)


def test_redis_out_of_memory_holds_events_until_it_has_room(make_nginx, redis, rclient,
                                                            secret_file, hub_root):
    """maxmemory reached (noeviction): Redis refuses the script with -OOM before it
    runs. The events wait (queue, then spool) and go in once there is room."""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra="""
        hubstats_queue_size 30;
        hubstats_reconnect_backoff 50ms 200ms;"""))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    rclient.execute("CONFIG", "SET", "maxmemory-policy", "noeviction")
    rclient.execute("CONFIG", "SET", "maxmemory", "1")
    try:
        assert faults.traffic(ng, 0, 100, threads=4) == [200] * 100
        from harness.ports import wait_until
        wait_until(lambda: "OOM" in ng.error_log_text(), what="an OOM reply")
        s = c.status()
        assert s["failed"] == 0 and s["sent"] == 0
    finally:
        rclient.execute("CONFIG", "SET", "maxmemory", "0")
    s = c.wait_status(lambda s: s["queued"] == 0 and s["sent"] + s["replayed"] == 100,
                      "delivery once redis has room", timeout=30)
    assert s["failed"] == 0 and s["dropped"] == 0 and s["spooled"] > 0
    faults.assert_exact(rclient, [ng.prefix / "access.log"])


def test_read_only_replica_holds_events_until_writable(make_nginx, redis, rclient, secret_file,
                                                       hub_root):
    """A master demoted to a replica (failover, or `REPLICAOF` by an operator) answers
    -READONLY; a Redis that cannot persist answers -MISCONF. Neither means the batch is
    wrong: the events wait and go in once Redis takes writes again."""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra="""
        hubstats_queue_size 30;
        hubstats_reconnect_backoff 50ms 200ms;"""))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    # A master that is never reachable (port 1): the replica stays read-only.
    rclient.execute("REPLICAOF", "127.0.0.1", "1")
    try:
        assert faults.traffic(ng, 0, 100, threads=4) == [200] * 100
        from harness.ports import wait_until
        wait_until(lambda: "READONLY" in ng.error_log_text(), what="a READONLY reply")
        s = c.status()
        assert s["failed"] == 0 and s["sent"] == 0
    finally:
        rclient.execute("REPLICAOF", "NO", "ONE")
    s = c.wait_status(lambda s: s["queued"] == 0 and s["sent"] + s["replayed"] == 100,
                      "delivery once redis takes writes", timeout=30)
    assert s["failed"] == 0 and s["dropped"] == 0
    faults.assert_exact(rclient, [ng.prefix / "access.log"])
