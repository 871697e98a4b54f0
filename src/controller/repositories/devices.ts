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
 *
 * Four statements (three for a report without MACs): each is a round trip that a region's 256 reports pay
 * at once, so work that needs no fresh snapshot of the devices rides along with a statement that runs anyway.
 */
export async function ingestReport(
  db: PoolClient,
  site: number,
  report: NormalisedReport,
  options: { offlineAfterMissedScans: number; oui: OuiTable },
): Promise<IngestCounts | undefined> {
  const received = report.devices.length;
  // The report's row in scan_reports is claimed under the site's lock: ON CONFLICT sees a report of the same
  // scannedAt committed while this one waited for the lock, which the statement's snapshot would not.
  const claimed = await db.query<{ offline_after: number | null; stale: boolean; fresh: boolean }>(
    `with locked as (
       select last_report_at, offline_after_missed_scans from sites where number = $1 for update
     ), claimed as (
       insert into scan_reports (site, scanned_at, received, created, updated, marked_offline, stale)
       select $1, $2, $3, 0, 0, 0, coalesce($2 < last_report_at, false) from locked
       on conflict (site, scanned_at) do nothing
       returning stale
     )
     select l.offline_after_missed_scans as offline_after, coalesce(c.stale, false) as stale, c.stale is not null as fresh
     from locked l left join claimed c on true`,
    [site, report.scannedAt, received],
  );
  const siteRow = claimed.rows[0];
  if (!siteRow) return undefined;
  if (!siteRow.fresh) {
    return { site, received, created: 0, updated: 0, markedOffline: 0, duplicate: true, stale: false };
  }
  const { stale } = siteRow;
  const offlineAfter = siteRow.offline_after ?? options.offlineAfterMissedScans;
  const keys = report.devices.map((d) => d.key);

  // A device first seen without its MAC and now with it, or seen on another site, keeps its one row.
  // A MAC-less device's key names an address of this site: no other site has it.
  const withMac = report.devices.filter((d) => d.mac !== null);
  let elsewhere: string[] = [];
  if (withMac.length > 0) {
    const taken = await db.query<{ elsewhere: string[] }>(
      'select devices_take_macs($1, $2, $3, $4) as elsewhere',
      [site, report.scannedAt, withMac.map((d) => d.key), withMac.map((d) => d.ip)],
    );
    elsewhere = taken.rows[0]?.elsewhere ?? [];
  }

  const upserted = await db.query<{ created: number; updated: number }>(
    `with upserted as (
     insert into devices as d (site, device_key, ip, mac, hostname, vendor, online, missed_scans, first_seen, last_seen)
     select $1, r.key, r.ip::inet, r.mac::macaddr, r.hostname, r.vendor, true, 0, $2, $2
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) as r(key, ip, mac, hostname, vendor)
     where not (r.key = any($9::text[]))
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
     returning (xmax = 0) as inserted)
     select count(*) filter (where inserted)::int as created, count(*) filter (where not inserted)::int as updated
     from upserted`,
    [
      site,
      report.scannedAt,
      keys,
      report.devices.map((d) => d.ip),
      report.devices.map((d) => d.mac),
      report.devices.map((d) => d.hostname),
      report.devices.map((d) => vendorOf(d.mac, options.oui)),
      stale,
      elsewhere,
    ],
  );
  const { created, updated } = upserted.rows[0] ?? { created: 0, updated: 0 };

  if (stale) {
    await db.query('update scan_reports set created = $3, updated = $4 where site = $1 and scanned_at = $2', [
      site,
      report.scannedAt,
      created,
      updated,
    ]);
    return { site, received, created, updated, markedOffline: 0, duplicate: false, stale };
  }
  // Everything of the site missing from this scan has missed one more; it goes offline at N misses.
  // Device events serve watchers that were briefly away (Last-Event-ID), not an archive: keep 30 days.
  // SKIP LOCKED: reports of other sites pruning at the same moment neither wait for this one nor deadlock.
  // ORDER BY at: with LIMIT alone the planner expects old rows early in a sequential scan and reads the
  // whole table on every report when there are none; in index order it stops at the first recent event.
  const finished = await db.query<{ marked_offline: number }>(
    `with missing as (
       select id, online from devices where site = $1 and not (device_key = any($3::text[])) for update
     ), changed as (
       update devices d set missed_scans = d.missed_scans + 1,
                            online = d.online and d.missed_scans + 1 < $4
       from missing m where d.id = m.id
       returning m.online as was_online, d.online as is_online
     ), reported as (
       update sites set last_report_at = $2 where number = $1
     ), pruned as (
       delete from device_events where id in (
         select id from device_events where at < now() - interval '30 days' order by at limit 5000
         for update skip locked)
     )
     update scan_reports set created = $5, updated = $6,
       marked_offline = (select count(*) filter (where was_online and not is_online) from changed)
     where site = $1 and scanned_at = $2
     returning marked_offline`,
    [site, report.scannedAt, keys, offlineAfter, created, updated],
  );
  const markedOffline = finished.rows[0]?.marked_offline ?? 0;
  return { site, received, created, updated, markedOffline, duplicate: false, stale };
}
