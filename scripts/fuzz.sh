#!/usr/bin/env bash
# make fuzz: fuzz one target for a while.
#   FUZZ=FuzzReadRequest PKG=./internal/wire FUZZTIME=10m scripts/fuzz.sh
# FUZZTIME is a duration (10m) or an execution count (5000000x).
#
# A duration run of go1.26 can end "FAIL ... context deadline exceeded" with
# no failing input: a race in Go's fuzzing coordinator at the deadline
# (golang/go#75804, fixed in go1.27). That ending is reported as a warning,
# not a failure, when no new input was written under testdata/fuzz/$FUZZ;
# a run that writes a failing input always fails. Count runs (Nx) have no
# deadline to race.
set -u
cd "$(dirname "$0")/.."
if [ -z "${FUZZ:-}" ] || [ -z "${PKG:-}" ]; then
  echo "usage: make fuzz FUZZ=<FuzzTarget> PKG=<./internal/package> [FUZZTIME=10m|<N>x]" >&2
  echo "targets:" >&2
  grep -rho --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' internal | sed 's/^func /  /' | sort >&2
  exit 2
fi
corpus="$PKG/testdata/fuzz/$FUZZ"
list() { find "$corpus" -type f 2>/dev/null | sort; }
before=$(list)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -fuzz "^$FUZZ\$" -fuzztime "${FUZZTIME:-10m}" "$PKG" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  added=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$(list)") | sed '/^$/d')
  if [ -z "$added" ] && grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
    echo "warning: $FUZZ ended with 'context deadline exceeded' and wrote no failing input:" >&2
    echo "  Go's fuzzing coordinator race at the deadline (golang/go#75804), not a finding." >&2
    exit 0
  fi
  [ -n "$added" ] && echo "new failing input(s): $added" >&2
fi
exit "$status"
