import type { Device, DeviceEvent } from '../controller/api-types';
import { toCsv } from '../export/csv';
import { renderTable } from '../io/output';
import { printable } from '../io/printable';

/**
 * Devices for people (a table) and for spreadsheets (CSV). Hostnames come from the devices themselves
 * (DHCP), so they are hostile input: control characters never reach a terminal, and no CSV cell can start a
 * formula or break a row.
 */

const minute = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

/** online, offline, or online with the scans it has missed so far. Pure. */
export function deviceState(d: Pick<Device, 'online' | 'missedScans'>): string {
  if (!d.online) return 'offline';
  return d.missedScans > 0 ? `online (missed ${d.missedScans})` : 'online';
}

const siteOf = (d: { site: number; previousSite: number | null }) =>
  d.previousSite === null ? String(d.site) : `${d.site} (was ${d.previousSite})`;

export function renderDeviceTable(devices: readonly Device[]): string {
  if (devices.length === 0) return 'no devices';
  const online = devices.filter((d) => d.online).length;
  return `${renderTable(
    ['site', 'ip', 'mac', 'vendor', 'hostname', 'first seen', 'last seen', 'state'],
    devices.map((d) => [
      siteOf(d),
      d.ip,
      d.mac ?? '-',
      printable(d.vendor, 28),
      printable(d.hostname),
      minute(d.firstSeen),
      minute(d.lastSeen),
      deviceState(d),
    ]),
  )}\n${devices.length} device(s), ${online} online, ${devices.length - online} offline`;
}

const CSV_COLUMNS = [
  'site',
  'ip',
  'mac',
  'vendor',
  'hostname',
  'first_seen',
  'last_seen',
  'state',
  'missed_scans',
  'previous_site',
  'moved_at',
] as const;

export function renderDeviceCsv(devices: readonly Device[]): string {
  return toCsv(
    CSV_COLUMNS,
    devices.map((d) => [
      d.site,
      d.ip,
      d.mac,
      d.vendor,
      d.hostname,
      d.firstSeen,
      d.lastSeen,
      d.online ? 'online' : 'offline',
      d.missedScans,
      d.previousSite,
      d.movedAt,
    ]),
  );
}

const KIND_WIDTH = 'returning'.length;

/** One line of `devices watch` for people. Pure. */
export function renderDeviceEvent(e: DeviceEvent): string {
  const where =
    e.kind === 'moved' && e.previousSite !== null
      ? `site ${e.site} (from ${e.previousSite})`
      : `site ${e.site}`;
  return [
    e.at.slice(0, 19).replace('T', ' '),
    e.kind.padEnd(KIND_WIDTH),
    where,
    e.ip,
    e.mac ?? '-',
    printable(e.vendor, 28),
    printable(e.hostname),
  ].join('  ');
}
