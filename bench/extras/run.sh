#!/bin/sh
# Usage: HUBSTATS_BUILD_DIR=build bench/extras/run.sh
# Builds nothing; run `cmake --build $HUBSTATS_BUILD_DIR --target hubstats_metrics_bench` first.
set -eu
exec "${HUBSTATS_BUILD_DIR:-build}/bench/extras/hubstats_metrics_bench" \
  --benchmark_repetitions=7 --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true "$@"
