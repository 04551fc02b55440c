"""hubstats against the real stack (nginx + module, redis-server, PostgreSQL, hubstatsd).

Downloads are real HTTP requests to nginx, counted by the module into Redis and served
by hubstatsd; the repos, users and tokens are created with `hubstats admin ...` itself."""
import csv
import io
import json
import re
import socket

import pytest
import requests

from conftest import assert_one_line_error, run_hubstats
from harness.nginx import Nginx
from harness.ports import free_port, wait_until
from cli_stack import ADMIN_TOKEN, Stack

TOKEN_RE = re.compile(r"^hst_[A-Za-z0-9_-]{43}\n$")


HISTORY = [(6, 2, 1, 1, 3), (4, 8, 4, 4, 10), (3, 4, 0, 4, 4), (2, 1, 1, 0, 1), (1, 6, 2, 4, 9)]


class World:
    """cliorg/popular: 3 anonymous + 1 authenticated download (7 files);
    cliorg/quiet: 1 anonymous download; alice/private-model (private): 1 by alice;
    cliorg/data (dataset): 2 anonymous downloads."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.url = stack.url

    def cli(self, *args, token=None, env=None):
        extra = ["--url", self.url]
        if token is not None:
            extra += ["--token", token]
        return run_hubstats(*args, *extra, env=env)

    def admin(self, *args):
        p = self.cli("admin", *args, token=ADMIN_TOKEN)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    def download(self, repo_type, repo_id, path, ip=None, token=None):
        headers = {"User-Agent": "cli-suite"}
        if ip:
            headers["X-Forwarded-For"] = ip
        if token:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.get(f"{self.url}/{repo_type}s/{repo_id}/resolve/main/{path}",
                         headers=headers, timeout=10)
        assert r.status_code == 200, r.text

    def server_json(self, path, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = requests.get(self.url + path, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def world(hubstats, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("cli-stack"))
    try:
        stack.start()
        w = World(stack)
        w.admin("repo", "add", "model", "cliorg/popular")
        w.admin("repo", "add", "model", "cliorg/quiet")
        w.admin("repo", "add", "dataset", "cliorg/data")
        w.admin("repo", "add", "model", "cliorg/history")
        w.admin("user", "add", "alice", "--fullname", "Alice")
        w.admin("repo", "add", "model", "alice/private-model", "--private")
        w.alice_token = w.admin("token", "create", "alice", "--name", "laptop").stdout.strip()

        for repo_type, repo_id in (("model", "cliorg/popular"), ("model", "cliorg/quiet"),
                                   ("model", "alice/private-model"), ("dataset", "cliorg/data"),
                                   ("model", "cliorg/history")):
            stack.add_file(repo_type, repo_id, "config.json", b'{"hidden_size": 8}')
            stack.add_file(repo_type, repo_id, "model.bin", b"\0" * 4096)
        for i in (1, 2, 3):
            w.download("model", "cliorg/popular", "config.json", ip=f"203.0.113.{i}")
            w.download("model", "cliorg/popular", "model.bin", ip=f"203.0.113.{i}")
        w.download("model", "cliorg/popular", "config.json", token=w.alice_token)
        w.download("model", "cliorg/quiet", "config.json", ip="198.51.100.1")
        w.download("model", "alice/private-model", "model.bin", token=w.alice_token)
        w.download("dataset", "cliorg/data", "config.json", ip="198.51.100.1")
        w.download("dataset", "cliorg/data", "config.json", ip="198.51.100.2")
        w.download("model", "cliorg/history", "config.json", ip="198.51.100.3")
        # cliorg/history also has past days already folded into PostgreSQL (UTC days,
        # like the daemon's): (days ago, downloads, authenticated, anonymous, files).
        for ago, dl, auth, anon, files in HISTORY:
            stack.pg.psql(
                "INSERT INTO hubstats.daily_downloads (repo_type, namespace, name, day, "
                "downloads, authenticated, anonymous, files) VALUES ('model', 'cliorg', "
                f"'history', (now() AT TIME ZONE 'UTC')::date - {ago}, {dl}, {auth}, {anon}, "
                f"{files})")

        # The module writes to Redis asynchronously: wait until every count is visible.
        def counted():
            want = {"/models/cliorg/popular/stats": 4, "/models/cliorg/quiet/stats": 1,
                    "/datasets/cliorg/data/stats": 2, "/models/cliorg/history/stats": 22}
            return all(w.server_json(p)["downloads"] == n for p, n in want.items()) and \
                w.server_json("/models/alice/private-model/stats",
                              token=w.alice_token)["downloads"] == 1
        wait_until(counted, timeout=20, what="downloads counted")
        yield w
    finally:
        alerts = stack.stop()
    assert alerts == [], alerts


def table_rows(stdout):
    """Rows of the first table in stdout (lines after the dashed rule), split on 2+ spaces."""
    lines = stdout.splitlines()
    start = next(i for i, l in enumerate(lines) if l and set(l) <= {"-", " "}) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


# ---- stats get ------------------------------------------------------------------------

def test_stats_get_table(world):
    p = world.cli("stats", "get", "model", "cliorg/popular")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert table_rows(p.stdout) == [["cliorg/popular", "model", "4", "0"]]


def test_stats_get_json_is_the_server_response(world):
    p = world.cli("stats", "get", "model", "cliorg/popular", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == world.server_json("/models/cliorg/popular/stats")
    assert json.loads(p.stdout)["downloads"] == 4


def test_global_options_before_the_command(world):
    p = run_hubstats("--url", world.url, "--json", "stats", "get", "dataset", "cliorg/data")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["downloads"] == 2


def test_url_from_environment_reaches_the_server(world):
    p = run_hubstats("stats", "get", "model", "cliorg/quiet", "--json",
                     env={"HUBSTATS_URL": world.url})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["downloads"] == 1


# ---- stats recent -----------------------------------------------------------------------

def test_stats_recent_table_and_sparkline(world):
    p = world.cli("stats", "recent", "model", "cliorg/popular", "--days", "7")
    assert p.returncode == 0, p.stderr
    period = world.server_json("/models/cliorg/popular/stats/recent?days=7")["period"]
    assert p.stdout.startswith(
        f"model cliorg/popular: 7 days, {period['start']} to {period['end']}\n")
    rows = table_rows(p.stdout)
    assert len(rows) == 8  # 7 days + total
    assert rows[-2] == [period["end"], "4", "1", "3", "7"]  # today
    assert all(r[1:] == ["0", "0", "0", "0"] for r in rows[:-2])
    assert rows[-1] == ["total", "4", "1", "3", "7"]
    assert "downloads/day  ▁▁▁▁▁▁█  (max 4)\n" in p.stdout


def test_stats_recent_with_folded_history(world):
    # Past days from PostgreSQL plus today from Redis; 5 days ago has no row (zero-filled).
    p = world.cli("stats", "recent", "model", "cliorg/history", "--days", "7")
    assert p.returncode == 0, p.stderr
    rows = table_rows(p.stdout)
    assert [r[1] for r in rows] == ["2", "0", "8", "4", "1", "6", "1", "22"]
    assert rows[-1] == ["total", "22", "8", "14", "28"]
    assert "downloads/day  ▃▁█▅▂▇▂  (max 8)\n" in p.stdout
    csv_text = world.cli("stats", "export", "model", "cliorg/history", "--days", "3").stdout
    assert [line.split(",")[1:] for line in csv_text.splitlines()[1:]] == [
        ["1", "1", "0", "1"], ["6", "2", "4", "9"], ["1", "0", "1", "1"]]


def test_stats_recent_default_is_30_days(world):
    p = world.cli("stats", "recent", "dataset", "cliorg/data")
    assert p.returncode == 0, p.stderr
    assert len(table_rows(p.stdout)) == 31
    assert "downloads/day  " + "▁" * 29 + "█  (max 2)" in p.stdout


def test_stats_recent_json(world):
    p = world.cli("stats", "recent", "model", "cliorg/quiet", "--days", "5", "--json")
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body == world.server_json("/models/cliorg/quiet/stats/recent?days=5")
    assert len(body["stats"]) == 5 and body["stats"][-1]["downloads"] == 1


# ---- stats export -----------------------------------------------------------------------

def test_export_csv_file(world, tmp_path):
    out = tmp_path / "stats.csv"
    p = world.cli("stats", "export", "model", "cliorg/popular", "--days", "90", "--output", out)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    text = out.read_text()
    assert text.splitlines()[0] == "date,downloads,authenticated,anonymous,files"
    rows = list(csv.DictReader(io.StringIO(text)))
    server = world.server_json("/models/cliorg/popular/stats/recent?days=90")["stats"]
    assert len(rows) == 90 == len(server)
    assert rows == [{k: str(v) for k, v in day.items()} for day in server]
    assert rows[-1]["downloads"] == "4" and rows[-1]["files"] == "7"
    assert sum(int(r["downloads"]) for r in rows) == 4
    assert sorted(x.name for x in tmp_path.iterdir()) == ["stats.csv"]  # no temp file left


def test_export_replaces_an_existing_file(world, tmp_path):
    out = tmp_path / "stats.csv"
    out.write_text("old\n" * 1000)
    p = world.cli("stats", "export", "model", "cliorg/quiet", "--days", "3", "-o", out)
    assert p.returncode == 0, p.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and lines[-1].endswith(",1,0,1,1")


def test_export_to_stdout(world):
    p = world.cli("stats", "export", "dataset", "cliorg/data", "--days", "2", "--output", "-")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "date,downloads,authenticated,anonymous,files"
    assert len(lines) == 3 and lines[-1].split(",")[1:] == ["2", "0", "2", "2"]


def test_export_not_found_writes_nothing(world, tmp_path):
    out = tmp_path / "stats.csv"
    p = world.cli("stats", "export", "model", "cliorg/missing", "--output", out)
    assert_one_line_error(p, 3)
    assert list(tmp_path.iterdir()) == []


def test_export_into_missing_directory_exit_2(world, tmp_path):
    p = world.cli("stats", "export", "model", "cliorg/quiet", "--output",
                  tmp_path / "no" / "such" / "dir.csv")
    assert_one_line_error(p, 2)
    assert "No such file or directory" in p.stderr


# ---- trending ---------------------------------------------------------------------------

def test_trending_ranked_table(world):
    p = world.cli("trending", "--type", "model", "--days", "7", "--limit", "10")
    assert p.returncode == 0, p.stderr
    rows = table_rows(p.stdout)
    ids = [r[1] for r in rows]
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    recent = [int(r[2].replace(",", "")) for r in rows]
    assert recent == sorted(recent, reverse=True)  # ranked by recent downloads
    assert rows[0] == ["1", "cliorg/popular", "4", "4", "0"]
    assert ["cliorg/quiet", "1", "1", "0"] in [r[1:] for r in rows]
    assert "alice/private-model" not in ids  # anonymous caller
    assert "cliorg/data" not in ids  # a dataset


def test_trending_limit_and_json(world):
    p = world.cli("trending", "--limit", "1", "--json")
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body == world.server_json("/api/trending?repo_type=model&days=7&limit=1")
    assert [e["id"] for e in body["trending"]] == ["cliorg/popular"]


def test_trending_with_token_shows_readable_private_repo(world):
    p = world.cli("trending", "--type", "model", token=world.alice_token)
    assert p.returncode == 0, p.stderr
    rows = {r[1]: r for r in table_rows(p.stdout)}
    assert rows["alice/private-model"][-1] == "yes"
    assert len(rows["cliorg/popular"]) == 5  # public: no marker


def test_trending_datasets(world):
    p = world.cli("trending", "--type", "dataset", "--json")
    assert p.returncode == 0, p.stderr
    ids = [e["id"] for e in json.loads(p.stdout)["trending"]]
    assert ids[0] == "cliorg/data" and "cliorg/popular" not in ids


# ---- not found, private, errors --------------------------------------------------------

@pytest.mark.parametrize("command", [["stats", "get"], ["stats", "recent"]])
def test_not_found_exit_3(world, command):
    p = world.cli(*command, "model", "cliorg/missing")
    assert_one_line_error(p, 3)
    assert p.stderr == "hubstats: repository 'cliorg/missing' (model) not found\n"


def test_private_repo_looks_missing_without_permission(world):
    anon = world.cli("stats", "get", "model", "alice/private-model")
    garbage = world.cli("stats", "get", "model", "alice/private-model", token="hst_garbage")
    for p in (anon, garbage):
        assert_one_line_error(p, 3)
        assert p.stderr == "hubstats: repository 'alice/private-model' (model) not found\n"
        assert "hst_garbage" not in p.stderr
    owner = world.cli("stats", "get", "model", "alice/private-model", "--json",
                      token=world.alice_token)
    assert owner.returncode == 0, owner.stderr
    assert json.loads(owner.stdout)["downloads"] == 1


def test_token_from_environment(world):
    p = run_hubstats("stats", "get", "model", "alice/private-model", "--url", world.url,
                     env={"HUBSTATS_TOKEN": world.alice_token})
    assert p.returncode == 0, p.stderr
    assert world.alice_token not in p.stdout + p.stderr


def test_proxy_error_exit_5(world, tmp_path):
    # nginx with its upstream down answers 502: an HTTP error that is not 404/401/403.
    dead = free_port()
    ng = Nginx(tmp_path, f"server {{ listen 127.0.0.1:@PORT@; "
                         f"location / {{ proxy_pass http://127.0.0.1:{dead}; }} }}",
               module_path=None)
    try:
        p = run_hubstats("stats", "get", "model", "a/b", "--url", f"http://127.0.0.1:{ng.port}")
    finally:
        ng.stop()
    assert ng.alerts() == []
    assert_one_line_error(p, 5)
    assert "HTTP 502" in p.stderr


# ---- admin ------------------------------------------------------------------------------

def test_admin_repo_lifecycle(world):
    p = world.admin("repo", "add", "model", "cliorg/toggle")
    assert p.stdout == "added model cliorg/toggle (public)\n"
    assert world.cli("stats", "get", "model", "cliorg/toggle").returncode == 0

    p = world.admin("repo", "set-private", "model", "cliorg/toggle")
    assert p.stdout == "model cliorg/toggle is now private\n"
    assert_one_line_error(world.cli("stats", "get", "model", "cliorg/toggle"), 3)

    world.admin("repo", "set-private", "model", "cliorg/toggle", "false")
    assert world.cli("stats", "get", "model", "cliorg/toggle").returncode == 0

    listed = json.loads(world.admin("repo", "list", "--json").stdout)
    assert {"type": "model", "namespace": "cliorg", "name": "toggle", "private": False,
            "likes": 0} in listed
    assert "cliorg/toggle" in world.admin("repo", "list").stdout

    p = world.admin("repo", "remove", "model", "cliorg/toggle")
    assert p.stdout == "removed model cliorg/toggle\n"
    assert_one_line_error(world.cli("stats", "get", "model", "cliorg/toggle"), 3)
    p = world.cli("admin", "repo", "remove", "model", "cliorg/toggle", token=ADMIN_TOKEN)
    assert_one_line_error(p, 3)


def test_admin_duplicate_repo_exit_5_with_server_detail(world):
    p = world.cli("admin", "repo", "add", "model", "cliorg/popular", token=ADMIN_TOKEN)
    assert_one_line_error(p, 5)
    assert "HTTP 409" in p.stderr


def test_admin_bad_token_exit_6(world):
    p = world.cli("admin", "user", "add", "mallory", token="not-the-admin-token")
    assert_one_line_error(p, 6)
    assert "HTTP 401" in p.stderr and "not-the-admin-token" not in p.stderr
    # A user's token is no admin token either.
    assert_one_line_error(world.cli("admin", "repo", "list", token=world.alice_token), 6)


def test_admin_token_file_and_env(world, tmp_path):
    f = tmp_path / "admin.token"
    f.write_text(f"  {ADMIN_TOKEN}\n")
    p = world.cli("admin", "user", "add", "carol", "--admin-token-file", f)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "added user carol\n"
    p = run_hubstats("admin", "user", "list", "--url", world.url,
                     env={"HUBSTATS_ADMIN_TOKEN": ADMIN_TOKEN, "HUBSTATS_TOKEN": "user-token"})
    assert p.returncode == 0, p.stderr
    assert re.search(r"^carol\s*$", p.stdout, re.M)


def test_admin_token_create_use_revoke(world):
    world.admin("user", "add", "bob")
    world.admin("repo", "add", "model", "teamorg/secret", "--private")
    p = world.admin("org", "add-member", "teamorg", "bob")
    assert p.stdout == "added bob to teamorg\n"
    assert world.admin("org", "add-member", "teamorg", "bob").stdout == \
        "bob is already a member of teamorg\n"
    assert world.admin("org", "members", "teamorg").stdout == "bob\n"

    p = world.admin("token", "create", "bob", "--name", "ci")
    assert TOKEN_RE.match(p.stdout), p.stdout  # the token alone on stdout
    bob = p.stdout.strip()
    assert "shown only this once" in p.stderr and bob not in p.stderr

    # The new token works: bob reads his org's private repo.
    ok = world.cli("stats", "get", "model", "teamorg/secret", token=bob)
    assert ok.returncode == 0, ok.stderr
    # ... but not alice's.
    assert_one_line_error(world.cli("stats", "get", "model", "alice/private-model", token=bob), 3)

    tokens = json.loads(world.admin("token", "list", "--username", "bob", "--json").stdout)
    assert len(tokens) == 1 and tokens[0]["revoked"] is False and "token" not in tokens[0]
    listing = world.admin("token", "list", "--username", "bob").stdout
    assert bob not in listing and "ci" in listing
    token_id = tokens[0]["id"]
    assert world.admin("token", "revoke", str(token_id)).stdout == f"revoked token {token_id}\n"

    # Revoked: bob is anonymous again, so the private repo is "not found".
    assert_one_line_error(world.cli("stats", "get", "model", "teamorg/secret", token=bob), 3)
    p = world.cli("admin", "token", "revoke", str(token_id), token=ADMIN_TOKEN)
    assert_one_line_error(p, 3)

    world.admin("org", "remove-member", "teamorg", "bob")
    assert world.admin("org", "members", "teamorg").stdout == ""
    p = world.cli("admin", "org", "remove-member", "teamorg", "bob", token=ADMIN_TOKEN)
    assert_one_line_error(p, 3)


def test_admin_token_for_unknown_user_exit_3(world):
    p = world.cli("admin", "token", "create", "nobody-here", token=ADMIN_TOKEN)
    assert_one_line_error(p, 3)
    assert p.stderr == "hubstats: user 'nobody-here' not found\n"


# ---- stats files / stats clients (issue 12) ---------------------------------------------

@pytest.fixture(scope="module")
def breakdowns(world):
    """Folded per-file and per-client rows of cliorg/breakdowns (2 and 40 days ago), a
    repo nothing downloads live (the module counts live fetches per file and client)."""
    world.admin("repo", "add", "model", "cliorg/breakdowns")
    pg = world.stack.pg
    for ago, path, n in ((2, "model.safetensors", 9), (2, "config.json", 4), (2, "a,b.bin", 4),
                         (40, "old.bin", 50)):
        pg.psql("INSERT INTO hubstats.daily_paths VALUES ('model', 'cliorg', 'breakdowns', "
                f"(now() AT TIME ZONE 'UTC')::date - {ago}, '{path}', {n})")
    for ago, client, dl, files in ((2, "git", 2, 2), (2, "huggingface_hub", 6, 13),
                                   (2, "bot", 1, 3), (40, "wget", 9, 9)):
        pg.psql("INSERT INTO hubstats.daily_clients VALUES ('model', 'cliorg', 'breakdowns', "
                f"(now() AT TIME ZONE 'UTC')::date - {ago}, '{client}', {dl}, {files})")
    return world


def test_stats_files_table_json_csv(breakdowns, tmp_path):
    w = breakdowns
    p = w.cli("stats", "files", "model", "cliorg/breakdowns")
    assert p.returncode == 0, p.stderr
    assert "model cliorg/breakdowns: 30 days" in p.stdout
    assert table_rows(p.stdout) == [["model.safetensors", "9"], ["a,b.bin", "4"],
                                    ["config.json", "4"]]
    p = w.cli("stats", "files", "model", "cliorg/breakdowns", "--days", "60", "--limit", "1",
              "--json")
    assert json.loads(p.stdout) == w.server_json(
        "/models/cliorg/breakdowns/stats/files?days=60&limit=1")
    assert json.loads(p.stdout)["files"] == [{"path": "old.bin", "files": 50}]
    out = tmp_path / "files.csv"
    p = w.cli("stats", "files", "model", "cliorg/breakdowns", "--csv", "-o", out)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert out.read_text() == 'path,files\nmodel.safetensors,9\n"a,b.bin",4\nconfig.json,4\n'
    p = w.cli("stats", "files", "model", "cliorg/breakdowns", "--csv")
    assert p.stdout == out.read_text()


def test_stats_clients_table_json_csv(breakdowns):
    w = breakdowns
    p = w.cli("stats", "clients", "model", "cliorg/breakdowns")
    assert p.returncode == 0, p.stderr
    assert table_rows(p.stdout) == [["huggingface_hub", "6", "66.7%", "13"],
                                    ["git", "2", "22.2%", "2"], ["bot", "1", "11.1%", "3"]]
    p = w.cli("stats", "clients", "model", "cliorg/breakdowns", "--days", "1")
    assert p.returncode == 0 and "no downloads in this period" in p.stdout
    p = w.cli("stats", "clients", "model", "cliorg/breakdowns", "--json", "--days", "90")
    assert json.loads(p.stdout) == w.server_json("/models/cliorg/breakdowns/stats/clients?days=90")
    p = w.cli("stats", "clients", "model", "cliorg/breakdowns", "--csv")
    assert p.stdout == "client,downloads,files\nhuggingface_hub,6,13\ngit,2,2\nbot,1,3\n"


@pytest.mark.parametrize("cmd", ["files", "clients"])
def test_stats_breakdowns_errors(breakdowns, cmd):
    w = breakdowns
    assert_one_line_error(w.cli("stats", cmd, "model", "cliorg/missing"), 3)
    assert_one_line_error(w.cli("stats", cmd, "model", "alice/private-model"), 3)
    assert w.cli("stats", cmd, "model", "alice/private-model",
                 token=w.alice_token).returncode == 0
    p = w.cli("stats", cmd, "model", "cliorg/history", "--days", "366")
    assert p.returncode == 2 and "--days" in p.stderr
