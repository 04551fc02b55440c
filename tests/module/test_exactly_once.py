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
