"""The breakdown log (hs:{tag}:x:D, scripts::BatchBreakdown and kRecordBatch) read the
way hubstatsd reads it (scripts::parse_breakdown_log): one record per batch, lines
"f<family>\\t<files>", "p<path>\\t<files>", then "d<n_1>,...,<n_K>" (sessions opened per
f line of the record, in order; the f lines past K opened none, a bare "d": none did)."""


def parse(log):
    """Returns (paths, clients): path -> files, "d:<family>"/"f:<family>" -> n."""
    paths, clients, names = {}, {}, []
    for line in (log or "").split("\n"):
        if not line:
            continue
        if line[0] == "d":
            for name, n in zip(names, line[1:].split(",") if len(line) > 1 else []):
                if int(n):
                    clients["d:" + name] = clients.get("d:" + name, 0) + int(n)
            names = []
            continue
        name, n = line[1:].split("\t")
        if line[0] == "f":
            names.append(name)
            clients["f:" + name] = clients.get("f:" + name, 0) + int(n)
        else:
            paths[name] = paths.get(name, 0) + int(n)
    return paths, clients


def merged(rc, repo_tag, day, kind):
    """A repo-day's per-file ("p") or per-client ("c") counts in Redis: its hash plus
    its breakdown log."""
    out = {f: int(v) for f, v in rc.hgetall(f"hs:{{{repo_tag}}}:{kind}:{day}").items()}
    paths, clients = parse(rc.execute("GET", f"hs:{{{repo_tag}}}:x:{day}"))
    for f, n in (paths if kind == "p" else clients).items():
        out[f] = out.get(f, 0) + n
    return out
