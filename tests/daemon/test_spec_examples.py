"""The specification's Python examples (StatsAnalyzer, CSV export, trending monitor)
run unchanged against the stack, with only BASE_URL and TOKEN supplied."""
import csv
import datetime
import subprocess
import sys
from pathlib import Path

from harness.ports import wait_until

RUNNER = Path(__file__).resolve().parent / "spec_examples" / "run_examples.py"


def test_spec_examples_run_and_print_the_served_numbers(stack, tmp_path):
    s = stack
    s.add_repo("model", "myorg", "mymodel")
    s.add_repo("dataset", "myorg", "mydataset")
    s.add_repo("model", "myorg", "private-model", private=True)
    s.daemon.admin("POST", "/api/admin/users", {"username": "alice"})
    s.daemon.admin("POST", "/api/admin/orgs/myorg/members", {"username": "alice"})
    token = s.daemon.admin("POST", "/api/admin/tokens", {"username": "alice"}).json()["token"]

    today = datetime.datetime.now(datetime.timezone.utc).date()
    s.clock.set_day(today - datetime.timedelta(days=1))
    for i in range(4):
        s.download("model", "myorg", "mymodel", ip=f"10.5.0.{i}")
    s.clock.set_day(today)
    for i in range(2):
        s.download("model", "myorg", "mymodel", ip=f"10.5.1.{i}")
    s.download("model", "myorg", "mymodel", token=token)
    s.download("dataset", "myorg", "mydataset", ip="10.5.2.1")
    s.download("model", "myorg", "private-model", ip="10.5.3.1")
    wait_until(lambda: s.get("/models/myorg/mymodel/stats").json()["downloads"] == 7, timeout=15,
               what="downloads counted")
    assert s.daemon.command("fold", "--once").returncode == 0  # yesterday into PostgreSQL

    workdir = tmp_path / "examples"
    workdir.mkdir()
    run = subprocess.run([sys.executable, str(RUNNER), s.url(""), token], cwd=workdir,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    out = run.stdout
    assert run.returncode == 0, out
    assert "=== Statistics Summary: myorg/mymodel ===" in out
    assert "Total Downloads: 7" in out
    assert "Likes: 0" in out
    assert "Authenticated: 14.3%" in out  # 1 of 7 sessions in 30 days
    assert "Anonymous: 85.7%" in out
    assert "1. myorg/mymodel: 7 downloads" in out
    # The monitor runs anonymously: it must not list the private repo.
    monitor = out.split("##### monitor_trending.py", 1)[1]
    assert "myorg/mymodel" in monitor and "myorg/mydataset" in monitor
    assert "private-model" not in monitor

    csvs = list(workdir.glob("myorg_mymodel_stats_*.csv"))
    assert len(csvs) == 1
    rows = list(csv.DictReader(csvs[0].open()))
    assert len(rows) == 90
    assert rows[-2] == {"date": (today - datetime.timedelta(days=1)).isoformat(), "downloads": "4",
                        "authenticated": "0", "anonymous": "4", "files": "4"}
    assert rows[-1]["downloads"] == "3" and rows[-1]["authenticated"] == "1"
