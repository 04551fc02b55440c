"""The spool: events the queue cannot hold while Redis is down, and what a worker
still holds when it exits (reload, quit, restart), go to files on disk and are
replayed once Redis is back. Ground truth: nginx's access log; every download is a
new identity, so each must be one file and one download in Redis."""
import os
import struct
import time

import faults
import hub
from hub import Client
from harness.ports import wait_until
from harness.small_disk import small_disk

QUEUE = 20  # hubstats_queue_size in these tests: small, so the outage overflows it


def stop_redis_keeping_data(redis):
    """Stops redis-server after writing its data set to disk (SHUTDOWN SAVE), so the
    next start() loads it: an outage, not a data loss."""
    try:
        with redis.client() as rc:
            rc.execute("SHUTDOWN", "SAVE")
    except (ConnectionError, OSError):
        pass
    redis.stop()


def spool_files(ng):
    return sorted((ng.prefix / "hubstats_spool").glob("*.spool"))


def wait_replayed(ng, timeout=60):
    """Until every spool file is replayed (gone) and no worker holds anything."""
    c = Client(ng)
    wait_until(lambda: not spool_files(ng), timeout=timeout, what="spool files to be replayed")
    for _ in range(2 * ng.workers):
        c.wait_status(lambda s: s["queued"] == 0 and s["redis_connected"] == 1,
                      "workers to drain", timeout=timeout)


def nginx_in_outage(make_nginx, redis, secret_file, hub_root, extra=""):
    """(nginx, client): one worker, a queue of 5, connected to Redis, which is then
    stopped keeping its data."""
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra=f"""
        hubstats_queue_size 5;
        {extra}
        hubstats_reconnect_backoff 50ms 200ms;"""))
    c = Client(ng)
    c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
    stop_redis_keeping_data(redis)
    c.wait_status(lambda s: s["redis_connected"] == 0, "disconnected")
    return ng, c


def test_outage_with_reload_and_restart_loses_and_doubles_nothing(
        make_nginx, redis, secret_file, hub_root):
    # The spool is on by default, under the prefix: no hubstats_spool directive here
    # (so the same test runs against a module without a spool, and fails there).
    ng = make_nginx(hub.http_conf(redis, secret_file, hub_root, main_extra=f"""
        hubstats_queue_size {QUEUE};
        hubstats_reconnect_backoff 50ms 200ms;"""), workers=2)
    c = Client(ng)
    assert faults.traffic(ng, 0, 60) == [200] * 60
    c.settled()

    stop_redis_keeping_data(redis)
    for _ in range(4):
        c.wait_status(lambda s: s["redis_connected"] == 0, "workers to notice")
    served = 0
    # At least 10 x hubstats_queue_size downloads during the outage, with a reload
    # (old workers exit holding full queues) and a full stop/start in the middle.
    served += len(faults.traffic(ng, 1000, 120))
    ng.reload()
    served += len(faults.traffic(ng, 2000, 120))
    ng.stop()
    assert spool_files(ng), "the workers exited with Redis down: their events must be on disk"
    ng.start()
    served += len(faults.traffic(ng, 3000, 120))
    assert served == 360 >= 10 * QUEUE

    summaries = hub.exit_summaries(ng)
    assert sum(s.get("spooled", 0) for s in summaries) > 0
    assert sum(s["dropped"] + s["failed"] for s in summaries) == 0

    redis.start()  # loads what it saved
    wait_replayed(ng)
    with redis.client() as rc:
        faults.assert_exact(rc, [ng.prefix / "access.log"])
    assert "replaying spool file" in ng.error_log_text()


def test_spool_full_drops_are_counted_and_requests_served(make_nginx, redis, secret_file,
                                                          hub_root):
    ng, c = nginx_in_outage(make_nginx, redis, secret_file, hub_root,
                            "hubstats_spool @PREFIX@/spool max_size=3k;")
    assert faults.traffic(ng, 0, 300, threads=4) == [200] * 300
    s = c.wait_status(lambda s: s["queued"] == 5, "the spool buffer to be written")
    assert s["counted"] == 300
    assert s["spooled"] > 0 and s["dropped"] > 0
    assert s["spooled"] + s["dropped"] + s["queued"] == 300
    size = sum(p.stat().st_size for p in (ng.prefix / "spool").glob("*.spool"))
    assert 0 < size <= 3 * 1024
    assert "spool full" in ng.error_log_text()

    # Back: what was spooled is replayed (by this worker, from its own file).
    redis.start()
    s = c.wait_status(lambda s: s["replayed"] == s["spooled"] and s["queued"] == 0,
                      "the spool to be replayed", timeout=30)
    with redis.client() as rc:
        got = faults.counted(rc)
    assert sum(v["files"] for v in got.values()) == 300 - s["dropped"]
    assert sum(v["downloads"] for v in got.values()) == 300 - s["dropped"]


def test_spool_on_a_full_disk_drops_are_counted_and_requests_served(
        make_nginx, redis, secret_file, hub_root, tmp_path):
    """A real full disk under the spool (a 64 KiB tmpfs, max_size far above it): once
    writes fail with ENOSPC, the events they held are dropped, counted and logged at a
    limited rate, every request is served, and no torn record is left behind (a write
    cut short is truncated away). What reached the disk is replayed exactly once, and
    once the replay has given the space back, the next outage spools again."""
    with small_disk(tmp_path / "small-disk", "64k") as disk:
        ng, c = nginx_in_outage(make_nginx, redis, secret_file, hub_root,
                                f"hubstats_spool {disk} max_size=1g;")
        n = 2000
        began = time.monotonic()
        assert faults.traffic(ng, 0, n, threads=4) == [200] * n
        # Logged with its cause, even though Redis's connect errors were logged just
        # before (each kind has its own rate limit).
        wait_until(lambda: "cannot write the spool file" in ng.error_log_text(),
                   what="a failed spool write")
        assert "No space left on device" in ng.error_log_text()
        # The open records closed and written (or dropped): only the queue holds events.
        s = c.wait_status(lambda s: s["queued"] == 5, "the spool buffer to be written")
        assert s["counted"] == n and s["spooled"] > 0 and s["dropped"] > 0
        assert s["spooled"] + s["dropped"] + s["queued"] == n
        # The error is logged at a limited rate (every 5 s at most), not per write.
        lines = ng.error_log_text().count("cannot write the spool file")
        assert lines <= 1 + (time.monotonic() - began) // 5, lines

        redis.start()
        wait_replayed(ng)
        s = c.wait_status(lambda s: s["replayed"] == s["spooled"] and s["queued"] == 0,
                          "the spool to be replayed", timeout=30)
        with redis.client() as rc:
            got = faults.counted(rc)
        assert sum(v["files"] for v in got.values()) == n - s["dropped"]
        assert sum(v["downloads"] for v in got.values()) == n - s["dropped"]
        print(f"spool disk full: {n} served, {s['spooled']} spooled and replayed, "
              f"{s['dropped']} dropped")
        log = ng.error_log_text()
        assert "torn record" not in log and "corrupt record" not in log

        # The replayed files are gone: the disk has room again for the next outage.
        dropped = s["dropped"]
        stop_redis_keeping_data(redis)
        c.wait_status(lambda s: s["redis_connected"] == 0, "disconnected")
        assert faults.traffic(ng, n, 100, threads=4) == [200] * 100
        redis.start()
        wait_replayed(ng)
        s = c.wait_status(lambda s: s["replayed"] == s["spooled"] and s["queued"] == 0,
                          "the second outage to be replayed", timeout=30)
        assert s["dropped"] == dropped
        with redis.client() as rc:
            got = faults.counted(rc)
        assert sum(v["downloads"] for v in got.values()) == n + 100 - dropped


def test_the_spool_is_synced_through_kernel_aio_not_a_thread(make_nginx, redis, secret_file,
                                                             hub_root):
    # A second thread in a worker would put glibc on its multi-threaded paths for every
    # system call and malloc of nginx's, for as long as the worker lives: the spool's
    # fdatasync goes through Linux AIO instead, whose ring shows in the worker's
    # mappings as "[aio]".
    ng, c = nginx_in_outage(make_nginx, redis, secret_file, hub_root)
    (pid,) = ng.worker_pids()

    def aio_rings():  # nginx built --with-file-aio has one of its own
        with open(f"/proc/{pid}/maps") as f:
            return f.read().count("[aio]")
    before = aio_rings()
    assert faults.traffic(ng, 0, 50) == [200] * 50
    wait_until(lambda: aio_rings() == before + 1, timeout=30, what="the spool's first sync")
    assert len(os.listdir(f"/proc/{pid}/task")) == 1
    assert c.status()["spooled"] > 0
    assert "synced by a helper thread" not in ng.error_log_text()


def records(data: bytes) -> list[int]:
    """Event counts of the framed records in a spool file (spool_format.h), so the
    test knows how many events a torn last record held."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        magic, length, _crc = data[pos:pos + 4], *struct.unpack_from("<II", data, pos + 4)
        assert magic == b"HSB1"
        p = data[pos + 12:pos + 12 + length]
        if len(p) < length:
            break
        i = 2 + p[1] + 8 + 1
        i += 2 + struct.unpack_from("<H", p, i)[0]
        i += 2 + struct.unpack_from("<H", p, i)[0]
        out.append(struct.unpack_from("<I", p, i + 4)[0])
        pos += 12 + length
    return out


def test_torn_last_record_is_skipped_and_the_rest_replayed_after_restart(
        make_nginx, redis, secret_file, hub_root):
    ng, c = nginx_in_outage(make_nginx, redis, secret_file, hub_root)
    assert faults.traffic(ng, 0, 80, threads=1) == [200] * 80
    ng.stop()  # the exiting worker writes queue and spill to its spool file
    [summary] = hub.exit_summaries(ng)
    assert summary["spooled"] == 80
    [f] = spool_files(ng)
    data = f.read_bytes()
    counts = records(data)
    assert sum(counts) == 80 and len(counts) >= 2
    # A crash in the middle of writing the last record: its tail never reached the disk.
    f.write_bytes(data[:-7])

    redis.start()
    ng.start()  # a new nginx finds the previous one's file and replays it
    wait_replayed(ng)
    with redis.client() as rc:
        got = faults.counted(rc)
    lost = counts[-1]
    assert sum(v["files"] for v in got.values()) == 80 - lost
    assert sum(v["downloads"] for v in got.values()) == 80 - lost
    assert "torn record" in ng.error_log_text()


def test_spool_directive_errors(tmp_path, secret_file, hub_root, redis):
    from harness.nginx import nginx_t
    for bad, msg in [("hubstats_spool /x max_size=lots;", "invalid parameter \"max_size=lots\""),
                     ("hubstats_spool /x size=1g;", "invalid parameter \"size=1g\""),
                     ("hubstats_spool off max_size=1g;", "\"off\" takes no parameters")]:
        r = nginx_t(tmp_path, hub.http_conf(redis, secret_file, hub_root, main_extra=bad))
        assert r.returncode != 0 and msg in r.stdout, r.stdout
    r = nginx_t(tmp_path, hub.http_conf(redis, secret_file, hub_root,
                                        main_extra="hubstats_spool off;"))
    assert r.returncode == 0, r.stdout


def test_worker_killed_mid_replay_doubles_nothing(tmp_path, redis, secret_file, hub_root):
    """A replaying worker dies (SIGKILL) after sending batches Redis has not answered
    yet (Redis paused): Redis runs them when it wakes, and the respawned worker replays
    the whole file again. The batch ids make the second pass a no-op where the first
    one got through. (No make_nginx fixture: the kill logs an [alert] on purpose.)"""
    import os
    import signal
    from harness.nginx import Nginx
    conf = hub.http_conf(redis, secret_file, hub_root, main_extra="""
        hubstats_queue_size 50;
        hubstats_command_timeout 60s;
        hubstats_reconnect_backoff 50ms 200ms;""")
    ng = Nginx(tmp_path, conf)
    try:
        c = Client(ng)
        c.wait_status(lambda s: s["redis_connected"] == 1, "connected")
        stop_redis_keeping_data(redis)
        c.wait_status(lambda s: s["redis_connected"] == 0, "disconnected")
        assert faults.traffic(ng, 0, 3000) == [200] * 3000
        ng.stop()
        assert spool_files(ng)

        redis.start()
        os.kill(redis.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            ng.start()
            wait_until(lambda: "replaying spool file" in ng.error_log_text(), timeout=20,
                       what="the replay to start")
            [worker] = ng.worker_pids()
            os.kill(worker, signal.SIGKILL)
            wait_until(lambda: ng.worker_pids() and worker not in ng.worker_pids(),
                       what="a new worker")
        finally:
            os.kill(redis.pid, signal.SIGCONT)
        wait_replayed(ng)
        with redis.client() as rc:
            faults.assert_exact(rc, [ng.prefix / "access.log"])
        assert ng.error_log_text().count("replaying spool file") >= 2
    finally:
        ng.stop()
