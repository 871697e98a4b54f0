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
npx vitest run "$@"
