#!/usr/bin/env bash
# The whole test suite, from a fresh machine: set-up, lint and format check, type check, build, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-bed.sh
echo "== lint and format (biome)"
npx biome check .
echo "== type check (tsc --noEmit)"
npx tsc --noEmit
echo "== tests (vitest, against real peers)"
report="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line that any CI log reader understands.
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit "$status"
