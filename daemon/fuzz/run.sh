#!/bin/sh
# Builds hubstatsd's HTTP request-path fuzz target with clang's libFuzzer + ASan/UBSan
# and runs it (not part of ctest). Usage: daemon/fuzz/run.sh [seconds] (default 120).
# Needs clang (libclang-rt-14-dev) and the Boost/nlohmann headers the daemon builds with.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-/tmp/hubstatsd-fuzz}
mkdir -p "$out/corpus"
src="$root/daemon/src/serve/http"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$root/daemon/src" "$here/http_request_fuzz.cpp" "$src/request_checks.cpp" \
  "$src/message.cpp" "$src/beast_convert.cpp" "$src/router.cpp" "$src/cors.cpp" \
  -lboost_system -o "$out/http_request_fuzz"
exec "$out/http_request_fuzz" -max_total_time="${1:-120}" -max_len=4096 \
  -artifact_prefix="$out/" "$out/corpus" "$here/seeds"
