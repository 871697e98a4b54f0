import { badRequest } from '../http-errors';

/** A scanner's report as the API receives it (already schema-validated). */
export interface ReportBody {
  scannedAt: string;
  devices: { ip: string; mac?: string | null; hostname?: string | null }[];
}

export interface ReportedDevice {
  /** Identity within the site: the MAC, or `ip:<address>` while no MAC is known. */
  key: string;
  ip: string;
  mac: string | null;
  hostname: string | null;
}

export interface NormalisedReport {
  scannedAt: Date;
  devices: ReportedDevice[];
}

const MAX_CLOCK_AHEAD_MS = 10 * 60_000;
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export const macKey = (mac: string): string => mac.toLowerCase().replace(/-/g, ':');
export const ipKey = (ip: string): string => `ip:${ip}`;

/** True when `ip` is a dotted IPv4 address inside site N's 10.8.N.0/24. */
export function isInSite(ip: string, site: number): boolean {
  const m = IPV4.exec(ip);
  if (!m) return false;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) && octets[0] === 10 && octets[1] === 8 && octets[2] === site;
}

/**
 * Checks a report against its site and the clock, and reduces it to one entry per device: the same MAC (or, without a MAC,
 * the same address) listed twice keeps its last entry, and a MAC-less entry for an address that a MAC entry
 * also reports is the same device seen less well, so it is dropped. Pure; throws a 400 ApiError.
 */
export function normaliseReport(site: number, body: ReportBody, now = new Date()): NormalisedReport {
  const scannedAt = new Date(body.scannedAt);
  if (Number.isNaN(scannedAt.getTime())) throw badRequest('scannedAt must be an ISO-8601 date and time');
  // A report from the future would make every later, true report look stale, and nothing would ever be
  // marked offline again: refuse it, and say what is usually wrong.
  if (scannedAt.getTime() > now.getTime() + MAX_CLOCK_AHEAD_MS) {
    throw badRequest(
      `scannedAt ${body.scannedAt} is more than 10 minutes ahead of the controller's clock; check the router's time (NTP)`,
    );
  }
  const byKey = new Map<string, ReportedDevice>();
  for (const [i, device] of body.devices.entries()) {
    if (!isInSite(device.ip, site)) {
      throw badRequest(`devices[${i}].ip ${device.ip} is not inside site ${site}'s 10.8.${site}.0/24`);
    }
    if (device.mac != null && !MAC.test(device.mac)) {
      throw badRequest(`devices[${i}].mac must look like aa:bb:cc:dd:ee:ff`);
    }
    const mac = device.mac ? macKey(device.mac) : null;
    const hostname = device.hostname?.trim() ? device.hostname.trim() : null;
    const key = mac ?? ipKey(device.ip);
    byKey.delete(key); // keep the last entry, in the report's order
    byKey.set(key, { key, ip: device.ip, mac, hostname });
  }
  const addressesWithMac = new Set([...byKey.values()].filter((d) => d.mac).map((d) => d.ip));
  const devices = [...byKey.values()].filter((d) => d.mac !== null || !addressesWithMac.has(d.ip));
  return { scannedAt, devices };
}
