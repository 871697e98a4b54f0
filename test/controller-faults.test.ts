import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../src/controller-client/client';
import { httpTransport } from '../src/controller-client/http';
import { ControllerError } from '../src/errors';
import { DEPLOYMENT, siteInput, TEST_API_KEY } from './helpers/controller';
import { repoRoot } from './helpers/paths';
import { freePort, waitFor } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';

/**
 * The controller (the bundle systemd runs, in its own process) while its PostgreSQL fails under it:
 * connections terminated mid-request, the server stopped and started again, the server frozen. The process
 * must stay up, answer 503 (never 500, never hang) while the database is away, and lose no write it
 * acknowledged.
 */
const DATABASE = 'faults';
const REPORTERS = 8;
const SITES = Array.from({ length: REPORTERS }, (_, i) => i + 1);

let server: PostgresServer;
let controller: ChildProcess;
let output = '';
let base: string;

const call = (method: string, path: string, body?: unknown, timeoutMs = 30_000) =>
  fetch(`${base}${path}`, {
    method,
    headers: { ...DEPLOYMENT, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });

const alive = () => controller.exitCode === null && controller.signalCode === null;

async function healthy(): Promise<void> {
  await waitFor('the controller to report a healthy database', async () => {
    const res = await call('GET', '/health', undefined, 5_000);
    if (res.status !== 200) throw new Error(`health ${res.status}`);
  });
}

/** A report of one new device, so every acknowledged report is a row of its own in scan_reports. */
function report(site: number, sequence: number, at: number) {
  const low = sequence % 250;
  const high = Math.floor(sequence / 250) % 256;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    scannedAt: new Date(at).toISOString(),
    devices: [{ ip: `10.8.${site}.${low + 2}`, mac: `02:00:00:${hex(site)}:${hex(high)}:${hex(low)}` }],
  };
}

beforeAll(async () => {
  server = await startPostgres();
  const databaseUrl = await server.createDatabase(DATABASE);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  controller = spawn(process.execPath, [join(repoRoot, 'dist', 'controller.cjs')], {
    cwd: '/',
    env: {
      PATH: process.env.PATH,
      WAVESHIFT_API_KEY: TEST_API_KEY,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  controller.stdout?.on('data', (c) => {
    output = (output + c).slice(-20_000);
  });
  controller.stderr?.on('data', (c) => {
    output = (output + c).slice(-20_000);
  });
  await waitFor('the controller', async () => {
    if (!alive()) throw new Error(`exited: ${output}`);
    const res = await fetch(`${base}/health`);
    if (!res.ok) throw new Error(String(res.status));
  });
  const put = await call('PUT', '/api/sites', { sites: SITES.map((n) => ({ number: n, ...siteInput(n) })) });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  server?.signalAll('SIGCONT');
  controller?.kill('SIGKILL');
  await server?.stop();
});

describe('controller under database faults', () => {
  it('survives connections terminated under concurrent load: 503 during, 200 after, no acknowledged write lost', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const acknowledged: { site: number; scannedAt: string }[] = [];
    const statuses = new Map<number, number>();
    let withoutRetryAfter = 0;
    let running = true;
    const start = Date.now() - 3_600_000;
    const reporter = async (site: number) => {
      for (let sequence = 0; running; sequence++) {
        const body = report(site, sequence, start + sequence * 1000);
        const res = await call('POST', `/api/sites/${site}/devices`, body).catch(() => undefined);
        if (!res) {
          statuses.set(0, (statuses.get(0) ?? 0) + 1); // no answer at all: the process died or hung up
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const answer = (await res.json()) as { duplicate?: boolean; error?: { code: string } };
        if (res.status === 200 && !answer.duplicate) acknowledged.push({ site, scannedAt: body.scannedAt });
        if (res.status === 503) {
          expect(answer.error?.code).toBe('database_unavailable');
          if (!res.headers.get('retry-after')) withoutRetryAfter++;
        }
      }
    };
    const reporters = SITES.map(reporter);
    try {
      await new Promise((r) => setTimeout(r, 500));
      // Terminate every session of the controller's database, repeatedly, until requests were caught by it.
      for (let round = 0; round < 40 && (round < 5 || !statuses.has(503)); round++) {
        await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [DATABASE],
        );
        await new Promise((r) => setTimeout(r, 150));
      }
    } finally {
      running = false;
      await Promise.allSettled(reporters);
    }
    try {
      await Promise.all(reporters); // a failed assertion inside a reporter fails the test
      expect(alive(), output).toBe(true);
      expect([...statuses.keys()].sort(), JSON.stringify([...statuses])).toEqual([200, 503]);
      expect(withoutRetryAfter).toBe(0);
      await healthy();
      const after = await call('POST', '/api/sites/1/devices', report(1, 100_000, Date.now()));
      expect(after.status).toBe(200);
    } finally {
      await admin.end();
    }
    const direct = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, `/${DATABASE}`) });
    await direct.connect();
    try {
      const { rows } = await direct.query(
        `select count(*)::int as found from scan_reports r
         join unnest($1::int[], $2::timestamptz[]) as a(site, scanned_at)
           on r.site = a.site and r.scanned_at = a.scanned_at`,
        [acknowledged.map((a) => a.site), acknowledged.map((a) => a.scannedAt)],
      );
      expect(acknowledged.length).toBeGreaterThan(REPORTERS);
      expect(rows[0].found).toBe(acknowledged.length);
    } finally {
      await direct.end();
    }
  });

  it('answers 503 while PostgreSQL is stopped, and 200 once it is back', async () => {
    await server.halt();
    try {
      const began = Date.now();
      const health = await call('GET', '/health', undefined, 5_000);
      expect(Date.now() - began).toBeLessThan(2_000);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'unhealthy', database: 'unreachable' });
      const put = await call('PUT', '/api/sites/9', siteInput(9));
      expect(put.status).toBe(503);
      expect(put.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await put.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
      expect(alive()).toBe(true);
    } finally {
      await server.start();
    }
    await healthy();
    expect((await call('PUT', '/api/sites/9', siteInput(9))).status).toBe(200);
    expect(alive()).toBe(true);
  });

  it('answers /health in time while PostgreSQL is frozen, and a write with 503 instead of hanging', async () => {
    server.signalAll('SIGSTOP');
    try {
      const write = (async () => {
        const began = Date.now();
        const res = await call('PUT', '/api/sites/10', siteInput(10), 40_000);
        return { status: res.status, ms: Date.now() - began };
      })();
      for (let i = 0; i < 2; i++) {
        const began = Date.now();
        const health = await call('GET', '/health', undefined, 10_000);
        expect(Date.now() - began).toBeLessThan(2_000);
        expect(health.status).toBe(503);
      }
      const { status, ms } = await write;
      expect(status).toBe(503);
      expect(ms).toBeLessThan(25_000);
      expect(alive()).toBe(true);
    } finally {
      server.signalAll('SIGCONT');
    }
    await healthy();
    expect((await call('PUT', '/api/sites/10', siteInput(10))).status).toBe(200);
    expect(output).not.toMatch(/secretKey|Unhandled/);
  });

  it('wavectl’s client waits out a restarting database for a repeatable request, and never repeats a POST', async () => {
    const waits: string[] = [];
    const client = new ControllerClient(httpTransport(base, TEST_API_KEY), (m) => waits.push(m));
    await server.halt();
    let restarted: Promise<void> | undefined;
    try {
      const post = await client
        .createUser({ username: 'nobody', password: 'nobody-pass-123456', role: 'user', displayName: null })
        .catch((e: Error) => e);
      expect(post).toBeInstanceOf(ControllerError);
      expect((post as ControllerError).message).toMatch(/HTTP 503 the database is unavailable/);
      expect(waits).toEqual([]);
      const sites = client.listSites();
      restarted = new Promise((r) => setTimeout(r, 2_500)).then(() => server.start());
      expect((await sites).map((s) => s.number)).toEqual(expect.arrayContaining([9, 10]));
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]).toMatch(
        /answered 503 database_unavailable \(GET \/api\/sites\); asking again in \d+ s/,
      );
    } finally {
      await (restarted ?? server.start());
    }
    expect(alive()).toBe(true);
  });
});
