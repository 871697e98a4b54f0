import type { Pool, PoolClient } from 'pg';

import type { Site, SiteInput } from '../api-types';

export type { Site, SiteInput };

const SELECT = `
  select s.number, s.name, s.cidr::text as cidr, s.public_key, s.access_server, s.created_at, s.updated_at,
         s.last_report_at,
         (select count(*) from devices d where d.site = s.number)::int as device_count,
         (select count(*) from devices d where d.site = s.number and d.online)::int as online_count
  from sites s`;

function toSite(r: Record<string, unknown>): Site {
  return {
    number: r.number as number,
    name: r.name as string,
    cidr: r.cidr as string,
    publicKey: r.public_key as string,
    accessServer: r.access_server as number,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
    lastReportAt: r.last_report_at ? (r.last_report_at as Date).toISOString() : null,
    deviceCount: r.device_count as number,
    onlineCount: r.online_count as number,
  };
}

export async function listSites(db: Pool | PoolClient, numbers?: number[]): Promise<Site[]> {
  const { rows } = numbers
    ? await db.query(`${SELECT} where s.number = any($1::int[]) order by s.number`, [numbers])
    : await db.query(`${SELECT} order by s.number`);
  return rows.map(toSite);
}

export async function getSite(db: Pool | PoolClient, number: number): Promise<Site | undefined> {
  const { rows } = await db.query(`${SELECT} where s.number = $1`, [number]);
  return rows[0] ? toSite(rows[0]) : undefined;
}

/** Creates or replaces a site's registration and its scanner key hash; returns true when it was new. */
export async function upsertSite(db: PoolClient, site: SiteInput): Promise<boolean> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `insert into sites (number, name, cidr, public_key, access_server) values ($1, $2, $3, $4, $5)
     on conflict (number) do update set name = excluded.name, cidr = excluded.cidr,
       public_key = excluded.public_key, access_server = excluded.access_server, updated_at = now()
     returning (xmax = 0) as inserted`,
    [site.number, site.name, site.cidr, site.publicKey, site.accessServer],
  );
  await db.query(
    `insert into api_keys (kind, site, key_hash) values ('scanner', $1, $2)
     on conflict (kind, site) do update set key_hash = excluded.key_hash`,
    [site.number, site.scannerKeyHash.toLowerCase()],
  );
  return rows[0]?.inserted === true;
}

/** Removes a site with its devices, reports and scanner key (foreign keys cascade). */
export async function deleteSite(db: PoolClient, number: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from sites where number = $1', [number]);
  return (rowCount ?? 0) > 0;
}

/** The site whose scanner key has this hash, if any. */
export async function siteOfScannerKey(
  db: Pool,
  keyHash: string,
): Promise<{ site: number; keyHash: string } | undefined> {
  const { rows } = await db.query<{ site: number; key_hash: string }>(
    "select site, key_hash from api_keys where kind = 'scanner' and key_hash = $1",
    [keyHash],
  );
  return rows[0] ? { site: rows[0].site, keyHash: rows[0].key_hash } : undefined;
}
