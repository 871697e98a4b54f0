#!/usr/bin/env bash
# `wavectl devices --json` over a full region (256 sites × 254 = 65,024 devices) against a local controller
# on a real PostgreSQL: wall time of the built binary, pages, output size.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/devices.bench-run.ts
