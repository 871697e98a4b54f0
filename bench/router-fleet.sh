#!/usr/bin/env bash
# configure-hub against sandboxed routers: SSH round trips per router (unchanged) and `--all` over 64 routers.
# Root only (the sandboxed routers live in their own namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/router-fleet.bench-run.ts
