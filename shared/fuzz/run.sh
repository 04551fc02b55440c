#!/bin/sh
# Builds the classifier fuzz target with clang's libFuzzer + ASan/UBSan and runs it.
# Usage: shared/fuzz/run.sh [seconds] (default 120). Needs clang (libclang-rt-14-dev).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-/tmp/hubstats-fuzz}
mkdir -p "$out/corpus"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$root/shared/include" "$here/classify_fuzz.cpp" "$root/shared/src/classify.cpp" \
  "$root/shared/src/repo.cpp" -o "$out/classify_fuzz"
exec "$out/classify_fuzz" -max_total_time="${1:-120}" -max_len=8192 \
  -artifact_prefix="$out/" "$out/corpus" "$here/seeds"
