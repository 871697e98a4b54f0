import type { Pool } from 'pg';
import type { DeviceEvent } from '../api-types';

export type { DeviceEvent };

/** The channel the triggers NOTIFY (delivered once per transaction that recorded events). */
export const DEVICE_EVENTS_CHANNEL = 'waveshift_device_events';

export async function deviceEventsAfter(db: Pool, after: number, limit: number): Promise<DeviceEvent[]> {
  const { rows } = await db.query(
    `select id, at, kind, site, previous_site, host(ip) as ip, mac::text as mac, hostname, vendor
     from device_events where id > $1 order by id limit $2`,
    [after, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: (r.at as Date).toISOString(),
    kind: r.kind,
    site: r.site,
    previousSite: r.previous_site,
    ip: r.ip,
    mac: r.mac,
    hostname: r.hostname,
    vendor: r.vendor,
  }));
}

/** The newest event's id (0 when there is none): a watcher that gives no position starts after it. */
export async function lastDeviceEventId(db: Pool): Promise<number> {
  const { rows } = await db.query<{ id: number | null }>('select max(id) as id from device_events');
  return rows[0]?.id ?? 0;
}
