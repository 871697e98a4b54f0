import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { type RunningController, startController } from '../../src/controller/server';
import { DEPLOYMENT, siteInput, TEST_API_KEY } from './controller';
import type { PostgresServer } from './postgres';
import { makeTempDir } from './tmp';

/**
 * A real controller on a real PostgreSQL database, and a deployment directory whose wavectl.json points
 * controller.url at it (the API key from WAVESHIFT_API_KEY): what `wavectl devices` reads.
 */
export interface DevicesBed {
  controller: RunningController;
  databaseUrl: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  api(method: string, path: string, body?: unknown): Promise<Response>;
  /** Posts a scanner report of `site` at `scannedAt`, failing the test on anything but 200. */
  report(
    site: number,
    scannedAt: Date,
    devices: { ip: string; mac?: string; hostname?: string }[],
  ): Promise<Record<string, unknown>>;
  registerSites(numbers: number[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startDevicesBed(pg: PostgresServer, database: string): Promise<DevicesBed> {
  const databaseUrl = await pg.createDatabase(database);
  const controller = await startController({
    host: '127.0.0.1',
    port: 0,
    databaseUrl,
    apiKey: TEST_API_KEY,
    logger: false,
  });
  const tmp = await makeTempDir('wavectl-devices-');
  await writeFile(
    join(tmp.path, 'wavectl.json'),
    JSON.stringify({
      version: 1,
      name: database.replaceAll('_', '-'),
      identityProvider: 'local',
      aws: { profile: 'unused', region: 'us-east-1' },
      controller: { url: controller.url },
      accessServers: [],
      sites: [],
    }),
  );
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${controller.url}${path}`, {
      method,
      headers: { ...DEPLOYMENT, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    controller,
    databaseUrl,
    dir: tmp.path,
    env: { WAVESHIFT_API_KEY: TEST_API_KEY },
    api,
    async report(site, scannedAt, devices) {
      const res = await api('POST', `/api/sites/${site}/devices`, {
        scannedAt: scannedAt.toISOString(),
        devices,
      });
      if (res.status !== 200) throw new Error(`report of site ${site}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async registerSites(numbers) {
      const res = await api('PUT', '/api/sites', {
        sites: numbers.map((n) => ({ number: n, ...siteInput(n) })),
      });
      if (res.status !== 200) throw new Error(`registering sites: ${res.status} ${await res.text()}`);
    },
    async stop() {
      await controller.close();
      await tmp.remove();
    },
  };
}

/** Devices per site in a full region: 10.8.N.1 to 10.8.N.254. */
export const REGION_DEVICES = 256 * 254;

/**
 * Fills every site of a full region (sites 0-255, registered first) with 254 devices in one bulk insert, as
 * 256 scanner reports would leave them (reports themselves are the ingest tests' job). Every 7th device
 * (host part divisible by 7) is offline.
 */
export async function seedRegion(bed: DevicesBed): Promise<void> {
  await bed.registerSites(Array.from({ length: 256 }, (_, n) => n));
  const db = new pg.Client({ connectionString: bed.databaseUrl });
  await db.connect();
  try {
    await db.query(
      `insert into devices (site, device_key, ip, mac, hostname, vendor, online, missed_scans, first_seen, last_seen)
       select s, m, ('10.8.' || s || '.' || h)::inet, m::macaddr, 'device-' || s || '-' || h,
              'Raspberry Pi Trading Ltd', h % 7 <> 0, case when h % 7 = 0 then 2 else 0 end,
              now() - interval '3 days', now()
       from generate_series(0, 255) s, generate_series(1, 254) h,
            lateral (select '02:' || lpad(to_hex(s), 2, '0') || ':' || lpad(to_hex(h), 2, '0') || ':00:00:01' as m) k`,
    );
    await db.query('analyze devices');
  } finally {
    await db.end();
  }
}
