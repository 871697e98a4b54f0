import { numberList } from '../commands/numbers';
import { SITE_COUNT } from '../network/address-plan';

/** Parses `--sites 0-9,12` into sorted unique site numbers; bad input is a UsageError. Pure. */
export function parseSiteList(text: string): number[] {
  return numberList('--sites', text, 0, SITE_COUNT - 1, 'site number');
}

/** Expands a reconnect template: `{lan}` is the router's new LAN address, `{site}` the site number. */
export function reachAddress(template: string, lan: string, site: number): string {
  return template.replaceAll('{lan}', lan).replaceAll('{site}', String(site));
}
