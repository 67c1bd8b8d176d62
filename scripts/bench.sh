#!/usr/bin/env bash
# make bench: every benchmark of the project, each measuring its baseline in
# the same run and reporting ratios (the x-… metrics) beside the raw rates.
# BENCH=regexp narrows the set; BENCHTIME (default 1x per sub-benchmark
# where the benchmark sizes itself) is passed through.
set -u
cd "$(dirname "$0")/.."
mkdir -p bench-out
out=bench-out/bench-$(date +%Y%m%d-%H%M%S).txt
go test -run '^$' -bench "${BENCH:-.}" ${BENCHTIME:+-benchtime "$BENCHTIME"} -timeout 60m ./internal/... 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
echo
echo "== ratios (target given in each benchmark's doc comment) =="
grep -E 'ratio|x-|go/c|on/off' "$out" || echo "(no ratio metrics found)"
echo "full output: $out"
exit "$status"
