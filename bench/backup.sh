#!/usr/bin/env bash
# A full region's controller database (256 sites x 254 devices) through backup and restore: snapshot,
# seal (scrypt + AES-256-GCM), open, and load into a fresh controller database; times and archive size.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/backup.bench-run.ts
