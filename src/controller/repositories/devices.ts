import type { Pool, PoolClient } from 'pg';
import type { Device } from '../api-types';
import type { NormalisedReport } from '../ingest/report';
import { type OuiTable, vendorOf } from '../ingest/vendor';

export interface DeviceFilter {
  sites?: number[];
  online?: boolean;
  mac?: string;
  /** Only devices first seen at or after this time (anywhere in the region). */
  firstSeenSince?: Date;
}

/** A position in the (site, ip, id) order: the last row of the previous page. */
export interface DeviceCursor {
  site: number;
  ip: string;
  id: number;
}

export interface DevicePage {
  devices: Device[];
  /** Where the next page starts; undefined after the last page. */
  next?: DeviceCursor;
}

/**
 * One page of the inventory in a stable order (site, ip, id), by keyset: a page costs the same wherever it
 * is in the table, and rows inserted while a client pages never shift the rows it has not read yet.
 */
export async function listDevicePage(
  db: Pool,
  filter: DeviceFilter,
  page: { after?: DeviceCursor; limit: number },
): Promise<DevicePage> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.sites) where.push(`site = any(${param(filter.sites)}::int[])`);
  if (filter.online !== undefined) where.push(`online = ${param(filter.online)}`);
  if (filter.mac) where.push(`mac = ${param(filter.mac)}::macaddr`);
  if (filter.firstSeenSince) where.push(`first_seen >= ${param(filter.firstSeenSince)}`);
  if (page.after) {
    const { site, ip, id } = page.after;
    where.push(`(site, ip, id) > (${param(site)}, ${param(ip)}::inet, ${param(id)})`);
  }
  // Qualified in ORDER BY: a bare `ip` would name the text column host(ip) and sort 10.8.0.100 before .11.
  const { rows } = await db.query(
    `select id, site, host(ip) as ip, mac::text as mac, hostname, vendor, online, first_seen, last_seen,
            missed_scans, previous_site, moved_at
     from devices ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
     order by devices.site, devices.ip, devices.id
     limit ${param(page.limit + 1)}`,
    values,
  );
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown[shown.length - 1];
  return {
    devices: shown.map((r) => ({
      site: r.site,
      ip: r.ip,
      mac: r.mac,
      hostname: r.hostname,
      vendor: r.vendor,
      online: r.online,
      firstSeen: (r.first_seen as Date).toISOString(),
      lastSeen: (r.last_seen as Date).toISOString(),
      missedScans: r.missed_scans,
      previousSite: r.previous_site,
      movedAt: r.moved_at ? (r.moved_at as Date).toISOString() : null,
    })),
    next: more && last ? { site: last.site, ip: last.ip, id: last.id } : undefined,
  };
}

/**
 * Sets how many consecutive scans a device of `site` may miss before it counts as offline; null returns the
 * site to the controller's default. False when the site does not exist.
 */
export async function setOfflineAfter(
  db: PoolClient,
  site: number,
  missedScans: number | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'update sites set offline_after_missed_scans = $2, updated_at = now() where number = $1',
    [site, missedScans],
  );
  return (rowCount ?? 0) > 0;
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
  const locked = await db.query<{ last_report_at: Date | null; offline_after_missed_scans: number | null }>(
    'select last_report_at, offline_after_missed_scans from sites where number = $1 for update',
    [site],
  );
  const siteRow = locked.rows[0];
  if (!siteRow) return undefined;
  const offlineAfter = siteRow.offline_after_missed_scans ?? options.offlineAfterMissedScans;
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

  // A MAC is one device across the region. Seen here no earlier than its last sighting on another site,
  // its row moves here and remembers where it was; seen here earlier than that, this sighting is old news
  // and is left out, so the device never has two rows.
  const withMac = report.devices.filter((d) => d.mac !== null);
  if (withMac.length > 0) {
    await db.query('select devices_move_here($1, $2, $3, $4)', [
      site,
      report.scannedAt,
      withMac.map((d) => d.key),
      withMac.map((d) => d.ip),
    ]);
  }

  const upserted = await db.query<{ inserted: boolean }>(
    `insert into devices as d (site, device_key, ip, mac, hostname, vendor, online, missed_scans, first_seen, last_seen)
     select $1, r.key, r.ip::inet, r.mac::macaddr, r.hostname, r.vendor, true, 0, $2, $2
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as r(key, ip, mac, hostname, vendor)
     where not exists (select 1 from devices e where e.device_key = r.key and e.site <> $1)
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
      [site, keys, offlineAfter],
    );
    markedOffline = missed.rows[0]?.flipped ?? 0;
    await db.query('update sites set last_report_at = $2 where number = $1', [site, report.scannedAt]);
    // Device events serve watchers that were briefly away (Last-Event-ID), not an archive: keep 30 days.
    // SKIP LOCKED: reports of other sites pruning at the same moment neither wait for this one nor deadlock.
    // ORDER BY at: with LIMIT alone the planner expects old rows early in a sequential scan and reads the
    // whole table on every report when there are none; in index order it stops at the first recent event.
    await db.query(
      `delete from device_events where id in (
         select id from device_events where at < now() - interval '30 days' order by at limit 5000
         for update skip locked)`,
    );
  }
  await db.query(
    `insert into scan_reports (site, scanned_at, received, created, updated, marked_offline, stale)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [site, report.scannedAt, received, created, updated, markedOffline, stale],
  );
  return { site, received, created, updated, markedOffline, duplicate: false, stale };
}
