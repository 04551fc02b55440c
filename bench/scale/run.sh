#!/bin/sh
# PostgreSQL at scale: /stats, /stats/recent and /api/trending p50/p99 over 10^3..10^6
# repos x 365 days of history (bench/scale/run.py has the options).
#   bench/scale/run.sh [BUILD_DIR] [--sizes 1000:dense,...] [--days 365] [--seconds 5]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ $# -gt 0 ] && shift
exec /usr/bin/python3 "$here/run.py" "$build" "$@"
