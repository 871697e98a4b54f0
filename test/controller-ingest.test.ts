import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/controller/app';
import { asScanner, DEPLOYMENT, siteInput, TEST_API_KEY } from './helpers/controller';
import { type PostgresServer, startPostgres } from './helpers/postgres';

interface DeviceRow {
  ip: string;
  mac: string | null;
  hostname: string | null;
  online: boolean;
  missedScans: number;
  firstSeen: string;
  lastSeen: string;
}

const at = (minute: number) => new Date(Date.UTC(2026, 4, 1, 12, minute)).toISOString();

/** Scanner reports: offline after N missed scans, idempotent resends, stale reports, concurrency. */
describe('scanner reports', () => {
  let pg: PostgresServer;
  let app: FastifyInstance;
  let strict: FastifyInstance;

  const report = (target: FastifyInstance, site: number, scannedAt: string, devices: object[]) =>
    target.inject({
      method: 'POST',
      url: `/api/sites/${site}/devices`,
      headers: asScanner(site),
      payload: { scannedAt, devices },
    });
  const devices = async (target: FastifyInstance, site: number): Promise<DeviceRow[]> =>
    (await target.inject({ method: 'GET', url: `/api/devices?site=${site}`, headers: DEPLOYMENT })).json()
      .devices;
  const register = async (target: FastifyInstance, site: number) => {
    const res = await target.inject({
      method: 'PUT',
      url: `/api/sites/${site}`,
      headers: DEPLOYMENT,
      payload: siteInput(site),
    });
    expect(res.statusCode).toBe(200);
  };

  beforeAll(async () => {
    pg = await startPostgres();
    app = await buildApp({ databaseUrl: await pg.createDatabase('ingest'), apiKey: TEST_API_KEY });
    strict = await buildApp({
      databaseUrl: await pg.createDatabase('ingest_n1'),
      apiKey: TEST_API_KEY,
      offlineAfterMissedScans: 1,
    });
  });
  afterAll(async () => {
    await app?.close();
    await strict?.close();
    await pg?.stop();
  });

  it('marks a device offline only after 2 consecutive missed scans by default, and back online when seen', async () => {
    await register(app, 1);
    const a = { ip: '10.8.1.10', mac: '00:00:0c:00:00:0a' };
    const b = { ip: '10.8.1.11', mac: '00:00:0c:00:00:0b' };
    expect((await report(app, 1, at(0), [a, b])).json()).toMatchObject({
      created: 2,
      updated: 0,
      markedOffline: 0,
    });
    expect((await report(app, 1, at(5), [a])).json()).toMatchObject({
      created: 0,
      updated: 1,
      markedOffline: 0,
    });
    let rows = await devices(app, 1);
    expect(rows.find((d) => d.ip === b.ip)).toMatchObject({ online: true, missedScans: 1 });
    // A scan that sees it again resets the count: one lost ping is not an outage.
    await report(app, 1, at(10), [a, b]);
    await report(app, 1, at(15), [a]);
    expect((await report(app, 1, at(20), [a])).json()).toMatchObject({ markedOffline: 1 });
    rows = await devices(app, 1);
    expect(rows.find((d) => d.ip === b.ip)).toMatchObject({
      online: false,
      missedScans: 2,
      lastSeen: at(10),
    });
    expect((await report(app, 1, at(25), [a])).json().markedOffline).toBe(0);
    expect((await report(app, 1, at(30), [a, b])).json()).toMatchObject({ updated: 2, markedOffline: 0 });
    expect((await devices(app, 1)).every((d) => d.online && d.missedScans === 0)).toBe(true);
  });

  it('with N = 1, marks a device missing from the last scan offline at once', async () => {
    await register(strict, 1);
    await report(strict, 1, at(0), [{ ip: '10.8.1.10' }, { ip: '10.8.1.11' }]);
    expect((await report(strict, 1, at(5), [{ ip: '10.8.1.10' }])).json().markedOffline).toBe(1);
    expect((await devices(strict, 1)).map((d) => [d.ip, d.online])).toEqual([
      ['10.8.1.10', true],
      ['10.8.1.11', false],
    ]);
  });

  it('changes nothing when the same report is sent again', async () => {
    await register(app, 2);
    const list = [{ ip: '10.8.2.10', hostname: 'one' }, { ip: '10.8.2.11' }];
    await report(app, 2, at(0), list);
    const first = await report(app, 2, at(5), [list[0]!]);
    const before = await devices(app, 2);
    const again = await report(app, 2, at(5), [list[0]!]);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({
      site: 2,
      received: 1,
      created: 0,
      updated: 0,
      markedOffline: 0,
      duplicate: true,
      stale: false,
    });
    expect(await devices(app, 2)).toEqual(before);
    expect(first.json().duplicate).toBe(false);
    // A resend of the report before does not count a second miss either.
    await report(app, 2, at(5), [list[0]!]);
    expect((await devices(app, 2)).find((d) => d.ip === '10.8.2.11')?.missedScans).toBe(1);
  });

  it('stores an older report as sightings without flipping anything offline', async () => {
    await register(app, 3);
    const a = { ip: '10.8.3.10', mac: '00:00:0c:00:03:0a' };
    const b = { ip: '10.8.3.11', mac: '00:00:0c:00:03:0b' };
    await report(app, 3, at(10), [a, b]);
    await report(app, 3, at(20), [a]);
    const late = await report(app, 3, at(15), [
      { ...a, ip: '10.8.3.99' },
      { ip: '10.8.3.12', hostname: 'late' },
    ]);
    expect(late.json()).toMatchObject({ created: 1, updated: 1, markedOffline: 0, stale: true });
    const rows = await devices(app, 3);
    // b missed one scan (at 20), the stale report (at 15) did not count as a second miss.
    expect(rows.find((d) => d.mac === b.mac)).toMatchObject({ online: true, missedScans: 1 });
    // a's address stays the newer one; its last sighting stays the newest.
    expect(rows.find((d) => d.mac === a.mac)).toMatchObject({
      ip: '10.8.3.10',
      lastSeen: at(20),
      firstSeen: at(10),
    });
    expect(rows.find((d) => d.hostname === 'late')).toMatchObject({ firstSeen: at(15), online: true });
    const site = (await app.inject({ method: 'GET', url: '/api/sites/3', headers: DEPLOYMENT })).json().site;
    expect(site.lastReportAt).toBe(at(20));
  });

  it('follows a device by MAC across addresses, and adopts a MAC-less sighting of the same address', async () => {
    await register(app, 4);
    await report(app, 4, at(0), [{ ip: '10.8.4.20', hostname: 'laptop' }]);
    const adopt = await report(app, 4, at(5), [{ ip: '10.8.4.20', mac: 'F4:F5:D8:00:04:20' }]);
    expect(adopt.json()).toMatchObject({ created: 0, updated: 1 });
    const moved = await report(app, 4, at(10), [
      { ip: '10.8.4.21', mac: 'f4:f5:d8:00:04:20', hostname: 'laptop-2' },
    ]);
    expect(moved.json()).toMatchObject({ created: 0, updated: 1 });
    expect(await devices(app, 4)).toEqual([
      expect.objectContaining({
        ip: '10.8.4.21',
        mac: 'f4:f5:d8:00:04:20',
        hostname: 'laptop-2',
        vendor: 'Google, Inc.',
        firstSeen: at(0),
        lastSeen: at(10),
      }),
    ]);
  });

  it('loses nothing and duplicates nothing when many reports for one site arrive at once', async () => {
    await register(app, 5);
    // 40 concurrent reports, each with 5 devices of its own and 5 shared by all, at distinct scan times.
    const shared = Array.from({ length: 5 }, (_, i) => ({
      ip: `10.8.5.${200 + i}`,
      mac: `02:00:00:00:05:${(i + 16).toString(16)}`,
    }));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, r) =>
        report(app, 5, at(r), [
          ...shared,
          ...Array.from({ length: 5 }, (_, i) => ({
            ip: `10.8.5.${r * 5 + i + 1}`,
            mac: `00:00:0c:05:${(r + 16).toString(16)}:${(i + 16).toString(16)}`,
          })),
        ]),
      ),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const created = results.reduce((sum, r) => sum + r.json().created, 0);
    const rows = await devices(app, 5);
    expect(rows).toHaveLength(205);
    expect(created).toBe(205);
    expect(new Set(rows.map((d) => d.mac)).size).toBe(205);
    for (const s of shared) expect(rows.find((d) => d.mac === s.mac)?.lastSeen).toBe(at(39));
    // The same report sent 20 times at once is applied exactly once.
    const resends = await Promise.all(Array.from({ length: 20 }, () => report(app, 5, at(50), shared)));
    expect(resends.filter((r) => r.json().duplicate === false)).toHaveLength(1);
    const { rows: reports } = await app.db.query(
      'select count(*)::int as n from scan_reports where site = 5',
    );
    expect(reports[0].n).toBe(41);
  });

  it('keeps one row per MAC when several sites report the same MACs at the same moment', async () => {
    const sites = [11, 12, 13, 14];
    for (const site of sites) await register(app, site);
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    const statuses = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const scannedAt = at(30 + round);
      await Promise.all(
        sites.map(async (site) => {
          // The same 40 MACs on every site, each at another address: devices moving between sites.
          const seen = Array.from({ length: 40 }, (_, i) => ({
            ip: `10.8.${site}.${i + 2}`,
            mac: `02:00:00:0b:${hex(round)}:${hex((i + site * 7) % 40)}`,
          }));
          // As the scanner does: a report answered 503 (a transaction PostgreSQL ended to break a deadlock)
          // is sent again.
          for (let attempt = 0; attempt < 5; attempt++) {
            const res = await report(app, site, scannedAt, seen);
            statuses.add(res.statusCode);
            if (res.statusCode !== 503) break;
            expect(res.json().error.code).toBe('transaction_conflict');
          }
        }),
      );
    }
    expect([...statuses].filter((s) => s !== 503)).toEqual([200]);
    const { rows } = await app.db.query<{ rows: number; macs: number }>(
      `select count(*)::int as rows, count(distinct device_key)::int as macs from devices
       where site = any($1::smallint[]) and device_key like '02:00:00:0b:%'`,
      [sites],
    );
    expect(rows[0]).toEqual({ rows: 8 * 40, macs: 8 * 40 });
  });
});
