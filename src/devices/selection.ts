import { wholeNumber } from '../commands/numbers';
import { UsageError } from '../errors';
import { parseSiteList } from '../router/site-selection';

/** `wavectl devices` options as commander hands them over. */
export interface DevicesOptions {
  site?: string;
  sites?: string;
  online?: boolean;
  offline?: boolean;
  newSince?: string;
  mac?: string;
  csv?: boolean;
}

/** Which devices to list, checked: what the controller is asked for. */
export interface DeviceSelection {
  sites?: number[];
  online?: boolean;
  mac?: string;
  firstSeenSince?: Date;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const MAC = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** `90s`, `30m`, `24h`, `7d`, `2w` in milliseconds; anything else is a usage error naming the option. Pure. */
export function parseDuration(option: string, text: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) {
    throw new UsageError(`${option} takes a time window such as 30m, 24h or 7d, got "${text}"`);
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Checks the options and turns them into a selection; `now` anchors --new-since. Pure. */
export function deviceSelection(options: DevicesOptions, now: Date): DeviceSelection {
  if (options.site !== undefined && options.sites !== undefined)
    throw new UsageError('choose sites with --site N or --sites 0-9,12, not both');
  if (options.online && options.offline) throw new UsageError('--online and --offline exclude each other');
  if (options.mac !== undefined && !MAC.test(options.mac))
    throw new UsageError(`--mac must look like aa:bb:cc:dd:ee:ff, got "${options.mac}"`);
  const sites =
    options.site !== undefined
      ? [wholeNumber('--site', options.site, 0, 255)]
      : options.sites !== undefined
        ? parseSiteList(options.sites)
        : undefined;
  return {
    sites,
    online: options.online ? true : options.offline ? false : undefined,
    mac: options.mac?.toLowerCase().replaceAll('-', ':'),
    firstSeenSince:
      options.newSince === undefined
        ? undefined
        : new Date(now.getTime() - parseDuration('--new-since', options.newSince)),
  };
}

/** The query string of one page of GET /api/devices. Pure. */
export function devicePageQuery(selection: DeviceSelection, limit: number, after?: string): URLSearchParams {
  const query = new URLSearchParams();
  if (selection.sites) query.set('sites', selection.sites.join(','));
  if (selection.online !== undefined) query.set('online', String(selection.online));
  if (selection.mac) query.set('mac', selection.mac);
  if (selection.firstSeenSince) query.set('firstSeenSince', selection.firstSeenSince.toISOString());
  query.set('limit', String(limit));
  if (after) query.set('after', after);
  return query;
}
