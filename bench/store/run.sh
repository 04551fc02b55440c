#!/bin/sh
# Store benchmarks: trending index vs SQL GROUP BY, folding a day of 100k repos.
#   bench/store/run.sh [BUILD_DIR] [--repos 100000] [--days 90] [--batch 1000] [--lanes 2]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
exec /usr/bin/python3 "$here/run.py" "$build" "$@"
