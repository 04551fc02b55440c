#!/bin/sh
# Catalog cache benchmark (not part of ctest). Needs hubstatsd built in
# ${HUBSTATS_BUILD_DIR:-build}. Example:
#   HUBSTATS_BUILD_DIR=build bench/catalog/run.sh --rounds 5 --duration 3
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export HUBSTATS_SOURCE_DIR="${HUBSTATS_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
export HUBSTATS_BUILD_DIR="${HUBSTATS_BUILD_DIR:-$HUBSTATS_SOURCE_DIR/build}"
exec /usr/bin/python3 "$here/bench.py" "$@"
