import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assembleArchive, decodeArchive, encodeArchive } from '../src/backup/archive';
import { restoreSnapshot, takeSnapshot } from '../src/backup/database-snapshot';
import { open, seal } from '../src/backup/sealed-file';
import { migrate } from '../src/controller/db/migrate';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres';

/**
 * The figures of `wavectl backup` and `restore --database` for a full region: 256 sites with 254 devices
 * each and a day of scan reports, in a real PostgreSQL migrated by the controller's own migrations.
 */
let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await startPostgres();
}, 120_000);
afterAll(() => postgres?.stop());

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const started = process.hrtime.bigint();
  const value = await work();
  return [value, Number(process.hrtime.bigint() - started) / 1e6];
};

it('a full region through backup and restore', async () => {
  const source = await postgres.createDatabase('full');
  const target = await postgres.createDatabase('restored');
  for (const url of [source, target]) {
    const pool = new pg.Pool({ connectionString: url });
    await migrate(pool);
    await pool.end();
  }
  const client = new pg.Client({ connectionString: source });
  await client.connect();
  await client.query(`insert into sites (number, name, cidr, public_key, access_server)
    select n, 'site-' || n, ('10.8.' || n || '.0/24')::cidr, 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', n / 16
    from generate_series(0, 255) n`);
  await client.query(`insert into devices (site, device_key, ip, mac, hostname, online, first_seen, last_seen)
    select s, lpad(to_hex(s), 2, '0') || ':00:00:00:' || lpad(to_hex(d / 256), 2, '0') || ':' || lpad(to_hex(d % 256), 2, '0'),
      ('10.8.' || s || '.' || d)::inet,
      (lpad(to_hex(s), 2, '0') || ':00:00:00:' || lpad(to_hex(d / 256), 2, '0') || ':' || lpad(to_hex(d % 256), 2, '0'))::macaddr,
      'host-' || s || '-' || d, true, now() - interval '30 days', now()
    from generate_series(0, 255) s, generate_series(1, 254) d`);
  await client.query(`insert into scan_reports (site, scanned_at, received, created, updated, marked_offline, stale)
    select s, now() - (m || ' minutes')::interval, 254, 0, 254, 0, false
    from generate_series(0, 255) s, generate_series(0, 1435, 5) m`);
  await client.end();

  const [snapshot, snapshotMs] = await timed(() => takeSnapshot(source));
  const contents = assembleArchive({
    config: '{}',
    deployment: 'bench',
    region: 'us-east-1',
    secrets: Array.from({ length: 2 * 256 + 17 }, (_, i) => ({
      name: `/waveshift/bench/s/${i}`,
      value: 'x'.repeat(43),
    })),
    database: { format: 'wavectl-snapshot-1', snapshot },
    missing: [],
    now: new Date(),
  });
  const [sealed, sealMs] = await timed(() => seal(encodeArchive(contents), 'a bench passphrase'));
  const [opened, openMs] = await timed(async () =>
    decodeArchive(await open(sealed, 'a bench passphrase', 'bench'), 'bench'),
  );

  const database = opened.database;
  if (database?.format !== 'wavectl-snapshot-1') throw new Error('the archive lost its snapshot');
  const [restored, restoreMs] = await timed(() => restoreSnapshot(target, database.snapshot));
  expect(restored.devices).toBe(256 * 254);
  const rows = Object.values(snapshot.tables).reduce((n, r) => n + r.length, 0);
  console.log(
    [
      `rows: ${rows} (devices ${snapshot.tables.devices?.length}, scan_reports ${snapshot.tables.scan_reports?.length})`,
      `snapshot (one repeatable-read transaction): ${(snapshotMs / 1000).toFixed(2)} s`,
      `archive: ${(sealed.length / 1024 / 1024).toFixed(2)} MiB sealed (gzip inside)`,
      `seal (scrypt N=2^17 + AES-256-GCM): ${(sealMs / 1000).toFixed(2)} s; open + checksums: ${(openMs / 1000).toFixed(2)} s`,
      `restore into a fresh controller database (one transaction): ${(restoreMs / 1000).toFixed(2)} s`,
    ].join('\n'),
  );
});
