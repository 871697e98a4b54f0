import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { SiteInput } from '../controller-client/types';
import { UsageError } from '../errors';
import { chooseAccessServer, lowestFreeSiteNumbers, SITE_COUNT, siteCidr } from '../network/address-plan';

export interface AddSitesPlan {
  /** Sites an earlier run recorded but did not finish; this run finishes them (they count toward N). */
  unfinished: SiteRecord[];
  /** New sites, numbered from the lowest free numbers, each on its block's access server. */
  created: SiteRecord[];
}

export const defaultSiteName = (n: number): string => `site-${n}`;

/**
 * Pure: what `sites --add count` does to `config`. Refuses (before anything changes) when there is no
 * access server or not enough free numbers. Public keys come from `publicKeyFor` (fresh key pairs).
 */
export function planAddSites(
  config: Pick<WavectlConfig, 'sites' | 'accessServers'>,
  count: number,
  publicKeyFor: (site: number) => string,
): AddSitesPlan {
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`--add needs a positive number of sites, got ${count}`);
  // A server the controller has not accepted yet (an interrupted `access-servers --add`) takes no sites.
  const servers = config.accessServers
    .filter((a) => a.instanceId && a.publicIp && a.registered !== false)
    .map((a) => a.index);
  if (servers.length === 0) {
    const unfinished = config.accessServers.map((a) => a.index);
    throw new UsageError(
      unfinished.length > 0
        ? `sites need an access server to connect to, and access server${unfinished.length === 1 ? '' : 's'} ${unfinished.join(', ')} ${unfinished.length === 1 ? 'is' : 'are'} not finished (unregistered): run \`wavectl access-servers --add ${unfinished.length}\` to finish ${unfinished.length === 1 ? 'it' : 'them'} first`
        : 'sites need an access server to connect to, and this deployment has none: run `wavectl access-servers --add 1` first',
    );
  }
  const unfinished = config.sites.filter((s) => !s.registered);
  const fresh = Math.max(0, count - unfinished.length);
  let numbers: number[];
  try {
    numbers = lowestFreeSiteNumbers(
      config.sites.map((s) => s.number),
      fresh,
    );
  } catch {
    const free = SITE_COUNT - config.sites.length;
    throw new UsageError(
      `cannot add ${fresh} site${fresh === 1 ? '' : 's'}: a deployment holds at most ${SITE_COUNT} sites and ${free} number${free === 1 ? ' is' : 's are'} free; nothing was changed`,
    );
  }
  const assigned = [...config.sites];
  const created: SiteRecord[] = [];
  for (const number of numbers) {
    const site: SiteRecord = {
      number,
      name: defaultSiteName(number),
      publicKey: publicKeyFor(number),
      accessServer: chooseAccessServer(assigned, servers, number),
      registered: false,
    };
    assigned.push(site);
    created.push(site);
  }
  return { unfinished, created };
}

/** The registration the controller receives for a site: public facts and the scanner key's hash. */
export function siteInput(site: SiteRecord, scannerKeyHash: string): SiteInput {
  return {
    number: site.number,
    name: site.name,
    cidr: siteCidr(site.number),
    publicKey: site.publicKey,
    accessServer: site.accessServer,
    scannerKeyHash,
  };
}

/** Replaces or appends records by number, keeping the list ordered. */
export function withSites(sites: readonly SiteRecord[], changed: readonly SiteRecord[]): SiteRecord[] {
  const byNumber = new Map(sites.map((s) => [s.number, s]));
  for (const s of changed) byNumber.set(s.number, s);
  return [...byNumber.values()].sort((a, b) => a.number - b.number);
}
