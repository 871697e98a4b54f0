import { UsageError } from '../errors';
import { SITE_COUNT } from '../network/address-plan';

/** Parses `--sites 0-9,12` into sorted unique site numbers; bad input is a UsageError. Pure. */
export function parseSiteList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d{1,3})(?:-(\d{1,3}))?$/.exec(part);
    if (!m) throw new UsageError(`--sites: "${part}" is not a site number or range like 0-9`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to) throw new UsageError(`--sites: range "${part}" runs backwards`);
    if (to >= SITE_COUNT)
      throw new UsageError(`--sites: site numbers are 0-${SITE_COUNT - 1}; "${part}" is outside`);
    for (let n = from; n <= to; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** Expands a reconnect template: `{lan}` is the router's new LAN address, `{site}` the site number. */
export function reachAddress(template: string, lan: string, site: number): string {
  return template.replaceAll('{lan}', lan).replaceAll('{site}', String(site));
}
