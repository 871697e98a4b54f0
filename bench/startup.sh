#!/usr/bin/env bash
# Start-up cost of `wavectl --help` against bare `node -e 0`: median wall time over N runs each.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-30}"
[ -f dist/wavectl.cjs ] || node scripts/build.mjs
node - "$N" <<'JS'
const { execFileSync } = require('node:child_process');
const n = Number(process.argv[2]);
const time = (args) => {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(n / 2)], p90: samples[Math.floor(n * 0.9)] };
};
const bare = time(['-e', '0']);
const help = time(['dist/wavectl.cjs', '--help']);
console.log(`node -e 0        median ${bare.median.toFixed(1)} ms  p90 ${bare.p90.toFixed(1)} ms`);
console.log(`wavectl --help   median ${help.median.toFixed(1)} ms  p90 ${help.p90.toFixed(1)} ms`);
console.log(`overhead         ${(help.median - bare.median).toFixed(1)} ms (${(help.median / bare.median).toFixed(2)}x)`);
JS
