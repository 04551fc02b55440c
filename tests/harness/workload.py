"""A random download workload and the counts it must produce, for suites that write
events through the record script and compare what hubstatsd folds and serves."""
import random
from collections import defaultdict


def random_workload(seed, repos, days, max_users=6, prefix="", extra=None):
    """Events (tag, day, identity, auth, *extra(rnd)) and the expected
    {(tag, day): (downloads, authenticated, anonymous, files)}. Identities are unique per
    (repo, day), so downloads = distinct identities and files = events; extra(rnd), when
    given, adds fields to each event (e.g. a path and a client family)."""
    rnd = random.Random(seed)
    events, expected = [], defaultdict(lambda: [0, 0, 0, 0])
    for tag in repos:
        for d in days:
            for u in range(rnd.randint(0, max_users)):
                auth = rnd.randint(0, 1)
                ident = f"{prefix}{d}-{u}"
                for _ in range(rnd.randint(1, 3)):
                    events.append((tag, d, ident, auth, *(extra(rnd) if extra else ())))
                    expected[(tag, d)][3] += 1
                e = expected[(tag, d)]
                e[0] += 1
                e[1 if auth else 2] += 1
    rnd.shuffle(events)
    return events, {k: tuple(v) for k, v in expected.items()}
