#!/usr/bin/env bash
# Runs every test file under test/ with node's own test runner through tsx.
# Node 20 finds no tests when given a directory or a quoted glob, so the file list is explicit,
# and a run that executed zero tests is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found under test/" >&2; exit 1; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
node --import tsx --test --test-reporter=spec --test-concurrency=2 "$@" "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if grep -qE "^(ℹ|#) tests 0\$" "$log"; then echo "test runner executed 0 tests" >&2; exit 1; fi
exit "$status"
