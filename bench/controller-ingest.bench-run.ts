import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashScannerKey } from '../src/controller/auth/scanner-key';
import { migrate } from '../src/controller/db/migrate';
import { repoRoot } from '../test/helpers/paths';
import { freePort, waitFor } from '../test/helpers/ports';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres';

/**
 * Ingest of a full region through the controller's HTTP API, against a raw multi-row upsert of the same rows
 * on the same PostgreSQL, and the latency of single reports under 64 concurrent reporters, and how long
 * those 64 reporters take to drain against raw upserts of the same rows. Targets (issue 13): the region at
 * >= 0.5x the raw upsert's rate and within 3 s; a lone report's p99 <= 20 ms; the 64 reporters drained in
 * <= 1.5x the raw upserts' time. Each figure is printed with its target and a verdict.
 *
 * The controller runs as in production: dist/controller.cjs in its own Node process (the benchmark's client
 * is another). The test bed's PostgreSQL runs with fsync off (both sides alike), so absolute figures are
 * better than on a durable disk; the ratio is what matters.
 */
const SITES = 256;
const DEVICES = 254;
const API_KEY = 'bench-deployment-key-0123456789abcdef';
const WG = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const scannerKey = (n: number) => `bench-scanner-${n}-${'x'.repeat(32)}`;
const mac = (site: number, host: number) =>
  `00:00:0c:${site.toString(16).padStart(2, '0')}:${host.toString(16).padStart(2, '0')}:01`;
const devicesOf = (site: number) =>
  Array.from({ length: DEVICES }, (_, i) => ({
    ip: `10.8.${site}.${i + 1}`,
    mac: mac(site, i + 1),
    hostname: `host-${i + 1}`,
  }));

let server: PostgresServer;
let child: ChildProcess;
let databaseUrl: string;
const controller = { url: '' };
beforeAll(async () => {
  server = await startPostgres();
  databaseUrl = await server.createDatabase('bench_api');
  const port = await freePort();
  controller.url = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [`${repoRoot}dist/controller.cjs`], {
    env: {
      PATH: process.env.PATH,
      WAVESHIFT_API_KEY: API_KEY,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor('the controller', async () => {
    const res = await fetch(`${controller.url}/health`);
    if (!res.ok) throw new Error(String(res.status));
  });
  const sites = Array.from({ length: SITES }, (_, n) => ({
    number: n,
    name: `site-${n}`,
    cidr: `10.8.${n}.0/24`,
    publicKey: WG,
    accessServer: 0,
    scannerKeyHash: hashScannerKey(scannerKey(n)),
  }));
  const res = await fetch(`${controller.url}/api/sites`, {
    method: 'PUT',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ sites }),
  });
  expect(res.status).toBe(200);
}, 120_000);
afterAll(async () => {
  child?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await server?.stop();
});

async function report(site: number, scannedAt: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${controller.url}/api/sites/${site}/devices`, {
    method: 'POST',
    headers: { 'x-api-key': scannerKey(site), 'content-type': 'application/json' },
    body: JSON.stringify({ scannedAt, devices: devicesOf(site) }),
  });
  if (res.status !== 200) throw new Error(`site ${site}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - started;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

it('full region ingest vs a raw multi-row upsert, and single-report latency', async () => {
  const loadAtStart = loadavg()[0]!;
  // --- 256 reports of 254 devices, all at once, through the API (first: creates; second: updates). ---
  const region = async (scannedAt: string) => {
    const started = performance.now();
    await Promise.all(Array.from({ length: SITES }, (_, site) => report(site, scannedAt)));
    return performance.now() - started;
  };
  const apiCreate = await region('2026-06-01T00:00:00Z');
  const apiUpdate = await region('2026-06-01T00:05:00Z');
  const check = new pg.Client({ connectionString: databaseUrl });
  await check.connect();
  const { rows } = await check.query('select count(*)::int as n from devices');
  await check.end();
  expect(rows[0].n).toBe(SITES * DEVICES);

  // --- The same 65,024 rows in one multi-row upsert on the same PostgreSQL, no API in between. ---
  const raw = new pg.Pool({ connectionString: await server.createDatabase('bench_raw') });
  await migrate(raw);
  await raw.query(
    `insert into sites (number, name, cidr, public_key, access_server)
     select n, 'site-' || n, ('10.8.' || n || '.0/24')::cidr, $1, 0 from generate_series(0, 255) n`,
    [WG],
  );
  const rowsOf = (sites: number) =>
    Array.from({ length: sites }, (_, site) => devicesOf(site).map((d) => ({ site, ...d }))).flat();
  const upsert = async (at: string, all = rowsOf(SITES)) => {
    const started = performance.now();
    await raw.query(
      `insert into devices as d (site, device_key, ip, mac, hostname, vendor, online, missed_scans, first_seen, last_seen)
       select r.site, r.mac, r.ip::inet, r.mac::macaddr, r.hostname, 'Cisco Systems, Inc', true, 0, $1, $1
       from unnest($2::int[], $3::text[], $4::text[], $5::text[]) as r(site, ip, mac, hostname)
       on conflict (site, device_key) do update set ip = excluded.ip, hostname = excluded.hostname,
         online = true, missed_scans = 0, last_seen = excluded.last_seen`,
      [at, all.map((d) => d.site), all.map((d) => d.ip), all.map((d) => d.mac), all.map((d) => d.hostname)],
    );
    return performance.now() - started;
  };
  const rawCreate = await upsert('2026-06-01T00:00:00Z');
  const rawUpdate = await upsert('2026-06-01T00:05:00Z');

  // --- p50/p99 of single reports: 64 reporters, each sending 20 reports for its own site in a row. ---
  const REPORTERS = 64;
  const ROUNDS = 20;
  const latencies: number[] = [];
  let minute = 10;
  const drainStarted = performance.now();
  await Promise.all(
    Array.from({ length: REPORTERS }, async (_, reporter) => {
      for (let i = 0; i < ROUNDS; i++) {
        latencies.push(await report(reporter, new Date(Date.UTC(2026, 5, 1, 1, minute++)).toISOString()));
      }
    }),
  );
  const drain = performance.now() - drainStarted;
  latencies.sort((a, b) => a - b);
  // The same rows raw: one multi-row upsert of the 64 sites' devices per round.
  const reporterRows = rowsOf(REPORTERS);
  let rawDrain = 0;
  for (let i = 0; i < ROUNDS; i++) {
    rawDrain += await upsert(new Date(Date.UTC(2026, 5, 1, 3, i)).toISOString(), reporterRows);
  }
  await raw.end();
  // The same report alone (one reporter): the service time that the queue above multiplies. 200 of them:
  // of 50, the p99 would be the slowest one, whatever else the machine did at that moment.
  const alone: number[] = [];
  for (let i = 0; i < 200; i++)
    alone.push(await report(100, new Date(Date.UTC(2026, 5, 2, 0, i)).toISOString()));
  alone.sort((a, b) => a - b);

  const rowsPerSecond = (ms: number) => Math.round((SITES * DEVICES) / (ms / 1000)).toLocaleString('en');
  const verdict = (ok: boolean) => (ok ? 'meets target' : 'MISSES target');
  const line = (label: string, api: number, rawMs: number) =>
    `${label}: API ${api.toFixed(0)} ms (${rowsPerSecond(api)} devices/s)  raw upsert ${rawMs.toFixed(0)} ms (${rowsPerSecond(rawMs)} devices/s)  rate ${(rawMs / api).toFixed(2)}x of raw  [target >= 0.50x and <= 3000 ms: ${verdict(rawMs / api >= 0.5 && api <= 3000)}]`;
  const aloneP99 = percentile(alone, 0.99);
  console.log(
    [
      `full region, ${SITES} sites x ${DEVICES} devices = ${SITES * DEVICES} rows, reports sent concurrently`,
      line('first ingest (creates)', apiCreate, rawCreate),
      line('second ingest (updates)', apiUpdate, rawUpdate),
      `single report of ${DEVICES} devices, ${REPORTERS} concurrent reporters, ${latencies.length} reports: p50 ${percentile(latencies, 0.5).toFixed(1)} ms  p99 ${percentile(latencies, 0.99).toFixed(1)} ms  max ${latencies.at(-1)!.toFixed(1)} ms`,
      `${REPORTERS} concurrent reporters x ${ROUNDS} reports (${REPORTERS * ROUNDS * DEVICES} rows) drained in ${drain.toFixed(0)} ms; raw upserts of the same rows (${ROUNDS} x ${REPORTERS * DEVICES}) ${rawDrain.toFixed(0)} ms  ratio ${(drain / rawDrain).toFixed(2)}x  [target <= 1.50x: ${verdict(drain <= 1.5 * rawDrain)}]`,
      `single report of ${DEVICES} devices, one reporter alone, ${alone.length} reports: p50 ${percentile(alone, 0.5).toFixed(1)} ms  p99 ${aloneP99.toFixed(1)} ms  [target p99 <= 20 ms: ${verdict(aloneP99 <= 20)}]`,
      `machine load (1-minute average, ${cpus().length} cores): ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`,
    ].join('\n'),
  );
});
