/**
 * The address plan (DESIGN §3), pure. Ranges:
 *   VPC 10.0.0.0/16 (public 10.0.1.0/24, private 10.0.2.0/24, resolver 10.0.0.2)
 *   sites 10.8.0.0/16: site N owns 10.8.N.0/24, router 10.8.N.1
 *   access-server tunnel addresses 10.9.0.0/24: server K is 10.9.0.(K+1), its DNS forwarder for sites
 * A site's router puts 10.8.N.1/32 on its WireGuard interface too, so traffic it originates (scanner
 * reports) leaves with an address the VPC routes back; no separate tunnel range for sites is needed.
 *
 * Sites are grouped in blocks of 16 (a /20 each); every site of a block uses the same access server, so the
 * VPC route tables need at most one route per block (16 at 256 sites, well inside AWS's 50), and adjacent
 * blocks of one server merge into a shorter prefix.
 */

export const VPC_CIDR = '10.0.0.0/16';
export const PUBLIC_SUBNET_CIDR = '10.0.1.0/24';
export const PRIVATE_SUBNET_CIDR = '10.0.2.0/24';
export const VPC_RESOLVER = '10.0.0.2';
export const SITES_CIDR = '10.8.0.0/16';
export const TUNNEL_CIDR = '10.9.0.0/24';
export const SITE_COUNT = 256;
export const SITES_PER_BLOCK = 16;
export const MAX_ACCESS_SERVERS = 64;
export const WIREGUARD_PORT = 51820;

export type SiteNumber = number;

export function isSiteNumber(n: number): n is SiteNumber {
  return Number.isInteger(n) && n >= 0 && n < SITE_COUNT;
}

export const siteCidr = (n: SiteNumber): string => `10.8.${n}.0/24`;
export const siteGateway = (n: SiteNumber): string => `10.8.${n}.1`;
/** Address on the site router's WireGuard interface (its LAN address as a /32). */
export const siteTunnelAddress = (n: SiteNumber): string => `10.8.${n}.1/32`;
/** DHCP pool of a site: .100 to .249, leaving .2-.99 for static devices. */
export const siteDhcpRange = (n: SiteNumber) => ({
  start: 100,
  limit: 150,
  first: `10.8.${n}.100`,
  last: `10.8.${n}.249`,
});

export const accessServerTunnelIp = (index: number): string => `10.9.0.${index + 1}`;
/** What a site sends into its tunnel: the VPC and the access servers' tunnel addresses, never other sites. */
export const SITE_ALLOWED_IPS: readonly string[] = [VPC_CIDR, TUNNEL_CIDR];

export const blockOf = (n: SiteNumber): number => Math.floor(n / SITES_PER_BLOCK);

/** The lowest `count` site numbers not in `taken`; throws RangeError when the 256 numbers run out. */
export function lowestFreeSiteNumbers(taken: Iterable<number>, count: number): SiteNumber[] {
  const used = new Set(taken);
  const free: SiteNumber[] = [];
  for (let n = 0; n < SITE_COUNT && free.length < count; n++) if (!used.has(n)) free.push(n);
  if (free.length < count) {
    throw new RangeError(`only ${free.length} of ${SITE_COUNT} site numbers are free; cannot add ${count}`);
  }
  return free;
}

export interface AssignedSite {
  number: SiteNumber;
  accessServer: number;
}

/**
 * The access server for a new site: its block's server when the block already has sites, else the
 * server with the fewest sites (lowest index on a tie). Deterministic from the recorded sites.
 */
export function chooseAccessServer(
  sites: readonly AssignedSite[],
  servers: readonly number[],
  site: SiteNumber,
): number {
  if (servers.length === 0) throw new RangeError('no access server to assign the site to');
  const block = blockOf(site);
  const sameBlock = sites.find((s) => blockOf(s.number) === block && servers.includes(s.accessServer));
  if (sameBlock) return sameBlock.accessServer;
  const load = (k: number) => sites.filter((s) => s.accessServer === k).length;
  return [...servers].sort((a, b) => load(a) - load(b) || a - b)[0]!;
}

export interface SiteRoute {
  /** Destination inside 10.8.0.0/16. */
  cidr: string;
  accessServer: number;
}

/**
 * VPC routes for the site range: one per block in use, merged into the shortest prefixes that send every
 * used block to its access server. Unused blocks are left unrouted.
 */
export function vpcSiteRoutes(sites: readonly AssignedSite[]): SiteRoute[] {
  const blockServer = new Map<number, number>();
  for (const s of sites) blockServer.set(blockOf(s.number), s.accessServer);
  const routes: SiteRoute[] = [];
  // Blocks are /20s: 16 of them in the /16. Merge aligned power-of-two runs owned by one server,
  // allowing unused blocks inside a run when the whole run otherwise belongs to the same server.
  const visit = (first: number, size: number): void => {
    const owners = new Set<number>();
    for (let b = first; b < first + size; b++) {
      const owner = blockServer.get(b);
      if (owner !== undefined) owners.add(owner);
    }
    if (owners.size === 0) return;
    if (owners.size === 1) {
      const prefix = 20 - Math.log2(size);
      const third = (first * SITES_PER_BLOCK) & 0xff;
      routes.push({ cidr: `10.8.${third}.0/${prefix}`, accessServer: [...owners][0]! });
      return;
    }
    visit(first, size / 2);
    visit(first + size / 2, size / 2);
  };
  visit(0, 256 / SITES_PER_BLOCK);
  return routes;
}
