"""kRecordBatch (one script call per batch of a repo and day, what the module sends)
leaves Redis exactly as kRecord run once per event in order, on a real redis-server.

Two servers get the same randomized event sequence: server A through kRecord per
event, server B through kRecordBatch in groups formed the way the module forms them
(flushes of random size, split per repo, a new batch whenever a repo's day changes).
Folds (kFoldTake + kFoldFinish, the daemon's scripts) run on both at the same points,
so a day hash is renamed away and recreated mid-sequence."""
import random
import re

import pytest

from harness.paths import SOURCE_DIR
from harness.redis import RedisServer

SCRIPTS_H = SOURCE_DIR / "shared/include/hubstats/scripts.h"
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


def session_key(repo, ident):
    return f"hs:{{{repo}}}:s:{ident}"


def random_events(rng, n):
    """(repo, day, identity, authenticated): a small identity pool so repeats are
    common, days that go back and forth (late events around midnight)."""
    idents = [f"{i:016x}" for i in rng.sample(range(1 << 40), 40)]
    out = []
    for _ in range(n):
        out.append((rng.choice(REPOS), rng.choice(DAYS) if rng.random() < 0.3 else DAYS[1],
                    rng.choice(idents), rng.random() < 0.4))
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
    rc.execute("EVALSHA", sha_take, 2, day_key(repo, day), folding, gen, 600)
    rc.execute("EVALSHA", sha_finish, 3, folding, day_key(repo, day), days_key(repo), gen, day)


def state(rc):
    """Every key with its type, value and whether it has a TTL."""
    out = {}
    for k in rc.keys("*"):
        t = rc.execute("TYPE", k)
        if t == "hash":
            v = rc.hgetall(k)
        elif t == "set":
            v = sorted(rc.execute("SMEMBERS", k))
        else:
            v = rc.execute("GET", k)
        out[k] = (t, v)
    return out


@pytest.fixture
def servers(tmp_path):
    a, b = RedisServer(tmp_path / "a"), RedisServer(tmp_path / "b")
    ca, cb = a.client(), b.client()
    yield ca, cb
    ca.close()
    cb.close()
    a.stop()
    b.stop()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_equals_record_per_event(servers, seed):
    ca, cb = servers
    rng = random.Random(seed)
    shas = {}
    for name in ("kRecord", "kRecordBatch", "kFoldTake", "kFoldFinish"):
        body = script(name)
        shas[name] = ca.execute("SCRIPT", "LOAD", body)
        assert cb.execute("SCRIPT", "LOAD", body) == shas[name]

    events = random_events(rng, 600)
    pos, gen, folds = 0, 0, 0
    while pos < len(events):
        flush = events[pos:pos + rng.randint(1, 60)]
        pos += len(flush)
        for batch in module_batches(flush, max_batch=rng.choice([3, 16, 256])):
            repo, day = batch[0][0], batch[0][1]
            new_a = 0
            for ev in batch:
                new_a += ca.execute("EVALSHA", shas["kRecord"], 3, session_key(repo, ev[2]),
                                    day_key(repo, day), days_key(repo), WINDOW_MS,
                                    "1" if ev[3] else "0", RETENTION_S, day)
            new_b = cb.execute("EVALSHA", shas["kRecordBatch"], 2 + len(batch),
                               day_key(repo, day), days_key(repo),
                               *[session_key(repo, ev[2]) for ev in batch],
                               WINDOW_MS, RETENTION_S, day,
                               *["1" if ev[3] else "0" for ev in batch])
            assert new_b == new_a, f"new sessions of batch {batch}"
        if rng.random() < 0.25:  # the daemon folds a day between two flushes
            gen += 1
            repo, day = rng.choice(REPOS), rng.choice(DAYS)
            folds += ca.execute("EXISTS", day_key(repo, day))
            for rc in (ca, cb):
                fold(rc, shas["kFoldTake"], shas["kFoldFinish"], repo, day, f"g{gen}")

    sa, sb = state(ca), state(cb)
    assert folds > 0  # some fold really moved a hash away mid-sequence
    assert any(t == "hash" for t, _ in sa.values())
    assert sum(1 for k in sa if ":s:" in k) > 10
    assert sb == sa
    # Every day hash in B is in its repo's days set (a fold removed it, the next batch
    # re-added it), and every key has a TTL.
    for k, (t, _) in sb.items():
        if ":d:" in k:
            repo = k[k.index("{") + 1:k.index("}")]
            assert k.rsplit(":", 1)[1] in sb[days_key(repo)][1], k
        ttl = cb.pttl(k)
        limit = WINDOW_MS if ":s:" in k else (600 if ":f:" in k else RETENTION_S) * 1000
        assert 0 < ttl <= limit, (k, ttl)


def test_batch_counts_repeats_inside_one_batch(servers):
    _, rc = servers
    sha = rc.execute("SCRIPT", "LOAD", script("kRecordBatch"))
    repo, day = REPOS[0], DAYS[0]
    ids = ["aa", "bb", "aa", "cc", "bb"]
    auth = ["1", "0", "0", "0", "1"]
    n = rc.execute("EVALSHA", sha, 2 + len(ids), day_key(repo, day), days_key(repo),
                   *[session_key(repo, i) for i in ids], WINDOW_MS, RETENTION_S, day, *auth)
    assert n == 3
    assert rc.hgetall(day_key(repo, day)) == {
        "downloads": "3", "authenticated": "1", "anonymous": "2", "files": "5"}
    assert rc.execute("SMEMBERS", days_key(repo)) == [day]
    assert 0 < rc.pttl(day_key(repo, day)) <= RETENTION_S * 1000
    # All repeats: only files grows; no empty fields appear.
    n = rc.execute("EVALSHA", sha, 4, day_key(repo, day), days_key(repo),
                   session_key(repo, "aa"), session_key(repo, "cc"), WINDOW_MS, RETENTION_S,
                   day, "0", "1")
    assert n == 0
    assert rc.hgetall(day_key(repo, day))["files"] == "7"
    # A batch of repeats against a fresh day creates no download fields.
    other = DAYS[1]
    n = rc.execute("EVALSHA", sha, 3, day_key(repo, other), days_key(repo),
                   session_key(repo, "aa"), WINDOW_MS, RETENTION_S, other, "1")
    assert n == 0
    assert rc.hgetall(day_key(repo, other)) == {"files": "1"}
    assert sorted(rc.execute("SMEMBERS", days_key(repo))) == sorted(DAYS)
