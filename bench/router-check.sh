#!/usr/bin/env bash
# `configure-hub --check --all` over 64 sandboxed routers: wall time and SSH round trips per router.
# Root only (the sandboxed routers live in their own namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run --config bench/vitest.config.ts bench/router-check.bench-run.ts
