import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DeviceList } from '../src/devices/list';
import { runCliProcess } from '../test/helpers/cli';
import {
  type DevicesBed,
  REGION_DEVICES,
  seedRegion,
  startDevicesBed,
} from '../test/helpers/devices-deployment';
import { cliBundle } from '../test/helpers/paths';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres';

/**
 * `wavectl devices --json` (and --csv, and the table) over a full region, run as an operator would: the
 * built binary in its own process, against a controller on loopback and a real PostgreSQL. The region is
 * seeded by one bulk insert. Target: ≤ 2 s for --json.
 */
const FULL = REGION_DEVICES;
const RUNS = 5;
let server: PostgresServer;
let bed: DevicesBed;

beforeAll(async () => {
  server = await startPostgres();
  bed = await startDevicesBed(server, 'devices_bench');
  await seedRegion(bed);
}, 300_000);

afterAll(async () => {
  await bed?.stop();
  await server?.stop();
});

/** Runs the built binary with stdout to /dev/null; bash's `time` gives wall, user and system seconds. */
async function timed(args: string[]): Promise<{ wall: number; cpu: number }> {
  // Asynchronous: the controller answers from this very process.
  const { stdout } = await promisify(execFile)(
    'bash',
    [
      '-c',
      'set -o pipefail; TIMEFORMAT="%R %U %S"; { time node "$0" "$@" > /dev/null; } 2>&1 | tail -1',
      cliBundle,
      ...args,
    ],
    { cwd: bed.dir, env: { ...process.env, CI: 'true', ...bed.env } },
  );
  const out = stdout.trim().split(/\s+/).map(Number);
  return { wall: out[0]!, cpu: out[1]! + out[2]! };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

it(`devices over ${FULL} devices`, async () => {
  const check = await runCliProcess(['devices', '--json'], { cwd: bed.dir, env: bed.env });
  expect(check.code, check.stderr).toBe(0);
  const list = check.json<DeviceList>();
  expect(list.count).toBe(FULL);
  const rows: string[] = [];
  for (const [label, args] of [
    ['--json', ['devices', '--json']],
    ['--csv', ['devices', '--csv']],
    ['table', ['devices']],
  ] as const) {
    const walls: number[] = [];
    const cpus: number[] = [];
    const servers: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const before = process.cpuUsage();
      const t = await timed([...args]);
      const server = process.cpuUsage(before);
      walls.push(t.wall);
      cpus.push(t.cpu);
      servers.push((server.user + server.system) / 1e6);
    }
    rows.push(
      `${label.padEnd(7)} wall median ${median(walls).toFixed(2)} s (min ${Math.min(...walls).toFixed(2)})  wavectl CPU ${median(cpus).toFixed(2)} s  controller CPU ${median(servers).toFixed(2)} s`,
    );
  }
  console.log(
    `\nwavectl devices, ${FULL} devices in ${list.pages} pages, local controller + PostgreSQL, built binary, ${RUNS} runs each; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs\n${rows.join('\n')}\n`,
  );
});
