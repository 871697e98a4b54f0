#!/usr/bin/env bash
# `sites --add 64` against moto and a local controller: wall time and controller (relay) round trips.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/sites-add.bench-run.ts
