"""kRecordBatch (one script call per batch of a repo and day, what the module sends)
on a real redis-server, against a plain Python model of the counting rules: a
download session is a fixed window that starts at an identity's first file; every
file counts; counters are per repo and UTC day.

The randomized test feeds batches formed the way the module forms them (flushes of
random size at increasing times, split per repo, a new batch whenever a repo's day
changes) and runs folds (kFoldTake + kFoldFinish, the daemon's scripts) in between,
so a day hash is renamed away and recreated mid-sequence. Every batch carries an id
(stream, number) and some are sent twice, as a worker resends a batch whose reply
it lost: the second send must change nothing."""
import random
import re
import time

import pytest

from harness import breakdown_log
from harness.paths import SOURCE_DIR
from harness.redis import RedisServer

SCRIPTS_H = SOURCE_DIR / "shared/include/hubstats/contract/scripts.h"
WINDOW_MS = 600_000
RETENTION_S = 3600
REPOS = ["model/demo/a", "dataset/org/b.v2"]
DAYS = ["20261125", "20261126"]


def script(name: str) -> str:
    """The body of `inline constexpr std::string_view <name> = R"lua(...)lua";`."""
    text = SCRIPTS_H.read_text()
    m = re.search(r"\b%s = R\"lua\((.*?)\)lua\";" % re.escape(name), text, re.S)
    assert m, f"{name} not found in {SCRIPTS_H}"
    return m.group(1)


def day_key(repo, day):
    return f"hs:{{{repo}}}:d:{day}"


def days_key(repo):
    return f"hs:{{{repo}}}:days"


def sessions_key(repo, window, bucket):
    return f"hs:{{{repo}}}:s:{window}:{bucket}"


def batches_key(repo):
    return f"hs:{{{repo}}}:b"


def stream_id(born_s=None, rand=0x2A):
    """16 hex chars: 8 of the stream's creation time (Unix s), 8 random."""
    return "%08x%08x" % (int(time.time()) if born_s is None else born_s, rand)


def paths_key(repo, day):
    return f"hs:{{{repo}}}:p:{day}"


def log_key(repo, day):
    return f"hs:{{{repo}}}:x:{day}"


def clients_key(repo, day):
    return f"hs:{{{repo}}}:c:{day}"


FAMILIES = ["huggingface_hub", "transformers", "diffusers", "datasets", "sentence-transformers",
            "git", "git-lfs", "curl", "wget", "aria2", "python-requests", "browser", "bot",
            "other"]
SPECIAL = ("(git)", "(lfs)", "(other)")


def full(ev):
    """(identity, authenticated[, path, family letter, bot]) with the defaults."""
    return tuple(ev) + ("(other)", "n", False)[len(ev) - 2:]


def record(rc, sha, repo, day, now, events, window=WINDOW_MS, stream="", seq=0, times=None,
           max_paths=1000, compact=1):
    """Runs kRecordBatch as the module sends it; events are (identity, authenticated)
    or (identity, authenticated, path, family letter, bot), each at its time in
    `times` (default: all at now, which picks the bucket)."""
    bucket = now // window
    times = times or [now] * len(events)
    evs = [full(e) for e in events]
    # The module sums the batch's families and non-bot paths (scripts::BatchBreakdown)
    # into one breakdown-log record: each once with its files, in order of first event;
    # one letter per event names its family's index k in that list and its kind (96 + k
    # anonymous, 64 + k authenticated, 32 + k bot); the number of bots goes beside.
    # compact: the log size past which the script compacts the log into the hashes
    # (1: after every batch).
    fams, letters, paths = {}, [], {}
    for _, auth, path, fam, bot in evs:
        name = FAMILIES[ord(fam) - ord("a")]
        if name not in fams:
            fams[name] = [len(fams) + 1, 0]
        fams[name][1] += 1
        letters.append(chr((32 if bot else 64 if auth else 96) + fams[name][0]))
        if not bot:
            paths[path] = paths.get(path, 0) + 1
    rec = "".join(f"f{name}\t{n}\n" for name, (_, n) in fams.items()) + \
        "".join(f"p{path}\t{n}\n" for path, n in paths.items())
    return rc.execute("EVALSHA", sha, 8, day_key(repo, day), days_key(repo),
                      sessions_key(repo, window, bucket), sessions_key(repo, window, bucket - 1),
                      batches_key(repo), paths_key(repo, day), clients_key(repo, day),
                      log_key(repo, day), window, RETENTION_S, day, stream, seq,
                      "".join(letters), sum(1 for e in evs if e[4]), max_paths, compact,
                      *[e[0] for e in evs], *times, rec)


class Model:
    """The counting rules, written plainly."""

    def __init__(self, max_paths=1000):
        self.start = {}     # (repo, identity) -> start ms of its latest session
        self.counters = {}  # (repo, day) -> {field: n}; a fold removes the entry
        self.paths = {}     # (repo, day) -> {path: files}, past the cap in (other)
        self.raw_paths = {}  # (repo, day) -> {path: files}, no cap (the breakdown log)
        self.clients = {}   # (repo, day) -> {"d:fam"|"f:fam": n}
        self.max_paths = max_paths

    def record(self, repo, day, now, events):
        new = 0
        c = self.counters.setdefault((repo, day), {})
        cl = self.clients.setdefault((repo, day), {})
        batch_paths = {}  # in first-appearance order
        for ident, auth, path, fam, bot in map(full, events):
            name = FAMILIES[ord(fam) - ord("a")]
            s = self.start.get((repo, ident))
            if s is None or now - s >= WINDOW_MS:
                self.start[(repo, ident)] = now
                new += 1
                cl["d:" + name] = cl.get("d:" + name, 0) + 1
                if not bot:
                    for f in ("downloads", "authenticated" if auth else "anonymous"):
                        c[f] = c.get(f, 0) + 1
            cl["f:" + name] = cl.get("f:" + name, 0) + 1
            if bot:
                c["bots"] = c.get("bots", 0) + 1
            else:
                batch_paths[path] = batch_paths.get(path, 0) + 1
            c["files"] = c.get("files", 0) + (0 if bot else 1)
        raw = self.raw_paths.setdefault((repo, day), {})
        for path, n in batch_paths.items():
            raw[path] = raw.get(path, 0) + n
        p = self.paths.setdefault((repo, day), {})
        for path, n in batch_paths.items():
            if path in p or path in SPECIAL or \
                    sum(1 for k in p if k not in SPECIAL) < self.max_paths:
                p[path] = p.get(path, 0) + n
            else:
                p["(other)"] = p.get("(other)", 0) + n
        return new


PATHS = ["config.json", "model.safetensors", "sub/dir/a.bin", "README.md", "tok.json",
         "b.bin", "c.bin", "(git)", "(lfs)"]


def random_events(rng, n):
    """(repo, day, identity, authenticated, path, family, bot): a small identity pool
    so repeats are common, days that go back and forth (late events around midnight),
    more paths than the test's cap, bots among people."""
    idents = [f"{i:016x}" for i in rng.sample(range(1 << 40), 40)]
    out = []
    for _ in range(n):
        bot = rng.random() < 0.1
        fam = "m" if bot else chr(ord("a") + rng.randrange(len(FAMILIES)))
        out.append((rng.choice(REPOS), rng.choice(DAYS) if rng.random() < 0.3 else DAYS[1],
                    rng.choice(idents), rng.random() < 0.4, rng.choice(PATHS), fam, bot))
    return out


def module_batches(flush, max_batch):
    """Groups one flush like the module: per repo in order, a new batch when that
    repo's day changes or the batch is full."""
    batches, open_ = [], {}
    for ev in flush:
        repo, day = ev[0], ev[1]
        i = open_.get(repo)
        if i is None or batches[i][0][1] != day or len(batches[i]) >= max_batch:
            batches.append([])
            i = open_[repo] = len(batches) - 1
        batches[i].append(ev)
    return batches


def fold(rc, sha_take, sha_finish, repo, day, gen):
    folding = f"hs:{{{repo}}}:f:{day}"
    # kFoldTake: KEYS day, folding, epoch; ARGV gen, ttl, epoch start, epoch step
    rc.execute("EVALSHA", sha_take, 3, day_key(repo, day), folding, f"hs:{{{repo}}}:e", gen, 600,
               1000, 1)
    rc.execute("EVALSHA", sha_finish, 3, folding, day_key(repo, day), days_key(repo), gen, day)


def now_ms():
    return time.time_ns() // 1_000_000


@pytest.fixture
def rc(tmp_path):
    server = RedisServer(tmp_path)
    client = server.client()
    yield client
    client.close()
    server.stop()


@pytest.fixture
def shas(rc):
    return {name: rc.execute("SCRIPT", "LOAD", script(name))
            for name in ("kRecordBatch", "kFoldTake", "kFoldFinish")}


@pytest.mark.parametrize("seed,compact", [(1, 1), (2, 1), (3, 10**9), (4, 10**9)])
def test_batches_count_like_the_model(rc, shas, seed, compact):
    """compact 1: every batch's breakdown record is compacted into the hashes at once,
    so the hashes follow the cap exactly like the model; 10**9: the records stay in
    the breakdown log, which holds the uncapped sums (the fold applies the cap)."""
    rng = random.Random(seed)
    model = Model(max_paths=4)
    # Times start at the real clock and run ahead of it: up to two minutes per flush,
    # so windows open and close many times.
    now = now_ms()
    events = random_events(rng, 600)
    pos, gen, folds, repeats, resent = 0, 0, 0, 0, 0
    stream, seq, last_seq = stream_id(rand=seed), 0, {}
    while pos < len(events):
        flush = events[pos:pos + rng.randint(1, 60)]
        pos += len(flush)
        now += rng.randint(0, 120_000)
        for batch in module_batches(flush, max_batch=rng.choice([3, 16, 256])):
            repo, day = batch[0][0], batch[0][1]
            evs = [e[2:] for e in batch]
            want = model.record(repo, day, now, evs)
            repeats += len(evs) - want
            seq += 1
            last_seq[repo] = seq
            assert record(rc, shas["kRecordBatch"], repo, day, now, evs,
                          stream=stream, seq=seq, max_paths=4, compact=compact) == want, batch
            if rng.random() < 0.2:  # the reply was lost: the same batch again
                resent += 1
                assert record(rc, shas["kRecordBatch"], repo, day, now, evs,
                              stream=stream, seq=seq, max_paths=4, compact=compact) == -1
        if rng.random() < 0.25:  # the daemon folds a day between two flushes
            gen += 1
            repo, day = rng.choice(REPOS), rng.choice(DAYS)
            folds += rc.execute("EXISTS", day_key(repo, day))
            fold(rc, shas["kFoldTake"], shas["kFoldFinish"], repo, day, f"g{gen}")
            model.counters.pop((repo, day), None)

    assert folds > 0 and repeats > 100 and resent > 10  # the sequence exercised all
    got = {}
    for k in rc.keys("hs:*:d:*"):
        repo, day = k[k.index("{") + 1:k.index("}")], k.rsplit(":", 1)[1]
        got[(repo, day)] = {f: int(v) for f, v in rc.hgetall(k).items()}
    assert got == {k: v for k, v in model.counters.items() if v}
    # Per-file and per-client counts (the fold scripts here move only the day hash).
    for (repo, day), fields in model.clients.items():
        if compact == 1:
            assert rc.execute("EXISTS", log_key(repo, day)) == 0
            paths = {f: int(v) for f, v in rc.hgetall(paths_key(repo, day)).items()}
            clients = {f: int(v) for f, v in rc.hgetall(clients_key(repo, day)).items()}
            assert paths == model.paths[(repo, day)], (repo, day)
            assert sum(1 for f in paths if f not in SPECIAL) <= 4
        else:
            assert rc.execute("EXISTS", paths_key(repo, day), clients_key(repo, day)) == 0
            paths, clients = breakdown_log.parse(rc.execute("GET", log_key(repo, day)))
            assert paths == {k: v for k, v in model.raw_paths[(repo, day)].items() if v}
        assert clients == {k: v for k, v in fields.items() if v}, (repo, day)
    assert any("(other)" in p for p in model.paths.values())  # the cap was reached
    # Every day hash is in its repo's days set (a fold removed it, the next batch
    # re-added it), and every key has a TTL.
    # Each repo's batches hash holds the last number applied for it.
    for repo in REPOS:
        assert rc.hgetall(batches_key(repo)) == {stream: str(last_seq[repo])}
    for k in rc.keys("hs:*"):
        if ":d:" in k:
            repo = k[k.index("{") + 1:k.index("}")]
            assert k.rsplit(":", 1)[1] in rc.execute("SMEMBERS", days_key(repo)), k
        assert rc.pttl(k) > 0, k
    # The live sessions are fields of their start bucket, valued with their start.
    for (repo, ident), start in model.start.items():
        if now - start < WINDOW_MS:
            key = sessions_key(repo, WINDOW_MS, start // WINDOW_MS)
            assert rc.execute("HGET", key, ident) == str(start)


def test_repeats_inside_one_batch(rc, shas):
    sha = shas["kRecordBatch"]
    repo, day, now = REPOS[0], DAYS[0], now_ms()
    events = [("aa", True), ("bb", False), ("aa", True), ("cc", False), ("bb", False)]
    assert record(rc, sha, repo, day, now, events) == 3
    assert rc.hgetall(day_key(repo, day)) == {
        "downloads": "3", "authenticated": "1", "anonymous": "2", "files": "5"}
    assert rc.execute("SMEMBERS", days_key(repo)) == [day]
    assert 0 < rc.pttl(day_key(repo, day)) <= RETENTION_S * 1000
    # All repeats: only files grows; no empty fields appear.
    assert record(rc, sha, repo, day, now + 1, [("aa", False), ("cc", True)]) == 0
    assert rc.hgetall(day_key(repo, day))["files"] == "7"
    # A batch of repeats against a fresh day creates no download fields.
    other = DAYS[1]
    assert record(rc, sha, repo, other, now + 2, [("aa", True)]) == 0
    assert rc.hgetall(day_key(repo, other)) == {"files": "1"}
    assert sorted(rc.execute("SMEMBERS", days_key(repo))) == sorted(DAYS)
    # One bucket hash holds the three sessions; it lives two windows from its start.
    key = sessions_key(repo, WINDOW_MS, now // WINDOW_MS)
    assert rc.hgetall(key) == {"aa": str(now), "bb": str(now), "cc": str(now)}
    # (a TTL from the writer's time: the test's clock and Redis's are the same here)
    assert 2 * WINDOW_MS - now % WINDOW_MS - 5000 < rc.pttl(key) <= 2 * WINDOW_MS - now % WINDOW_MS
    assert rc.keys("hs:*:s:*") == [key]


def test_window_is_fixed_at_the_first_file_across_buckets(rc, shas):
    sha = shas["kRecordBatch"]
    repo, day, w = REPOS[1], DAYS[1], 10_000
    # The first file 1 ms before a bucket ends: the session lives in that bucket...
    base = (now_ms() // w + 1) * w
    first = base - 1
    assert record(rc, sha, repo, day, first, [("id", False)], window=w) == 1
    # ...and is found from the next bucket until exactly one window after its start,
    assert record(rc, sha, repo, day, first + w - 1, [("id", False)], window=w) == 0
    # then the next file opens a new session, stored in the bucket of its own start.
    assert record(rc, sha, repo, day, first + w, [("id", False)], window=w) == 1
    assert rc.execute("HGET", sessions_key(repo, w, (first + w) // w), "id") == str(first + w)
    # A repeat does not move the start (the window is fixed, not sliding).
    assert record(rc, sha, repo, day, first + 2 * w - 1, [("id", False)], window=w) == 0
    assert record(rc, sha, repo, day, first + 2 * w, [("id", False)], window=w) == 1
    assert rc.hgetall(day_key(repo, day)) == {
        "downloads": "3", "anonymous": "3", "files": "5"}
    # Another window length (another node's config) keeps its own buckets.
    assert record(rc, sha, repo, day, first + 2 * w, [("id", False)], window=w * 3) == 1


def test_empty_batch_changes_nothing(rc, shas):
    assert rc.execute("EVALSHA", shas["kRecordBatch"], 7, day_key(REPOS[0], DAYS[0]),
                      days_key(REPOS[0]), sessions_key(REPOS[0], WINDOW_MS, 1),
                      sessions_key(REPOS[0], WINDOW_MS, 0), batches_key(REPOS[0]),
                      paths_key(REPOS[0], DAYS[0]), clients_key(REPOS[0], DAYS[0]), WINDOW_MS,
                      RETENTION_S, DAYS[0], stream_id(), 1, "", "", 1000) == 0
    assert rc.keys("*") == []


def test_writer_clock_far_from_redis_clock(rc, shas):
    """The bucket TTL counts from the writer's time, so a node whose clock is two days
    behind (or a faked clock in tests) still keeps its sessions for the window."""
    sha, repo, day = shas["kRecordBatch"], REPOS[0], DAYS[0]
    then = now_ms() - 2 * 86400 * 1000
    assert record(rc, sha, repo, day, then, [("id", False)]) == 1
    [key] = rc.keys("hs:*:s:*")
    assert WINDOW_MS <= rc.pttl(key) <= 2 * WINDOW_MS
    assert record(rc, sha, repo, day, then + 1000, [("id", False)]) == 0


def test_batch_ids_apply_once_per_stream_in_order(rc, shas):
    sha, repo, day, now = shas["kRecordBatch"], REPOS[0], DAYS[0], now_ms()
    a, b = stream_id(rand=1), stream_id(rand=2)
    assert record(rc, sha, repo, day, now, [("x", False)], stream=a, seq=1) == 1
    assert record(rc, sha, repo, day, now, [("y", True)], stream=a, seq=2) == 1
    before = rc.hgetall(day_key(repo, day))
    # A resend of either (its reply was lost) changes nothing...
    assert record(rc, sha, repo, day, now, [("z", False)], stream=a, seq=2) == -1
    assert record(rc, sha, repo, day, now, [("z", False)], stream=a, seq=1) == -1
    assert rc.hgetall(day_key(repo, day)) == before
    assert rc.hgetall(sessions_key(repo, WINDOW_MS, now // WINDOW_MS)).keys() == {"x", "y"}
    # ...another stream has its own numbers, and another repo its own hash.
    assert record(rc, sha, repo, day, now, [("z", False)], stream=b, seq=1) == 1
    assert record(rc, sha, REPOS[1], day, now, [("z", False)], stream=a, seq=1) == 1
    assert rc.hgetall(batches_key(repo)) == {a: "2", b: "1"}
    assert 0 < rc.pttl(batches_key(repo)) <= RETENTION_S * 1000
    # Without an id (tools, tests) nothing is checked or stored.
    assert record(rc, sha, REPOS[1], DAYS[1], now, [("q", False)]) == 1
    assert record(rc, sha, REPOS[1], DAYS[1], now, [("q", False)]) == 0
    assert rc.hgetall(day_key(REPOS[1], DAYS[1]))["files"] == "2"


def test_streams_older_than_the_retention_are_pruned(rc, shas):
    sha, repo, day, now = shas["kRecordBatch"], REPOS[0], DAYS[0], now_ms()
    old = stream_id(born_s=now // 1000 - RETENTION_S - 10, rand=7)
    recent = stream_id(born_s=now // 1000 - RETENTION_S + 600, rand=8)
    assert record(rc, sha, repo, day, now, [("a", False)], stream=old, seq=5) == 1
    assert record(rc, sha, repo, day, now, [("b", False)], stream=recent, seq=1) == 1
    # A new stream's first batch prunes the streams born over a retention ago.
    new = stream_id(rand=9)
    assert record(rc, sha, repo, day, now, [("c", False)], stream=new, seq=1) == 1
    assert rc.hgetall(batches_key(repo)) == {recent: "1", new: "1"}


def test_each_event_is_judged_at_its_own_time(rc, shas):
    """A replayed batch holds events of different times: each is judged at its own
    time, as it would have been live, not at the time the batch is sent."""
    sha, repo, day, w = shas["kRecordBatch"], REPOS[1], DAYS[0], 10_000
    base = (now_ms() // w) * w
    assert record(rc, sha, repo, day, base - 5000, [("id", False)], window=w,
                  times=[base - 5000]) == 1
    # One batch in the next bucket: at base+4999 the session (base-5000) is still open;
    # at base+5000 it has ended, so that file opens a new one.
    evs = [("id", False), ("id", False), ("other", True)]
    assert record(rc, sha, repo, day, base + 6000, evs, window=w,
                  times=[base + 4999, base + 5000, base + 1]) == 2
    assert rc.hgetall(sessions_key(repo, w, base // w)) == {
        "id": str(base + 5000), "other": str(base + 1)}
    assert rc.hgetall(day_key(repo, day)) == {
        "downloads": "3", "authenticated": "1", "anonymous": "2", "files": "4"}


def test_bots_paths_and_clients(rc, shas):
    """Bots add only to bots and the clients hash; paths aggregate per batch; the cap
    sends new paths to (other) while known paths and the special fields still grow."""
    sha, repo, day, now = shas["kRecordBatch"], REPOS[0], DAYS[0], now_ms()
    evs = [("p1", True, "model.safetensors", "b", False),   # transformers, new session
           ("p1", True, "config.json", "b", False),         # same session
           ("g1", False, "(git)", "f", False),              # git clone
           ("bot", False, "model.safetensors", "m", True),  # a crawler: new bot session
           ("bot", False, "config.json", "m", True)]
    assert record(rc, sha, repo, day, now, evs, max_paths=2) == 3
    assert rc.hgetall(day_key(repo, day)) == {
        "downloads": "2", "authenticated": "1", "anonymous": "1", "files": "3", "bots": "2"}
    assert rc.hgetall(paths_key(repo, day)) == {
        "model.safetensors": "1", "config.json": "1", "(git)": "1"}
    assert rc.hgetall(clients_key(repo, day)) == {
        "d:transformers": "1", "f:transformers": "2", "d:git": "1", "f:git": "1",
        "d:bot": "1", "f:bot": "2"}
    # The cap (2 paths): a third path goes to (other); known ones and (git) still count.
    more = [("p2", False, "README.md", "h", False), ("p2", False, "config.json", "h", False),
            ("p2", False, "(git)", "h", False), ("p3", False, "README.md", "h", False)]
    assert record(rc, sha, repo, day, now + 1, more, max_paths=2) == 2
    assert rc.hgetall(paths_key(repo, day)) == {
        "model.safetensors": "1", "config.json": "2", "(git)": "2", "(other)": "2"}
    # Batches of one path: a known one, a new one past the cap, a special one.
    for path in ("config.json", "new.bin", "(lfs)"):
        assert record(rc, sha, repo, day, now + 2, [("p2", False, path, "h", False)],
                      max_paths=2) == 0
    assert rc.hgetall(paths_key(repo, day)) == {
        "model.safetensors": "1", "config.json": "3", "(git)": "2", "(other)": "3",
        "(lfs)": "1"}
    # Every hash expires with the day hash's retention.
    for k in (day_key(repo, day), paths_key(repo, day), clients_key(repo, day)):
        assert 0 < rc.pttl(k) <= RETENTION_S * 1000, k
    # Only bots on a fresh day: files 0, no people fields, no paths hash.
    assert record(rc, sha, repo, DAYS[1], now, [("bot2", False, "x.bin", "m", True)]) == 1
    assert rc.hgetall(day_key(repo, DAYS[1])) == {"bots": "1", "files": "0"}
    assert rc.execute("EXISTS", paths_key(repo, DAYS[1])) == 0
    # A new paths hash from a batch of one path, special or not, gets the TTL.
    assert record(rc, sha, REPOS[1], DAYS[1], now, [("x", False, "(git)", "f", False)]) == 1
    assert record(rc, sha, REPOS[1], DAYS[0], now, [("x", False, "a.bin", "h", False)]) == 0
    for d in DAYS:
        assert 0 < rc.pttl(paths_key(REPOS[1], d)) <= RETENTION_S * 1000
    assert rc.hgetall(clients_key(repo, DAYS[1])) == {"d:bot": "1", "f:bot": "1"}


def test_breakdown_log_is_compacted_into_the_hashes_past_its_size(rc, shas):
    """Records pile up in the breakdown log (with the retention TTL) while no fold
    takes it; the batch that takes it past compact_bytes adds the whole log to the
    hashes, the path cap applied there, and drops it."""
    sha, repo, day, now = shas["kRecordBatch"], REPOS[0], DAYS[0], now_ms()
    big = 10**9
    assert record(rc, sha, repo, day, now, [("a", False, "x.bin", "b", False),
                                            ("b", True, "y.bin", "h", False)],
                  max_paths=2, compact=big) == 2
    assert record(rc, sha, repo, day, now, [("a", False, "z.bin", "b", False),
                                            ("c", False, "(git)", "f", False),
                                            ("bot", False, "x.bin", "m", True)],
                  max_paths=2, compact=big) == 2
    assert 0 < rc.pttl(log_key(repo, day)) <= RETENTION_S * 1000
    assert rc.execute("EXISTS", paths_key(repo, day), clients_key(repo, day)) == 0
    log = rc.execute("GET", log_key(repo, day))
    assert breakdown_log.parse(log) == (
        {"x.bin": 1, "y.bin": 1, "z.bin": 1, "(git)": 1},
        {"f:transformers": 2, "d:transformers": 1, "f:curl": 1, "d:curl": 1, "f:git": 1,
         "d:git": 1, "f:bot": 1, "d:bot": 1})
    # Past the size: everything so far goes to the hashes at once.
    assert record(rc, sha, repo, day, now, [("b", True, "x.bin", "h", False)],
                  max_paths=2, compact=len(log)) == 0
    assert rc.execute("EXISTS", log_key(repo, day)) == 0
    assert rc.hgetall(paths_key(repo, day)) == {
        "x.bin": "2", "y.bin": "1", "(other)": "1", "(git)": "1"}
    assert rc.hgetall(clients_key(repo, day)) == {
        "f:transformers": "2", "d:transformers": "1", "f:curl": "2", "d:curl": "1",
        "f:git": "1", "d:git": "1", "f:bot": "1", "d:bot": "1"}
    for k in (paths_key(repo, day), clients_key(repo, day)):
        assert 0 < rc.pttl(k) <= RETENTION_S * 1000, k
    # The next batch starts a new log.
    assert record(rc, sha, repo, day, now, [("d", False, "x.bin", "b", False)],
                  max_paths=2, compact=big) == 1
    assert breakdown_log.parse(rc.execute("GET", log_key(repo, day))) == (
        {"x.bin": 1}, {"f:transformers": 1, "d:transformers": 1})
