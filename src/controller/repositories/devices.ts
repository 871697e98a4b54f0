import type { Pool, PoolClient } from 'pg';
import type { NormalisedReport } from '../ingest/report';
import { type OuiTable, vendorOf } from '../ingest/vendor';

export interface Device {
  site: number;
  ip: string;
  mac: string | null;
  hostname: string | null;
  vendor: string | null;
  online: boolean;
  firstSeen: string;
  lastSeen: string;
  missedScans: number;
}

export interface DeviceFilter {
  site?: number;
  online?: boolean;
  mac?: string;
}

export async function listDevices(db: Pool, filter: DeviceFilter): Promise<Device[]> {
  const { rows } = await db.query(
    `select site, host(ip) as ip, mac::text as mac, hostname, vendor, online, first_seen, last_seen, missed_scans
     from devices
     where ($1::int is null or site = $1) and ($2::boolean is null or online = $2)
       and ($3::macaddr is null or mac = $3)
     order by site, ip, mac nulls first`,
    [filter.site ?? null, filter.online ?? null, filter.mac ?? null],
  );
  return rows.map((r) => ({
    site: r.site,
    ip: r.ip,
    mac: r.mac,
    hostname: r.hostname,
    vendor: r.vendor,
    online: r.online,
    firstSeen: (r.first_seen as Date).toISOString(),
    lastSeen: (r.last_seen as Date).toISOString(),
    missedScans: r.missed_scans,
  }));
}

export interface IngestCounts {
  site: number;
  received: number;
  created: number;
  updated: number;
  markedOffline: number;
  /** The report was already processed (same scannedAt): nothing changed. */
  duplicate: boolean;
  /** Older than the site's newest processed report: stored as sightings, nobody marked offline. */
  stale: boolean;
}

/**
 * Applies one scanner report; call inside a transaction. The site's row is locked first, so reports of one
 * site apply one after the other (none lost, no duplicate device created by two at once) while reports of
 * different sites run in parallel. Returns undefined when the site does not exist.
 */
export async function ingestReport(
  db: PoolClient,
  site: number,
  report: NormalisedReport,
  options: { offlineAfterMissedScans: number; oui: OuiTable },
): Promise<IngestCounts | undefined> {
  const locked = await db.query<{ last_report_at: Date | null }>(
    'select last_report_at from sites where number = $1 for update',
    [site],
  );
  const siteRow = locked.rows[0];
  if (!siteRow) return undefined;
  const received = report.devices.length;
  const seen = await db.query('select 1 from scan_reports where site = $1 and scanned_at = $2', [
    site,
    report.scannedAt,
  ]);
  if ((seen.rowCount ?? 0) > 0) {
    return { site, received, created: 0, updated: 0, markedOffline: 0, duplicate: true, stale: false };
  }
  const stale = siteRow.last_report_at !== null && report.scannedAt < siteRow.last_report_at;
  const keys = report.devices.map((d) => d.key);
  const ips = report.devices.map((d) => d.ip);
  const macs = report.devices.map((d) => d.mac);

  // A device first seen without its MAC (scanned without privileges) and now seen with one is the same
  // device: give its row the MAC as identity instead of creating a second row.
  await db.query(
    `update devices d set device_key = r.mac, mac = r.mac::macaddr
     from unnest($2::text[], $3::text[]) as r(ip, mac)
     where d.site = $1 and r.mac is not null and d.device_key = 'ip:' || r.ip
       and not exists (select 1 from devices e where e.site = $1 and e.device_key = r.mac)`,
    [site, ips, macs],
  );

  const upserted = await db.query<{ inserted: boolean }>(
    `insert into devices as d (site, device_key, ip, mac, hostname, vendor, online, missed_scans, first_seen, last_seen)
     select $1, r.key, r.ip::inet, r.mac::macaddr, r.hostname, r.vendor, true, 0, $2, $2
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as r(key, ip, mac, hostname, vendor)
     on conflict (site, device_key) do update set
       ip = case when $8 then d.ip else excluded.ip end,
       mac = coalesce(excluded.mac, d.mac),
       hostname = case when $8 then coalesce(d.hostname, excluded.hostname)
                       else coalesce(excluded.hostname, d.hostname) end,
       vendor = coalesce(excluded.vendor, d.vendor),
       online = case when $8 then d.online else true end,
       missed_scans = case when $8 then d.missed_scans else 0 end,
       first_seen = least(d.first_seen, excluded.first_seen),
       last_seen = greatest(d.last_seen, excluded.last_seen)
     returning (xmax = 0) as inserted`,
    [
      site,
      report.scannedAt,
      keys,
      ips,
      macs,
      report.devices.map((d) => d.hostname),
      report.devices.map((d) => vendorOf(d.mac, options.oui)),
      stale,
    ],
  );
  const created = upserted.rows.filter((r) => r.inserted).length;
  const updated = upserted.rows.length - created;

  let markedOffline = 0;
  if (!stale) {
    // Everything of the site missing from this scan has missed one more; it goes offline at N misses.
    const missed = await db.query<{ flipped: number }>(
      `with missing as (
         select id, online from devices where site = $1 and not (device_key = any($2::text[])) for update
       ), changed as (
         update devices d set missed_scans = d.missed_scans + 1,
                              online = d.online and d.missed_scans + 1 < $3
         from missing m where d.id = m.id
         returning m.online as was_online, d.online as is_online
       )
       select count(*) filter (where was_online and not is_online)::int as flipped from changed`,
      [site, keys, options.offlineAfterMissedScans],
    );
    markedOffline = missed.rows[0]?.flipped ?? 0;
    await db.query('update sites set last_report_at = $2 where number = $1', [site, report.scannedAt]);
  }
  await db.query(
    `insert into scan_reports (site, scanned_at, received, created, updated, marked_offline, stale)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [site, report.scannedAt, received, created, updated, markedOffline, stale],
  );
  return { site, received, created, updated, markedOffline, duplicate: false, stale };
}
