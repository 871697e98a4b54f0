#!/usr/bin/env bash
# Controller ingest: a full region (256 sites x 254 devices) through the API vs a raw multi-row upsert of the
# same rows on the same PostgreSQL, p50/p99 of single reports under 64 concurrent reporters, and their drain time
# against raw upserts of the same rows; each figure printed with its target (issue 13).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/controller-ingest.bench-run.ts
