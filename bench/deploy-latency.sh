#!/usr/bin/env bash
# Bundles bench/deploy-latency.ts with esbuild (packages stay external) and runs it. Needs moto (.venv) and a
# built dist/ (npm run build). Usage: bash bench/deploy-latency.sh [latency-ms]
set -euo pipefail
cd "$(dirname "$0")/.."
# Two levels below the repository root, as test/helpers/ is: the helpers find the repo from import.meta.url.
run_dir="$(mktemp -d bench/.run-XXXXXX)"
trap 'rm -rf "$run_dir"' EXIT
npx esbuild bench/deploy-latency.ts --bundle --platform=node --format=esm --packages=external \
  --log-level=warning --outfile="$run_dir/deploy-latency.mjs"
node "$run_dir/deploy-latency.mjs" "$@"
