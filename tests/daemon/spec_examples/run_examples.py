"""Runs the specification's examples against a hubstats API.

    /usr/bin/python3 run_examples.py BASE_URL TOKEN

Replaces only the configuration lines BASE_URL = "http://localhost:28080" and
TOKEN = "YOUR_TOKEN" of stats_analyzer.py, then executes stats_analyzer.py,
export_csv.py and monitor_trending.py in one namespace, in that order, in the
current directory (the CSV lands there). Exits non-zero if an example raises.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = ["stats_analyzer.py", "export_csv.py", "monitor_trending.py"]
CONFIG_LINES = {'BASE_URL = "http://localhost:28080"': "BASE_URL = {!r}",
                'TOKEN = "YOUR_TOKEN"': "TOKEN = {!r}"}


def configured(source: str, base_url: str, token: str) -> str:
    values = {'BASE_URL = "http://localhost:28080"': base_url, 'TOKEN = "YOUR_TOKEN"': token}
    lines = source.split("\n")
    for line, template in CONFIG_LINES.items():
        hits = [i for i, l in enumerate(lines) if l == line]
        if len(hits) != 1:
            raise SystemExit(f"expected exactly one line {line!r}, found {len(hits)}")
        lines[hits[0]] = template.format(values[line])
    return "\n".join(lines)


def main():
    base_url, token = sys.argv[1], sys.argv[2]
    namespace = {"__name__": "__main__"}
    for name in EXAMPLES:
        source = (HERE / name).read_text()
        if name == "stats_analyzer.py":
            source = configured(source, base_url, token)
        print(f"##### {name}", flush=True)
        exec(compile(source, name, "exec"), namespace)


if __name__ == "__main__":
    main()
